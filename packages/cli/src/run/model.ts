/**
 * A trained model in this process, for the commands that only read a checkpoint (eval,
 * predict, generate, inspect, export): no pool, no optimizer.
 */
import { SequenceModel, gatherBatch, sequentialBatches, useWasmKernels, type SequenceDataset } from '@weft/core';
import { loadRun, type RunCheckpoint } from './checkpoint.js';

export interface LoadedModel {
  run: RunCheckpoint;
  model: SequenceModel;
}

export function loadModel(p: string | undefined, kernels: 'auto' | 'wasm' | 'reference' = 'auto'): LoadedModel {
  if (kernels !== 'reference') {
    const ok = useWasmKernels();
    if (!ok && kernels === 'wasm') throw new Error('--kernels wasm: WebAssembly SIMD is not available in this Node.js');
  }
  const run = loadRun(p);
  const model = new SequenceModel(run.config.train.model);
  model.paramBuffer.set(run.params);
  return { run, model };
}

/** Head outputs for every row of a dataset: [count, outputSize] or [count, maxSteps, outputSize]. */
export function predictAll(model: SequenceModel, d: SequenceDataset, batchSize = 64): Float32Array {
  const O = model.outputSize;
  const perStep = model.task.endsWith('per-step');
  const S = d.maxSteps;
  const out = new Float32Array(d.count * (perStep ? S : 1) * O);
  for (const rows of sequentialBatches(d.count, batchSize)) {
    const b = gatherBatch(d, rows);
    model.evaluate(b);
    const y = model.lastOutput;
    for (let i = 0; i < b.batch; i++) {
      const r = rows[i]!;
      if (perStep) {
        for (let t = 0; t < b.lengths[i]!; t++) out.set(y.subarray((i * b.steps + t) * O, (i * b.steps + t + 1) * O), (r * S + t) * O);
      } else {
        out.set(y.subarray(i * O, (i + 1) * O), r * O);
      }
    }
  }
  return out;
}

export function argmax(a: Float32Array, off: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[off + j]! > a[off + best]!) best = j;
  return best;
}

/** Softmax probabilities of one row. */
export function softmaxRow(a: Float32Array, off: number, n: number, temperature = 1): Float64Array {
  const p = new Float64Array(n);
  let max = -Infinity;
  for (let j = 0; j < n; j++) max = Math.max(max, a[off + j]! / temperature);
  let z = 0;
  for (let j = 0; j < n; j++) z += p[j] = Math.exp(a[off + j]! / temperature - max);
  for (let j = 0; j < n; j++) p[j]! /= z;
  return p;
}
