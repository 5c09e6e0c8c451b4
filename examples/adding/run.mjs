#!/usr/bin/env node
// The adding problem (Hochreiter & Schmidhuber 1997, experiment 4; Le, Jaitly & Hinton 2015):
// each step carries a value drawn from U[0, 1) and a marker; exactly two steps are marked, one
// in the first half and one in the second, and the target is the sum of the two marked values.
// The answer depends on a value seen up to T steps before the end, so the task measures how far
// back a recurrent network can carry information (and gradients). Predicting the mean scores
// MSE = Var(U + U) = 2/12 ≈ 0.167; a model that solved the task scores near 0.
//
//   node examples/adding/run.mjs --T 100 --cell lstm --steps 2000 --seed 1
//
// Uses only the library: @weft/core's LocalTrainer (and its SequenceModel) and evaluateModel, on
// SequenceDataset objects built here. Prints one JSON line with the results.
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  LocalTrainer, Rng, evaluateModel, useWasmKernels, activeKernels,
} from '@weft/core';

/**
 * `count` adding-problem sequences of length T drawn from `rng`: a dense SequenceDataset with
 * inputs [count, T, 2] (value, marker) and one target value per sequence [count, 1].
 */
export function addingDataset(count, T, rng) {
  if (!(Number.isInteger(T) && T >= 2)) throw new RangeError(`T must be an integer >= 2, got ${T}`);
  const inputs = new Float32Array(count * T * 2); // [count, T, 2]
  const targets = new Float32Array(count);        // [count, 1]
  const lengths = new Int32Array(count).fill(T);  // [count]
  const half = Math.floor(T / 2);
  for (let i = 0; i < count; i++) {
    const o = i * T * 2;
    for (let t = 0; t < T; t++) inputs[o + 2 * t] = rng.uniform();
    const a = rng.int(half);             // a position in the first half
    const b = half + rng.int(T - half);  // and one in the second
    inputs[o + 2 * a + 1] = 1;
    inputs[o + 2 * b + 1] = 1;
    // The sum of the float32 values the model actually sees.
    targets[i] = inputs[o + 2 * a] + inputs[o + 2 * b];
  }
  return {
    inputKind: 'dense', inputSize: 2, targetKind: 'value-per-sequence', outputSize: 1,
    count, maxSteps: T, lengths, inputs, targets,
  };
}

/** MSE of always predicting the dataset's own mean target: its variance (≈ 1/6 here). */
export function meanBaseline(d) {
  let mean = 0;
  for (let i = 0; i < d.count; i++) mean += d.targets[i];
  mean /= d.count;
  let v = 0;
  for (let i = 0; i < d.count; i++) v += (d.targets[i] - mean) ** 2;
  return v / d.count;
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
  T: 100, cell: 'lstm', steps: 2000, seed: 1, hidden: 64, batch: 64, lr: 1e-2, clipNorm: 1,
  testCount: 1000, evalEvery: 100, wasm: true,
};

/**
 * Trains a one-layer `cell` network on fresh batches of the adding problem (a new batch each
 * step, so there is nothing to overfit) and returns test MSE against the mean baseline.
 * `onEval({ step, testMse, seconds })` sees every evaluation.
 */
export function runAdding(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const t0 = performance.now();
  const trainer = createTrainer({
    model: {
      cell: o.cell, hiddenSize: o.hidden, input: { kind: 'dense', size: 2 },
      task: 'value-per-sequence', outputSize: 1, pooling: 'last', seed: o.seed,
    },
    optimizer: { name: 'adam', lr: o.lr },
    // One thread: one shard per batch keeps the per-step products as large as they can be.
    batchSize: o.batch, shardSize: o.batch, clipNorm: o.clipNorm, seed: o.seed,
  }, { wasm: o.wasm });
  // Test and training data come from independent streams of the same seed.
  const test = addingDataset(o.testCount, o.T, Rng.keyed(o.seed, 1));
  const baseline = meanBaseline(test);
  const trainRng = Rng.keyed(o.seed, 2);
  const rows = Int32Array.from({ length: o.batch }, (_, i) => i);
  const curve = [];
  let best = Infinity;
  let trainLoss = NaN;
  for (let s = 1; s <= o.steps; s++) {
    const batch = addingDataset(o.batch, o.T, trainRng);
    trainLoss = trainer.trainStep(batch, rows).loss;
    if (s % o.evalEvery === 0 || s === o.steps) {
      const testMse = evaluateModel(trainer.model, test, 250).loss;
      best = Math.min(best, testMse);
      const seconds = (performance.now() - t0) / 1000;
      curve.push([s, round(testMse)]);
      o.onEval?.({ step: s, testMse, trainLoss, seconds });
    }
  }
  const testMse = evaluateModel(trainer.model, test, 250).loss;
  return {
    example: 'adding', T: o.T, cell: o.cell, hidden: o.hidden, batch: o.batch, lr: o.lr, steps: o.steps,
    seed: o.seed, testMse: round(testMse), bestTestMse: round(Math.min(best, testMse)), baseline: round(baseline),
    ratio: round(testMse / baseline), kernels: activeKernels(),
    seconds: Math.round((performance.now() - t0) / 100) / 10, curve,
  };
}

function round(x) {
  return Number(x.toPrecision(4));
}

function main() {
  const { values } = parseArgs({
    options: {
      T: { type: 'string' }, cell: { type: 'string' }, steps: { type: 'string' }, seed: { type: 'string' },
      hidden: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' },
      'eval-every': { type: 'string' }, 'test-count': { type: 'string' },
      'no-wasm': { type: 'boolean' }, quiet: { type: 'boolean' },
    },
  });
  const num = (k, d) => (values[k] === undefined ? d : Number(values[k]));
  const res = runAdding({
    T: num('T', DEFAULTS.T), cell: values.cell ?? DEFAULTS.cell, steps: num('steps', DEFAULTS.steps),
    seed: num('seed', DEFAULTS.seed), hidden: num('hidden', DEFAULTS.hidden), batch: num('batch', DEFAULTS.batch),
    lr: num('lr', DEFAULTS.lr), evalEvery: num('eval-every', DEFAULTS.evalEvery),
    testCount: num('test-count', DEFAULTS.testCount), wasm: !values['no-wasm'],
    // Progress on stderr, so stdout stays one JSON line.
    onEval: values.quiet ? undefined : (e) => process.stderr.write(
      `step ${e.step}  train ${e.trainLoss.toFixed(4)}  test ${e.testMse.toFixed(4)}  ${e.seconds.toFixed(1)} s\n`),
  });
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
