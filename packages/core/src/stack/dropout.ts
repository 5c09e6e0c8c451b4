/**
 * Dropout masks. A mask holds, per element, 0 (dropped) or 1/(1-p) (kept): inverted dropout,
 * so the expected value of a masked activation equals the unmasked one and evaluation needs no
 * rescaling. Masks are drawn once per forward and kept for backward, which multiplies the
 * incoming gradient by the same mask.
 */
import type { Rng } from '../rng.js';

/**
 * Fill mask[off..off+n) drawing ONE `rng.uniform()` per element, in index order: the element
 * is dropped iff the draw is < p. Reproducible from the generator's state alone.
 */
export function drawDropoutMask(mask: Float32Array, off: number, n: number, p: number, rng: Rng): void {
  const keep = 1 / (1 - p);
  for (let i = off; i < off + n; i++) mask[i] = rng.uniform() < p ? 0 : keep;
}

/**
 * x[t, b, :] * mask[b, :] for every step: a variational (per-sequence) mask applied to a
 * time-major [T, B, W] buffer. dst may equal src.
 */
export function applySequenceMask(
  dst: Float32Array, src: Float32Array, mask: Float32Array, T: number, B: number, W: number,
): void {
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const o = (t * B + b) * W;
      const m = b * W;
      for (let j = 0; j < W; j++) dst[o + j] = src[o + j]! * mask[m + j]!;
    }
  }
}

/** dst[t, b, :] += src[t, b, :] * mask[b, :]: the backward of applySequenceMask. */
export function accumulateSequenceMask(
  dst: Float32Array, src: Float32Array, mask: Float32Array, T: number, B: number, W: number,
): void {
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const o = (t * B + b) * W;
      const m = b * W;
      for (let j = 0; j < W; j++) dst[o + j]! += src[o + j]! * mask[m + j]!;
    }
  }
}
