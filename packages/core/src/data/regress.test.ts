import { join } from 'node:path';
import { validateDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import type { SequenceDataset } from './dataset.js';
import { denormalize, forecastProblem, forecastRegress, loadRegress, loadRegressEval, nextDates, normalize, readRegressSeries, regressErrors } from './regress.js';
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
  it('numbers past ±1e15: refused where they are read, naming line and column (not a NaN loss later)', () => {
    const f = file('huge.csv', 'a,b\n1,2\n3,1e308\n5,6\n');
    expect(dataError(() => loadRegress(f, { window: 1 })).message).toBe(`${f}:3: column "b" must be a finite number within ±1e15 ` +
      '(training computes in float32, where squares of larger numbers overflow: scale such a column down), got 1e308');
  });
  it('evaluation: a value that normalises past ±1e15 with the training statistics is refused, naming line and column', () => {
    const { meta } = loadRegress(file('flat.csv', 'a\n1\n1.000000000003\n1\n1.000000000003\n'), { window: 1, validFraction: 0 });
    const g = file('far.csv', 'a\n1\n900000000000000\n');
    expect(dataError(() => loadRegressEval(g, meta)).message).toMatch(
      new RegExp(`^${g.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: column "a" is 900000000000000, which normalises to [\\d.e+]+ with the training data's mean 1\\.00000 and standard deviation 1\\.50e-12: past ±1e15`),
    );
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

describe('regress prediction: rows, dates, errors, forecasts', () => {
  const f = file('p.csv', csv);
  const { meta } = loadRegress(f, { window: 3, horizon: 2, inputColumns: ['b'], targetColumns: ['b'], validFraction: 0.25 });
  it('labels each window with the row it predicts, and reads the date column', () => {
    const e = loadRegressEval(f, meta);
    expect(e.series.dates?.column).toBe('date');
    expect(e.series.lines[0]).toBe(2); // line 1 is the header
    expect(Array.from(e.targetRows)).toEqual(Array.from({ length: N - 4 }, (_, i) => i + 4)); // window 3 + horizon 2 - 1
    // The target of each window is the file's value at its row.
    const t = denormalize(meta, e.dataset.targets);
    e.targetRows.forEach((r, i) => expect(t[i]).toBeCloseTo(b[r]!, 3));
    const perStep = loadRegress(f, { window: 3, horizon: 1, stride: 2, inputColumns: ['a'], perStep: true, validFraction: 0 }).meta;
    expect(Array.from(loadRegressEval(f, perStep, { stride: 2 }).targetRows.subarray(0, 6))).toEqual([1, 2, 3, 3, 4, 5]);
    // A column named like a date, but read by the model, is not the date column; no such column, no dates.
    const dd = file('dd.csv', 'day,b,note\n1,1,x\n2,2,y\n3,3,z\n4,4,w\n');
    const dayMeta = loadRegress(dd, { window: 1, inputColumns: ['day', 'b'], validFraction: 0 }).meta;
    expect(readRegressSeries(dd, dayMeta).dates).toBeUndefined();
    expect(readRegressSeries(dd, meta).dates).toEqual({ column: 'day', values: ['1', '2', '3', '4'] });
  });
  it('MAE and RMSE in the data\'s units against the file\'s values', () => {
    const e = loadRegressEval(f, meta);
    const outputs = normalize(meta, Array.from(e.targetRows, (r) => b[r]! + (r % 2 ? 3 : -1))); // errors 3 and -1 in the data's units
    const [err] = regressErrors(meta, e, outputs);
    const errs = Array.from(e.targetRows, (r) => (r % 2 ? 3 : 1));
    expect(err!.column).toBe('b');
    expect(err!.count).toBe(e.targetRows.length);
    expect(err!.mae).toBeCloseTo(errs.reduce((s, x) => s + x, 0) / errs.length, 4);
    expect(err!.rmse).toBeCloseTo(Math.sqrt(errs.reduce((s, x) => s + x * x, 0) / errs.length), 4);
  });
  it('forecasts row by row from windows whose rows past the end are earlier forecasts', () => {
    // A "model" that predicts the mean of its window's inputs (normalised), so every forecast
    // depends on the ones before it in a way the test can redo by hand.
    const seen: number[][] = [];
    const model = (d: SequenceDataset): Float32Array => {
      const x = Array.from(d.inputs);
      seen.push(Array.from(denormalize(meta, x)));
      return Float32Array.of(x.reduce((s, v) => s + v, 0) / x.length);
    };
    const series = readRegressSeries(f, meta);
    const fc = forecastRegress(meta, series, 4, model);
    expect(fc.rows).toEqual([20, 21, 22, 23]);
    const ext = [...b];
    for (let k = 0; k < 4; k++) {
      const r = N + k;
      const win = ext.slice(r - 2 - 2, r - 2 + 1); // the 3 rows ending horizon 2 before row r
      expect(seen[k]!.map((v) => Math.round(v * 1e3) / 1e3)).toEqual(win.map((v) => Math.round(v * 1e3) / 1e3));
      ext.push(fc.values[k]!);
      expect(fc.values[k]).toBeCloseTo(win.reduce((s, v) => s + v, 0) / 3, 3);
    }
    // The first `horizon` forecasts read only the file's rows; the third reads the first forecast.
    expect(seen[2]![2]).toBeCloseTo(fc.values[0]!, 4);
    expect(fc.dates).toEqual(['2024-01-21', '2024-01-22', '2024-01-23', '2024-01-24']);
  });
  it('refuses to forecast what it cannot: inputs that are not targets, horizon 0, too few rows, a bad count', () => {
    const mixed = loadRegress(f, { window: 3, inputColumns: ['a', 'b'], targetColumns: ['b'], validFraction: 0 }).meta;
    expect(forecastProblem(mixed)).toMatch(/^the model reads "a", which it does not predict \(its targets: b\)/);
    expect(() => forecastRegress(mixed, readRegressSeries(f, mixed), 1, () => [0])).toThrow(/reads "a", which it does not predict/);
    const now = loadRegress(f, { window: 3, horizon: 0, inputColumns: ['b'], validFraction: 0 }).meta;
    expect(forecastProblem(now)).toMatch(/horizon 0/);
    expect(forecastProblem(meta)).toBeUndefined();
    const short = readRegressSeries(file('s.csv', 'b\n1\n2\n3\n'), meta);
    expect(dataError(() => forecastRegress(meta, short, 1, () => [0])).message).toMatch(/has 3 rows; forecasting needs at least window \+ horizon - 1 = 4/);
    expect(() => forecastRegress(meta, readRegressSeries(f, meta), 0, () => [0])).toThrow(/positive integer/);
  });
  it('continues dates by the step between the last two', () => {
    expect(nextDates(['2024-01-30', '2024-01-31'], 2)).toEqual(['2024-02-01', '2024-02-02']);
    expect(nextDates(['2024-01-01', '2024-01-08'], 1)).toEqual(['2024-01-15']);
    expect(nextDates(['2023-11-15', '2023-12-15'], 2)).toEqual(['2024-01-15', '2024-02-15']);
    expect(nextDates(['2023-11', '2023-12'], 1)).toEqual(['2024-01']);
    expect(nextDates(['1999', '2000'], 2)).toEqual(['2001', '2002']);
    expect(nextDates(['Mon', 'Tue'], 1)).toEqual([undefined]);
    expect(nextDates(['2024-01-02', '2024-01-01'], 1)).toEqual([undefined]);
  });
});
