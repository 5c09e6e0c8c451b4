/**
 * From a model's head to answers: the head's outputs for every row of a dataset (in batches,
 * without dropout), softmax probabilities of one row and its arg-max, or (multi-label) a
 * sigmoid probability per output and the labels a threshold gives. Shared by
 * `TrainedModel.predict` and the CLI's eval/predict/generate, so there is one definition of
 * what a prediction is; where a batch's outputs go in the dataset's (placeOutputs) is shared
 * with the evaluations that return outputs and the pool's workers, so they give predict's bits.
 */
import { targetPerStep, type SequenceInputs } from '../data/dataset.js';
import { sequentialBatches } from '../data/batches.js';
import { gatherBatch, type Batch, type SequenceModel } from '../model/model.js';
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
  const shape = predictionShape(model, d);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (const rows of sequentialBatches(d.count, batchSize)) {
    const b = gatherBatch(d, rows);
    placeOutputs(out, shape, model.infer(b), b, rows);
  }
  return out;
}

/**
 * Writes one batch's outputs `y` (batch-first, as SequenceModel.infer gives them: [B*T, O] per
 * step, [B, O] per sequence) into `out`, of predictionShape `shape`, at the batch's dataset rows
 * `rows`; per step only each row's own steps (the rest stays as it was: zero). predictAll's, the
 * evaluations' that return outputs, and the pool workers' placement, so all give the same bits.
 */
export function placeOutputs(out: Float32Array, shape: readonly number[], y: Float32Array, b: Pick<Batch, 'batch' | 'steps' | 'lengths'>, rows: ArrayLike<number>): void {
  const O = shape[shape.length - 1]!;
  if (shape.length === 3) {
    const S = shape[1]!;
    const T = b.steps;
    for (let i = 0; i < b.batch; i++) out.set(y.subarray(i * T * O, (i * T + b.lengths[i]!) * O), rows[i]! * S * O);
  } else {
    for (let i = 0; i < b.batch; i++) out.set(y.subarray(i * O, (i + 1) * O), rows[i]! * O);
  }
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

/** Whether `t` can be a multi-label threshold: a probability strictly between 0 and 1 (0 would give every label, 1 none). */
export function isThreshold(t: unknown): t is number {
  return typeof t === 'number' && t > 0 && t < 1;
}

/**
 * Multi-label: one row of logits a[off .. off + labels.length) as every label's probability
 * (sigmoidRow) and the labels given, those of probability ≥ `threshold`, in label order (possibly
 * none). TrainedModel.predict's and `weft predict`'s answer.
 */
export function multilabelRow(labels: readonly string[], a: ArrayLike<number>, off: number, threshold: number): { labels: string[]; probabilities: Record<string, number> } {
  const p = sigmoidRow(a, off, labels.length);
  return { labels: labels.filter((_, j) => p[j]! >= threshold), probabilities: Object.fromEntries(labels.map((l, j) => [l, p[j]!])) };
}
