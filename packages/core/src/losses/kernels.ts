/**
 * The loss kernels as functions: value and gradient in one pass. They return the SUM of the
 * per-element losses and write d(loss)/d(input) already multiplied by `scale` (losses/types.ts
 * says why). The `crossEntropy` and `mse` entries of the loss table run these.
 *
 * The loops are kernels (kernels/loss.ts, the TypeScript reference; asm/loss.ts, WebAssembly):
 * these go through the active kernel table. Both paths give the same bits.
 */
import { kernels } from '../kernels/index.js';
import type { LossResult } from '../kernels/loss.js';

/**
 * Softmax cross-entropy, one row of `logits` [rows, classes] per target; a negative target
 * (-1) is ignored (padding) and gets a zero gradient; any other target must be a class index
 * (RangeError). dLogits may alias logits.
 */
export function softmaxCrossEntropy(
  dLogits: Float32Array, logits: Float32Array, targets: ArrayLike<number>, rows: number, classes: number, scale: number,
): LossResult {
  return kernels.softmaxCrossEntropy(dLogits, logits, targets, rows, classes, scale);
}

/**
 * Squared error summed over `rows * size` values; rows with mask[r] === 0 are ignored.
 * dPred = 2 (pred - target) * scale.
 */
export function meanSquaredError(
  dPred: Float32Array, pred: Float32Array, targets: ArrayLike<number>, rows: number, size: number, scale: number,
  mask?: ArrayLike<number>,
): LossResult {
  return kernels.meanSquaredError(dPred, pred, targets, rows, size, scale, mask);
}

/** Sizes the loss kernels' scratch for calls of up to `rows` rows of `width` classes or values (kernels.reserveLoss). */
export function reserveLoss(rows: number, width: number): void {
  kernels.reserveLoss(rows, width);
}
