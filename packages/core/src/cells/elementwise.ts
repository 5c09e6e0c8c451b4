/**
 * Small loops the cells and the stack share, each over (array, offset, count). Nothing here
 * allocates. (The heavy elementwise work, gate math and bias rows, goes through `kernels`.)
 */

/** First row ≥ b that is NOT active at step t (rows b.. are active while t < lengths[row]). */
export function activeRunEnd(lengths: Int32Array, t: number, b: number, B: number): number {
  let e = b + 1;
  while (e < B && t < lengths[e]!) e++;
  return e;
}

/** dst[dOff..+n) = a[aOff..+n) * b[bOff..+n). */
export function mulInto(
  dst: Float32Array, dOff: number, a: Float32Array, aOff: number, b: Float32Array, bOff: number, n: number,
): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = a[aOff + i]! * b[bOff + i]!;
}

/** dst[dOff..+n) += a[aOff..+n) * b[bOff..+n). */
export function mulAddInto(
  dst: Float32Array, dOff: number, a: Float32Array, aOff: number, b: Float32Array, bOff: number, n: number,
): void {
  for (let i = 0; i < n; i++) dst[dOff + i]! += a[aOff + i]! * b[bOff + i]!;
}
