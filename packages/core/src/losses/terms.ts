/**
 * Walking targets: those of some rows of a dataset in a fixed order (sequence by sequence, step
 * by step, t < length only), for the losses' `terms` (what a global batch's mean divides by);
 * and the counted rows of one loss call, for the elementwise losses.
 */
import { batchTokens, targetIsClass, targetPerStep, type SequenceDataset } from '../data/dataset.js';
import type { LossInput } from './types.js';

/**
 * Calls `f` with each target of rows `rows`: the class id (negative: ignored) for class targets,
 * else the row's index into d.targets of its first value (`size` values follow).
 */
export function forEachTarget(d: SequenceDataset, rows: ArrayLike<number>, f: (target: number) => void): void {
  const perStep = targetPerStep(d.targetKind);
  const isClass = targetIsClass(d.targetKind);
  const O = isClass ? 1 : d.outputSize;
  const S = d.maxSteps;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const n = perStep ? d.lengths[r]! : 1;
    const base = perStep ? r * S : r;
    for (let t = 0; t < n; t++) f(isClass ? d.targets[base + t]! : (base + t) * O);
  }
}

/** Values counted over the rows: outputSize per sequence, or per step t < length (value and multi-label targets). */
export function valueTerms(d: SequenceDataset, rows: ArrayLike<number>): number {
  return (targetPerStep(d.targetKind) ? batchTokens(d, rows) : rows.length) * d.outputSize;
}

/**
 * For elementwise losses: calls `row(offset)` with the offset of every row that counts, and
 * zeroes the gradient of the rows masked out (padded steps). Returns the values counted.
 */
export function forEachCountedRow({ rows, size, mask, dOutput }: LossInput, row: (offset: number) => void): number {
  let n = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * size;
    if (mask && mask[r] === 0) {
      dOutput.fill(0, o, o + size);
      continue;
    }
    row(o);
    n += size;
  }
  return n;
}
