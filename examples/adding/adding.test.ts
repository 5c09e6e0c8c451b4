// A shortened run of examples/adding/run.mjs (T = 20 instead of 100, a few hundred steps): the
// README gives the full run. It asserts that the LSTM LEARNS (test MSE far below the mean
// baseline), never an exact number.
import { describe, it, expect } from 'vitest';
import { Rng } from '@weft/core';
import { addingDataset, meanBaseline, runAdding } from './run.mjs';

describe('adding problem data', () => {
  it('marks exactly two steps, one in each half, and the target is their sum', () => {
    const T = 11;
    const d = addingDataset(200, T, new Rng(3));
    const half = Math.floor(T / 2);
    for (let i = 0; i < d.count; i++) {
      const marked: number[] = [];
      let sum = 0;
      for (let t = 0; t < T; t++) {
        const v = d.inputs[(i * T + t) * 2]!;
        expect(v >= 0 && v < 1).toBe(true);
        if (d.inputs[(i * T + t) * 2 + 1] === 1) { marked.push(t); sum += v; }
      }
      expect(marked.length).toBe(2);
      expect(marked[0]!).toBeLessThan(half);
      expect(marked[1]!).toBeGreaterThanOrEqual(half);
      expect(d.targets[i]).toBeCloseTo(sum, 6);
    }
  });

  it('the mean baseline is the variance of a sum of two U[0,1): 1/6', () => {
    // Standard error of a variance estimate from 4000 samples is about 0.003.
    expect(Math.abs(meanBaseline(addingDataset(4000, 20, new Rng(5))) - 1 / 6)).toBeLessThan(0.015);
  });
});

describe('adding problem, shortened (T = 20)', () => {
  it('an LSTM learns it: test MSE below half the mean baseline', () => {
    const r = runAdding({ T: 20, cell: 'lstm', hidden: 32, steps: 700, lr: 1e-2, batch: 64, testCount: 500, evalEvery: 700, seed: 1 });
    expect(r.baseline).toBeGreaterThan(0.1);
    expect(r.testMse).toBeLessThan(0.5 * r.baseline);
  });
});
