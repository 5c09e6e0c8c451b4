import { join } from 'node:path';
import { validateDataset } from '../train/dataset.js';
import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { denormalize, loadRegress, loadRegressEval, normalize } from './regress.js';
import { tempFiles, dataError } from './testkit.js';

const { file } = tempFiles('weft-regress-');

// 20 rows: a = r², b = 3r + 1 (distinct values, so any off-by-one shows), plus a date column.
const N = 20;
const a = Array.from({ length: N }, (_, r) => r * r);
const b = Array.from({ length: N }, (_, r) => 3 * r + 1);
const csv = 'date,a,b\n' + a.map((x, r) => `2024-01-${String(r + 1).padStart(2, '0')},${x},${b[r]}`).join('\n') + '\n';
const meanStd = (xs: number[]): [number, number] => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return [m, Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length)];
};

describe('loadRegress', () => {
  it('windows rows into sequences predicting `horizon` rows after the window, normalised on the training rows', () => {
    const f = file('r.csv', csv);
    const { train, valid, meta } = loadRegress(f, { window: 3, horizon: 2, inputColumns: ['a', 'b'], targetColumns: ['b'], validFraction: 0.25 });
    validateDataset(train);
    validateDataset(valid!);
    const [ma, sa] = meanStd(a.slice(0, 15));
    const [mb, sb] = meanStd(b.slice(0, 15));
    expect(meta.stats.a!.mean).toBeCloseTo(ma, 10);
    expect(meta.stats.a!.std).toBeCloseTo(sa, 10);
    expect(meta.stats.b!.std).toBeCloseTo(sb, 10);
    expect(train.targetKind).toBe('value-per-sequence');
    expect(train.count).toBe(15 - 3 - 2 + 1);
    expect(valid!.count).toBe(5 - 3 - 2 + 1);
    for (let i = 0; i < train.count; i++) {
      for (let t = 0; t < 3; t++) {
        expect(train.inputs[(i * 3 + t) * 2]).toBeCloseTo((a[i + t]! - ma) / sa, 5);
        expect(train.inputs[(i * 3 + t) * 2 + 1]).toBeCloseTo((b[i + t]! - mb) / sb, 5);
      }
      expect(train.targets[i]).toBeCloseTo((b[i + 2 + 2]! - mb) / sb, 5);
    }
    // The validation window starts at row 15 and predicts row 15 + 2 + 2, in training units.
    expect(valid!.targets[0]).toBeCloseTo((b[19]! - mb) / sb, 5);
    expect(denormalize(meta, valid!.targets)[0]).toBeCloseTo(b[19]!, 3);
    expect(Array.from(normalize(meta, denormalize(meta, [0.5, -1])))).toEqual([0.5, -1].map((x) => expect.closeTo(x, 5)));
  });
  it('per-step targets and strides', () => {
    const { train, meta } = loadRegress(file('r2.csv', csv), { window: 4, horizon: 1, stride: 3, inputColumns: ['a'], targetColumns: ['a', 'b'], perStep: true, validFraction: 0 });
    expect(train.targetKind).toBe('value-per-step');
    expect(train.count).toBe(Math.floor((20 - 5) / 3) + 1);
    const out = denormalize(meta, train.targets);
    for (let i = 0; i < train.count; i++) {
      for (let t = 0; t < 4; t++) {
        expect(out[(i * 4 + t) * 2]).toBeCloseTo(a[3 * i + t + 1]!, 2);
        expect(out[(i * 4 + t) * 2 + 1]).toBeCloseTo(b[3 * i + t + 1]!, 3);
      }
    }
  });
  it('a constant column gets std 1 and stays finite', () => {
    const { train, meta } = loadRegress(file('c.csv', 'x,y\n' + Array.from({ length: 6 }, (_, r) => `5,${r}`).join('\n')), { window: 2, validFraction: 0 });
    expect(meta.stats.x).toEqual({ mean: 5, std: 1 });
    expect(Array.from(train.inputs).every(Number.isFinite)).toBe(true);
  });
  it('names the line and column of a non-numeric cell, a missing column, a ragged row, too few rows', () => {
    const f = file('bad.csv', 'a,b\n1,2\n3,x\n');
    const e = dataError(() => loadRegress(f, { window: 1 }));
    expect(e.message).toBe(`${f}:3: column "b" must be a number, got "x"`);
    expect([e.line, e.field]).toEqual([3, 'b']);
    const g = file('g.csv', csv);
    expect(dataError(() => loadRegress(g, { window: 2, targetColumns: ['load'] })).message).toBe(`${g}:1: no column "load" (input or target columns); the header has: date, a, b`);
    expect(dataError(() => loadRegress(g, { window: 2 })).message).toMatch(/g\.csv:2: column "date" must be a number, got "2024-01-01"/);
    const h = file('h.csv', 'a,b\n1,2\n3\n');
    expect(dataError(() => loadRegress(h, { window: 1 })).message).toMatch(/h\.csv:3: row has 1 cells, expected 2/);
    expect(dataError(() => loadRegress(g, { window: 3, inputColumns: ['a'], validFraction: 0.1 })).message).toMatch(/validation part .* has 2 rows, fewer than window \+ horizon = 4/);
    expect(() => loadRegress(g, { window: 0 })).toThrow(/window \(--window\) must be a positive integer/);
  });
  it('evaluation normalises with the stored statistics', () => {
    const { meta } = loadRegress(file('r3.csv', csv), { window: 2, inputColumns: ['a'], targetColumns: ['b'], validFraction: 0.2 });
    const { dataset } = loadRegressEval(file('e.csv', 'b,a\n100,1\n200,2\n300,3\n'), meta);
    expect(dataset.count).toBe(1); // 3 rows - window 2 - horizon 1 + 1
    expect(denormalize(meta, dataset.targets)[0]).toBeCloseTo(300, 3);
    const [ma, sa] = meanStd(a.slice(0, 16));
    expect(dataset.inputs[1]).toBeCloseTo((2 - ma) / sa, 5);
  });
});
