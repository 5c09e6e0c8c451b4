/**
 * From a model's head to answers: the head's outputs for every row of a dataset (in batches,
 * without dropout), softmax probabilities of one row and its arg-max, or (multi-label) a
 * sigmoid probability per output. Shared by
 * `TrainedModel.predict` and the CLI's eval/predict/generate, so there is one definition of
 * what a prediction is.
 */
import { targetPerStep, type SequenceInputs } from '../data/dataset.js';
import { sequentialBatches } from '../data/batches.js';
import { gatherBatch, type SequenceModel } from '../model/model.js';
import { checkInferenceMemory } from './limits.js';
import { positiveInt } from '../options/validate.js';
import { rowExp } from '../kernels/loss.js';

/** The head's outputs for every sequence (logits for classification, values for regression), and their shape. */
export interface HeadOutputs {
  /** [count, outputSize] per sequence; [count, maxSteps, outputSize] per step (zero past each length). */
  outputs: Float32Array;
  shape: number[];
}

/** The shape of predictAll's outputs for `d`. */
export function predictionShape(model: Pick<SequenceModel, 'task' | 'outputSize'>, d: SequenceInputs): number[] {
  return targetPerStep(model.task) ? [d.count, d.maxSteps, model.outputSize] : [d.count, model.outputSize];
}

/**
 * Head outputs for every row of a dataset or of inputs alone (targets are not read):
 * [count, outputSize], or [count, maxSteps, outputSize] (zero past each length).
 */
export function predictAll(model: SequenceModel, d: SequenceInputs, batchSize = 64): Float32Array {
  positiveInt(batchSize, 'batchSize');
  // The longest sequence must fit in memory (MemoryLimitError names maxSteps or batchSize otherwise).
  checkInferenceMemory(model.spec, { steps: d.maxSteps, batch: Math.min(batchSize, d.count) });
  const O = model.outputSize;
  const perStep = targetPerStep(model.task);
  const S = d.maxSteps;
  const out = new Float32Array(d.count * (perStep ? S : 1) * O);
  for (const rows of sequentialBatches(d.count, batchSize)) {
    const b = gatherBatch(d, rows);
    const y = model.infer(b);
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

/** Index of the largest of a[off .. off + n) (the first one on ties). */
export function argmax(a: ArrayLike<number>, off: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (a[off + j]! > a[off + best]!) best = j;
  return best;
}

/** Softmax probabilities of one row of logits a[off .. off + n), at `temperature` (default 1). */
export function softmaxRow(a: ArrayLike<number>, off: number, n: number, temperature = 1): Float64Array {
  const p = new Float64Array(n);
  const { z } = rowExp(a, off, n, p, { arg: 0, max: 0, z: 0 }, temperature);
  for (let j = 0; j < n; j++) p[j]! /= z;
  return p;
}

/** Multi-label: the probability of each output of one row of logits a[off .. off + n), each its own sigmoid (σ(x) = 1 / (1 + e^-x)). */
export function sigmoidRow(a: ArrayLike<number>, off: number, n: number): Float64Array {
  const p = new Float64Array(n);
  for (let j = 0; j < n; j++) p[j] = 1 / (1 + Math.exp(-a[off + j]!));
  return p;
}
