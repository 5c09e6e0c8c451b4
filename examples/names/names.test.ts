// A shortened run of examples/names/run.mjs (100 training steps instead of 12 epochs): the README
// gives the full run. It asserts that the BiLSTM learns (clearly above chance, loss below ln 2),
// that the naive-Bayes baseline on the same split is sane, and that the script rebuilt the CLI's
// split exactly (its `weft eval` loss equals the validation loss `weft train` reported), never an
// exact accuracy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, it, expect } from 'vitest';
import { loadNames, Vocab } from '@weft/core';
import { affixFeatures, decodeRows, fitNaiveBayes, pairedComparison, runNames } from './run.mjs';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('names example helpers', () => {
  it('decodeRows gives back texts that encode to the dataset rows', () => {
    const d = loadNames({ validFraction: 0.1, seed: 0 });
    const input = d.meta.input;
    if (input.kind !== 'chars') throw new Error('the names data is made of characters');
    const vocab = Vocab.fromJSON(input.vocab);
    const names = decodeRows(d.valid!, vocab);
    expect(names.length).toBe(d.valid!.count);
    for (let i = 0; i < names.length; i++) {
      const row = d.valid!.inputs.subarray(i * d.valid!.maxSteps, i * d.valid!.maxSteps + d.valid!.lengths[i]!);
      expect([...vocab.encode(names[i]!)]).toEqual([...row]);
      expect(names[i]).toBe(names[i]!.toLowerCase());
    }
  });

  it('affix features are the edges of the name', () => {
    expect(affixFeatures('anna')).toEqual(['a$', 'na$', 'nna$', '^a', '^an']);
    expect(affixFeatures('al')).toEqual(['l$', 'al$', '^al$', '^a', '^al']);
  });

  it('naive Bayes learns a suffix rule from a toy set', () => {
    const rows = ['anna', 'maria', 'clara', 'eva', 'bruno', 'marco', 'otto', 'pablo'].map((name, i) => ({ name, label: i < 4 ? 0 : 1 }));
    const nb = fitNaiveBayes(rows, 2);
    expect(nb.predict('paola')).toBe(0);
    expect(nb.predict('paolo')).toBe(1);
  });

  it('the McNemar p-value is the two-sided binomial tail of the disagreements', () => {
    const rows = Array.from({ length: 9 }, (_, i) => ({ label: i }));
    // A right on 0..1 only, B right on 2..6 only, both wrong on 7..8: 2 vs 5 disagreements.
    const p = pairedComparison(rows, (r: { label: number }) => (r.label < 2 ? r.label : -1), (r: { label: number }) => (r.label >= 2 && r.label < 7 ? r.label : -1));
    expect(p.onlyA).toBe(2);
    expect(p.onlyB).toBe(5);
    // P(X <= 2) for X ~ Bin(7, 1/2) = (1 + 7 + 21) / 128, doubled.
    expect(p.pValue).toBeCloseTo((2 * 29) / 128, 12);
    expect(pairedComparison(rows, (r: { label: number }) => r.label, (r: { label: number }) => r.label).pValue).toBe(1);
  });
});

describe('names example, shortened (100 steps)', () => {
  it('the BiLSTM beats chance and the naive-Bayes baseline is sane', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'weft-names-'));
    dirs.push(out);
    const s = runNames({ out, trainArgs: ['--steps', '100'], errors: 5 });
    expect(s.model.steps).toBe(100);
    // The split was rebuilt exactly: same rows, same loss as `weft train` computed on its own split.
    expect(Math.abs(s.model.evalLoss - s.model.trainValidLoss)).toBeLessThan(1e-3);
    expect(s.model.accuracyPredict).toBeCloseTo(s.model.accuracy, 6);
    expect(s.model.accuracy).toBeGreaterThan(0.6);
    expect(s.model.evalLoss).toBeLessThan(Math.log(2));
    expect(s.baseline.accuracy).toBeGreaterThan(0.6);
    expect(s.model.accuracy).toBeLessThanOrEqual(s.ceiling);
    const m = s.model.confusion.matrix;
    expect(m.flat().reduce((a: number, b: number) => a + b, 0)).toBe(s.split.valid);
    const wrong = s.split.valid - m[0][0] - m[1][1];
    expect(s.errors.unambiguous + s.errors.ambiguous).toBe(wrong);
    // Each ambiguous name has two rows with opposite labels: exactly one of them is wrong.
    expect(s.errors.ambiguous).toBe(s.split.validAmbiguousNames);
  });
});
