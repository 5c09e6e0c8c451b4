import { validateDataset, type SequenceDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { packDataset } from './pack.js';
import { split, subset } from './split.js';

/** Row i holds tokens [i+1, ..] of length 1 + i % 3 and tag i % 4 at every step: each row identifies itself. */
function rows(n: number): SequenceDataset {
  const inputs = Array.from({ length: n }, (_, i) => Int32Array.from({ length: 1 + (i % 3) }, () => i + 1));
  const targets = inputs.map((x, i) => new Int32Array(x.length).fill(i % 4));
  return packDataset({ inputKind: 'tokens', inputSize: n + 1, targetKind: 'class-per-step', outputSize: 4, inputs, targets });
}
const rowId = (d: SequenceDataset, j: number): number => d.inputs[j * d.maxSteps]! - 1;

describe('packDataset', () => {
  it('pads inputs with 0 and per-step class targets with -1', () => {
    const d = rows(3);
    validateDataset(d);
    expect(d.maxSteps).toBe(3);
    expect(Array.from(d.lengths)).toEqual([1, 2, 3]);
    expect(Array.from(d.inputs)).toEqual([1, 0, 0, 2, 2, 0, 3, 3, 3]);
    expect(Array.from(d.targets)).toEqual([0, -1, -1, 1, 1, -1, 2, 2, 2]);
  });
});

describe('subset', () => {
  it('copies the chosen rows in order, with repeats', () => {
    const d = rows(6);
    const s = subset(d, [4, 1, 4]);
    validateDataset(s);
    expect([0, 1, 2].map((j) => rowId(s, j))).toEqual([4, 1, 4]);
    expect(Array.from(s.lengths)).toEqual([d.lengths[4], d.lengths[1], d.lengths[4]]);
    expect(Array.from(s.targets.subarray(3, 6))).toEqual(Array.from(d.targets.subarray(1 * 3, 2 * 3)));
    s.inputs[0] = 99;
    expect(d.inputs[4 * 3]).toBe(5); // a copy, not a view
  });
  it('refuses rows outside the dataset', () => {
    expect(() => subset(rows(2), [2])).toThrow(/indices\[0\] = 2/);
  });
});

describe('split', () => {
  it('partitions the rows, keeps their order, and is reproducible from the seed', () => {
    const d = rows(50);
    const a = split(d, 0.2, 7);
    expect(a.valid.count).toBe(10);
    expect(a.train.count).toBe(40);
    const all = [...a.trainRows, ...a.validRows].sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(Array.from(a.validRows)).toEqual([...a.validRows].sort((x, y) => x - y));
    expect(Array.from({ length: 10 }, (_, j) => rowId(a.valid, j))).toEqual(Array.from(a.validRows));
    expect(Array.from(split(d, 0.2, 7).validRows)).toEqual(Array.from(a.validRows));
    expect(Array.from(split(d, 0.2, 8).validRows)).not.toEqual(Array.from(a.validRows));
  });
  it('keeps groups together and counts the fraction in groups', () => {
    const d = rows(40);
    const groups = Int32Array.from({ length: 40 }, (_, i) => Math.floor(i / 4)); // 10 groups of 4
    for (let seed = 0; seed < 5; seed++) {
      const s = split(d, 0.3, seed, groups);
      expect(s.valid.count).toBe(12);
      const validGroups = new Set(Array.from(s.validRows, (i) => groups[i]));
      for (const i of s.trainRows) expect(validGroups.has(groups[i]!)).toBe(false);
    }
  });
  it('leaves at least one row on each side and checks its arguments', () => {
    expect(split(rows(3), 0.01, 0).valid.count).toBe(1);
    expect(split(rows(3), 0.99, 0).train.count).toBe(1);
    expect(() => split(rows(3), 1, 0)).toThrow(/fraction must be a number in \(0, 1\)/);
    expect(() => split(rows(1), 0.5, 0)).toThrow(/at least 2 rows/);
  });
});
