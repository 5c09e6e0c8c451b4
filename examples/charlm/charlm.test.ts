// A shortened run of examples/charlm/run.mjs (a 1-layer LSTM of 128 units, 4 epochs instead of a
// 2-layer one of 256 units, 40 epochs): the README gives the full run. It asserts that the model
// learns more than character frequencies (held-out bits/char below the unigram baseline scored on
// the same characters), never an exact number.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it, expect } from 'vitest';
import { loadLm, lmWindows, Vocab } from '@weft/core';
import { mergeFlags, ngramBaselines, runCharLm, splitText } from './run.mjs';

const LM_TXT = fileURLToPath(new URL('../data/lm.txt', import.meta.url));
const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'weft-charlm-'));
  dirs.push(d);
  return d;
};
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('charlm example helpers', () => {
  it('splitText cuts where the lm loader cuts: its training part gives the loader\'s training windows', () => {
    for (const validFraction of [0.1, 0.25]) {
      const lm = loadLm(LM_TXT, { seqLen: 32, streams: 8, validFraction });
      const text = splitText(LM_TXT, validFraction);
      const vocab = Vocab.fromJSON(lm.meta.vocab);
      const own = lmWindows(vocab.encode(text.train), 32, 8, vocab.size, LM_TXT, 'train').dataset;
      expect(own.count).toBe(lm.train.count);
      expect([...own.targets]).toEqual([...lm.train.targets]);
      expect(text.train + text.valid).toBe(readFileSync(LM_TXT, 'utf8').replace(/^\uFEFF/, '').replace(/\r\n/g, '\n'));
      expect(Array.from(text.train + text.valid).length).toBe(text.length);
    }
  });

  it('n-gram baselines: exact values on a periodic text', () => {
    // "abcd" × 100: every symbol 100 times, so the add-one unigram gives 1/4 to each (2 bits),
    // and each symbol is always followed by the next, so the bigram is almost certain.
    const vocab = Vocab.build('char', ['abcd']);
    const ids = vocab.encode('abcd'.repeat(100));
    const d = lmWindows(vocab.encode('abcd'.repeat(5)), 4, 2, vocab.size, 'test', 'test').dataset;
    const b = ngramBaselines(ids, d, vocab.size);
    expect(b.count).toBe(d.count * 4);
    expect(b.uniform.bitsPerChar).toBeCloseTo(2, 12);
    expect(b.unigram.bitsPerChar).toBeCloseTo(2, 12);
    expect(b.bigram.accuracy).toBe(1);
    // a→b, b→c, c→d were seen 100 times after 100 contexts; d→a 99 times after 99.
    let expected = 0;
    for (let r = 0; r < d.count; r++) for (let t = 0; t < 4; t++) expected -= Math.log2(d.inputs[r * 4 + t] === vocab.id('d') ? 100 / 103 : 101 / 104);
    expect(b.bigram.bitsPerChar).toBeCloseTo(expected / b.count, 12);
  });

  it('mergeFlags replaces a default flag rather than repeating it', () => {
    expect(mergeFlags(['--hidden', '256', '--layers', '2'], ['--hidden', '64', '--epochs', '1'])).toEqual(['--layers', '2', '--hidden', '64', '--epochs', '1']);
    expect(mergeFlags(['--hidden', '256'], ['--hidden=64'])).toEqual(['--hidden=64']);
  });
});

describe('charlm example, shortened (1 layer of 128, 4 epochs)', () => {
  it('the LSTM beats the unigram baseline on the held-out characters', () => {
    const s = runCharLm({
      out: tmp(), length: 60,
      trainArgs: ['--layers', '1', '--hidden', '128', '--lr', '0.01', '--schedule', 'constant', '--epochs', '4', '--dropout', '0'],
    });
    expect(s.train.steps).toBeGreaterThan(50);
    // `weft eval` on valid.txt scores exactly what `weft train` validated on.
    expect(Math.abs(s.model.evalLoss - s.model.trainValidLoss)).toBeLessThan(1e-3);
    expect(s.data.scored).toBeGreaterThan(1000);
    const b = s.baselines;
    expect(b.unigram.bitsPerChar).toBeLessThan(b.uniform.bitsPerChar);
    expect(b.bigram.bitsPerChar).toBeLessThan(b.unigram.bitsPerChar);
    expect(s.model.bitsPerChar).toBeLessThan(b.unigram.bitsPerChar);
    expect(s.samples.map((x: { temperature: number }) => x.temperature)).toEqual([0.5, 1]);
    for (const x of s.samples) expect(Array.from(x.text as string).length).toBe('The '.length + 60);
  });

  it('refuses a flag that would move the split away from the baselines', () => {
    const f = path.join(tmp(), 'x.txt');
    writeFileSync(f, 'some text\n');
    expect(() => runCharLm({ data: f, out: tmp(), trainArgs: ['--seq-len', '8'] })).toThrow(/--seq-len/);
  });
});
