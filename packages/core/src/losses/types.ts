/**
 * The contract of a loss (the table in losses/table.ts): it checks its options, says what
 * targets it needs, counts the terms its mean divides by over a global batch, and computes the
 * loss SUM of a shard's rows with its gradient already multiplied by `scale`.
 *
 * Data parallelism: the trainer passes scale = 1 / terms(whole global batch), so the gradients
 * the shards compute independently add up to the gradient of the mean over the whole batch (and
 * the same bits for any number of workers). A loss whose mean is weighted (class weights:
 * PyTorch divides by the sum of the weights of the targets) counts that sum as its terms, and
 * reports it per shard as `weight`, so the shards' sums combine to the same mean.
 */
import type { LossResult as KernelLossResult } from '../kernels/loss.js';
import type { SequenceDataset } from '../data/dataset.js';

export interface LossResult extends KernelLossResult {
  /** What the mean divides `sum` by: `count`, or with class weights the sum of the counted targets' weights. */
  weight: number;
}

/** What a loss compares the output with: class ids, values, or 0/1 labels (multi-label). */
export const TARGET_TYPES = ['class', 'value', 'multilabel'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/** One call: `rows` rows of `size` outputs, their targets in the same row order. */
export interface LossInput {
  /** The model's output [rows, size] (logits or values). */
  output: Float32Array;
  /** Receives d(loss sum)/d(output) * scale; may be `output` itself. */
  dOutput: Float32Array;
  /** Class ids [rows] (negative: ignored), or floats [rows, size]. */
  targets: ArrayLike<number>;
  rows: number;
  size: number;
  scale: number;
  /** Float targets only: rows with mask[r] === 0 are ignored (padded steps). */
  mask?: Uint8Array;
}

export interface LossDef<O extends object = Record<string, unknown>> {
  /** The `kind` a spec names it by. */
  readonly kind: string;
  /** Its option keys besides `kind`. */
  readonly keys: readonly string[];
  /** What it needs as targets. */
  readonly targets: TargetType;
  /** Checks the options (OptionError naming `${where}.key`) for a model with `size` outputs; fills defaults. */
  resolve(options: Record<string, unknown>, where: string, size: number): O;
  /**
   * The denominator of the mean over rows `rows` of a dataset (its terms; with class weights the
   * sum of their weights): what scale = 1 / terms is computed from.
   */
  terms(o: O, d: SequenceDataset, rows: ArrayLike<number>): number;
  compute(o: O, x: LossInput): LossResult;
}
