/**
 * Gradient clipping as torch.nn.utils.clip_grad_norm_ and clip_grad_value_, made deterministic
 * under data-parallel slicing.
 *
 * A float sum depends on its order, so the global norm is built from partial sums over FIXED
 * chunks of the flat gradient: chunk c is [c*chunkSize, (c+1)*chunkSize), whoever computes it.
 * Each chunk is summed left to right in float64, and the chunk sums are combined in chunk order
 * 0..C-1. Whichever threads computed which chunks, the norm has the same bits, and so does
 * the single-threaded `clipGradNorm`, which runs the same two loops.
 *
 * Data-parallel use: each worker owns a chunk-aligned slice and calls sumSquaresChunks into a
 * shared Float64Array of C partials; barrier; every worker computes normFromChunks (same bits
 * everywhere), clipCoefficient, and scaleGrads on its own slice.
 */
import { positiveInt, positiveNumber, show } from '../options/validate.js';

/** Default chunk size (floats) of the partial sums; slices handed to workers should be multiples of it. */
export const CLIP_CHUNK_SIZE = 4096;

/** How many chunks (= partial sums) cover n floats. */
export function clipChunkCount(n: number, chunkSize: number = CLIP_CHUNK_SIZE): number {
  positiveInt(chunkSize, 'chunkSize');
  return Math.ceil(n / chunkSize);
}

/**
 * out[c] = sum of grads[i]^2 over chunk c, for every chunk in [start, end). `start` must be a
 * multiple of chunkSize and `end` a multiple of it or grads.length, so that no chunk is split
 * between two callers. `out` is indexed by the absolute chunk number (length >= clipChunkCount).
 */
export function sumSquaresChunks(grads: Float32Array, start: number, end: number, chunkSize: number, out: Float64Array): void {
  positiveInt(chunkSize, 'chunkSize');
  const n = grads.length;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > n) {
    throw new RangeError(`sumSquaresChunks: the slice must satisfy 0 <= start <= end <= ${n} (integers), got start ${show(start)}, end ${show(end)}`);
  }
  if (start % chunkSize !== 0 || (end % chunkSize !== 0 && end !== n)) {
    throw new RangeError(
      `sumSquaresChunks: start and end must lie on chunk boundaries (multiples of ${chunkSize}, or end = ${n}), got start ${start}, end ${end}`,
    );
  }
  const last = Math.ceil(end / chunkSize);
  if (out.length < last) throw new RangeError(`sumSquaresChunks: out has ${out.length} partials, chunk ${last - 1} needs ${last}`);
  for (let c = start / chunkSize; c < last; c++) {
    out[c] = chunkSumSquares(grads, c * chunkSize, Math.min(end, (c + 1) * chunkSize));
  }
}

/** The global norm from the chunk partials, combined in chunk order 0..count-1 (float64). */
export function normFromChunks(partials: Float64Array, count: number = partials.length): number {
  if (!Number.isInteger(count) || count < 0 || count > partials.length) {
    throw new RangeError(`normFromChunks: count must be an integer in [0, ${partials.length}], got ${show(count)}`);
  }
  let total = 0;
  for (let c = 0; c < count; c++) total += partials[c]!;
  return Math.sqrt(total);
}

/**
 * torch's clip coefficient, in float32 as torch computes it from its float32 norm:
 * min(1, maxNorm / (norm + 1e-6)). NaN for a NaN norm, 0 for an infinite one: the caller
 * checks the norm before updating.
 */
export function clipCoefficient(totalNorm: number, maxNorm: number): number {
  positiveNumber(maxNorm, 'maxNorm');
  const coef = Math.fround(maxNorm / Math.fround(Math.fround(totalNorm) + 1e-6));
  return coef < 1 ? coef : Number.isNaN(coef) ? NaN : 1;
}

/** grads[start, end) *= coef (torch multiplies by the float32 coefficient). */
export function scaleGrads(grads: Float32Array, coef: number, start = 0, end: number = grads.length): void {
  checkSlice('scaleGrads', grads.length, start, end);
  const c = Math.fround(coef);
  for (let i = start; i < end; i++) grads[i] = grads[i]! * c;
}

/**
 * Single-threaded clip_grad_norm_: returns the norm before clipping and scales grads in place
 * when it exceeds maxNorm. A non-finite norm is returned as is (grads untouched if NaN).
 * Same chunking as sumSquaresChunks, so it gives the same norm bits as any parallel run.
 */
export function clipGradNorm(grads: Float32Array, maxNorm: number, chunkSize: number = CLIP_CHUNK_SIZE): number {
  positiveNumber(maxNorm, 'maxNorm');
  positiveInt(chunkSize, 'chunkSize');
  const n = grads.length;
  let total = 0;
  for (let a = 0; a < n; a += chunkSize) total += chunkSumSquares(grads, a, Math.min(n, a + chunkSize));
  const norm = Math.sqrt(total);
  const coef = clipCoefficient(norm, maxNorm);
  if (coef < 1) scaleGrads(grads, coef, 0, n);
  return norm;
}

/** torch.nn.utils.clip_grad_value_ on grads[start, end): clamp to [-clipValue, clipValue] (NaN stays NaN). */
export function clipGradValue(grads: Float32Array, clipValue: number, start = 0, end: number = grads.length): void {
  positiveNumber(clipValue, 'clipValue');
  checkSlice('clipGradValue', grads.length, start, end);
  const hi = Math.fround(clipValue);
  const lo = -hi;
  for (let i = start; i < end; i++) {
    const g = grads[i]!;
    if (g > hi) grads[i] = hi;
    else if (g < lo) grads[i] = lo;
  }
}

function chunkSumSquares(grads: Float32Array, a: number, b: number): number {
  let s = 0;
  for (let i = a; i < b; i++) {
    const g = grads[i]!;
    s += g * g;
  }
  return s;
}

function checkSlice(who: string, n: number, start: number, end: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > n) {
    throw new RangeError(`${who}: the slice must satisfy 0 <= start <= end <= ${n} (integers), got start ${show(start)}, end ${show(end)}`);
  }
}
