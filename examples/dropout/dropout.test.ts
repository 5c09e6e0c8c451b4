// A shortened run of examples/dropout/run.mjs (a smaller model, two of the four variants, 40
// epochs): the README gives the full run. It asserts that both variants LEARN (validation loss
// well below the unigram baseline) and that dropout regularises (a smaller gap between training
// and validation loss than without it), never an exact number.
import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { TEXT_FILE, encode, lmWindows, runDropout, unigramLoss, vocabulary } from './run.mjs';

describe('character LM data', () => {
  it('windows are the text shifted by one character', () => {
    const text = readFileSync(TEXT_FILE, 'utf8');
    const vocab = vocabulary(text);
    const ids = encode(text, vocab);
    expect(vocab.join('')).toBe([...new Set(text)].sort().join(''));
    const S = 10;
    const d = lmWindows(ids, [100, 300], S, 7, vocab.length);
    for (let i = 0; i < d.count; i++) {
      const s = 100 + 7 * i;
      for (let t = 0; t < S; t++) {
        expect(vocab[d.inputs[i * S + t]!]).toBe(text[s + t]);
        expect(vocab[d.targets[i * S + t]!]).toBe(text[s + t + 1]);
      }
    }
  });

  it('the unigram baseline lies between 0 and the uniform ln V', () => {
    const text = readFileSync(TEXT_FILE, 'utf8');
    const vocab = vocabulary(text);
    const ids = encode(text, vocab);
    const u = unigramLoss(ids, [0, 3000], [3000, ids.length], vocab.length);
    expect(u).toBeGreaterThan(1);
    expect(u).toBeLessThan(Math.log(vocab.length));
  });
});

describe('dropout, shortened', () => {
  it('both variants learn; inter-layer + recurrent dropout narrows the train/valid gap', () => {
    const r = runDropout({ hidden: 64, seqLen: 32, stride: 16, epochs: 40, p: 0.5, only: ['none', 'both'], seed: 1 });
    const { none, both } = r.results as Record<string, { bestValid: number; finalValid: number; finalTrain: number }>;
    for (const v of [none!, both!]) expect(v.bestValid).toBeLessThan(0.8 * r.unigramValid);
    // Dropout keeps the model from fitting the training text as tightly...
    expect(both!.finalTrain).toBeGreaterThan(none!.finalTrain);
    // ...and so validation loss stays closer to training loss.
    expect(both!.finalValid - both!.finalTrain).toBeLessThan(none!.finalValid - none!.finalTrain);
  });
});
