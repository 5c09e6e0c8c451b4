// A shortened run of examples/timeseries/run.mjs (the last 1000 training days, a few epochs):
// the README gives the full run. It asserts that the forecaster LEARNS (test MSE far below the
// naive last-value forecast), never an exact number; the baselines are checked against a direct
// computation on the raw series.
import { describe, it, expect } from 'vitest';
import { forecastWindows, laggedBaseline, loadBirths, normaliser, runForecast, splitRanges, stepWindows } from './run.mjs';

describe('US births series and its windows', () => {
  const { values, dates } = loadBirths();
  const parts = splitRanges(values.length);

  it('is the daily series 1969-01-01 .. 1988-12-31, split in order', () => {
    expect(values.length).toBe(7305); // 20 years, 5 of them leap years
    expect(dates[0]).toBe('1969-01-01');
    expect(dates[values.length - 1]).toBe('1988-12-31');
    expect(parts.train[0]).toBe(0);
    expect(parts.train[1]).toBe(parts.valid[0]);
    expect(parts.valid[1]).toBe(parts.test[0]);
    expect(parts.test[1]).toBe(values.length);
  });

  it('windows hold the series shifted by one step; the naive baselines match the raw series', () => {
    const { mean, std } = normaliser(values, parts.train);
    const z = Float64Array.from(values, (v) => (v - mean) / std);
    const W = 14;
    const tr = stepWindows(z, parts.train, W, 5);
    for (const i of [0, 7, tr.count - 1]) {
      for (let t = 0; t < W - 1; t++) expect(tr.targets[i * W + t]).toBe(tr.inputs[i * W + t + 1]);
    }
    const test = forecastWindows(z, parts.test, W);
    expect(test.count).toBe(parts.test[1] - parts.test[0]);
    // Direct: mean over test days of (births[d] - births[d - lag])², in normalised units.
    for (const lag of [1, 7]) {
      let s = 0;
      for (let d = parts.test[0]; d < parts.test[1]; d++) s += ((values[d]! - values[d - lag]!) / std) ** 2;
      expect(laggedBaseline(test, lag)).toBeCloseTo(s / test.count, 4);
    }
  });
});

describe('forecasting, shortened', () => {
  it('a tanh RNN learns to forecast: test MSE below half the naive last-value forecast', () => {
    const r = runForecast({ cell: 'rnn', hidden: 32, window: 28, epochs: 4, trainDays: 1500, seed: 1 });
    expect(r.naiveMse).toBeGreaterThan(0.5);
    expect(r.testMse).toBeLessThan(0.5 * r.naiveMse);
  });
});
