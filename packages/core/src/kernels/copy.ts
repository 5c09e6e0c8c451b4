/**
 * Copies of float runs in the arena, for the stack and the kernels' own fallbacks, and the zero
 * fill of the reference path (kernels.zero; the WebAssembly and native paths use memory.fill).
 * On shared memory (every worker's arena) the obvious loops are slow: these pick the typed
 * array's copy where it pays.
 */

/**
 * dst[dOff..+n) = src[sOff..+n). Short runs by a plain loop; from COPY_SET floats `set(subarray)`,
 * a memmove for the price of one small view: on shared memory (every worker's arena) a loop
 * runs at ~3 ns a float, set at ~0.45 (and at ~1.3 already for 64 floats).
 */
export function copyInto(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
  if (n >= COPY_SET) {
    dst.set(src.subarray(sOff, sOff + n), dOff);
    return;
  }
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!;
}

const COPY_SET = 32;

/** rows rows of `width` floats from src (sld apart) to dst (dld apart): one copy where both are packed. */
export function copyRows(
  dst: Float32Array, dOff: number, dld: number, src: Float32Array, sOff: number, sld: number, rows: number, width: number,
): void {
  if (dld === width && sld === width) {
    copyInto(dst, dOff, src, sOff, rows * width);
    return;
  }
  for (let q = 0; q < rows; q++) copyInto(dst, dOff + q * dld, src, sOff + q * sld, width);
}

/**
 * dst[off..+n) = 0: the reference path's kernels.zero, and its fallback for arrays outside the
 * arena. On shared memory `fill` stores float by float (0.3–0.46 ms for 610k floats); copying
 * from a small zeroed block that stays in L1 is faster (~0.11 ms), though V8 still copies shared
 * memory a word at a time (WebAssembly's memory.fill, a memset, takes a third of that).
 */
export function zeroInto(dst: Float32Array, off: number, n: number): void {
  if (n < COPY_SET) {
    dst.fill(0, off, off + n);
    return;
  }
  for (let i = 0; i < n; i += ZEROS.length) dst.set(n - i >= ZEROS.length ? ZEROS : ZEROS.subarray(0, n - i), off + i);
}

const ZEROS = new Float32Array(4096);
