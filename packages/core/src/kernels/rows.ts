/**
 * Row-wise loops over [rows, n] float32 matrices around the matrix products, TypeScript
 * reference (the WebAssembly versions are in asm/rows.ts, called through `kernels`):
 *
 *   fillRows        x[r, :] = b (+ b2)              a bias broadcast into a product's output,
 *                                                   which the product then accumulates onto
 *   sumRows         db += Σ_r dz[r, :]              its gradient (float32, row after row); the
 *                                                   trainer's sum of its shard slots (rows ld apart)
 *   gatherRows      x[r, :] = table[ids[r], :]      one-hot · W as a lookup
 *   scatterAddRows  table[ids[r], :] += src[r, :]   its gradient, in row order
 *   accumulate      dst += src                      a flat vector sum (gradient slots)
 *   transpose       dst = srcᵀ                      a weight in the layout a product reads best
 *
 * Every operand is (array, offset); rows are contiguous, n floats apart (sumRows: ld apart, n by default).
 */

export function fillRowsReference(
  x: Float32Array, xOff: number, rows: number, n: number,
  b: Float32Array, bOff: number, b2: Float32Array | null, b2Off: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = xOff + r * n;
    if (b2) for (let j = 0; j < n; j++) x[o + j] = b[bOff + j]! + b2[b2Off + j]!;
    else for (let j = 0; j < n; j++) x[o + j] = b[bOff + j]!;
  }
}

export function sumRowsReference(db: Float32Array, dbOff: number, dz: Float32Array, dzOff: number, rows: number, n: number, ld: number = n): void {
  for (let r = 0; r < rows; r++) {
    const o = dzOff + r * ld;
    for (let j = 0; j < n; j++) db[dbOff + j]! += dz[o + j]!;
  }
}

export function gatherRowsReference(
  x: Float32Array, xOff: number, rows: number, n: number,
  table: Float32Array, tOff: number, ids: Int32Array, idsOff: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = xOff + r * n;
    const s = tOff + ids[idsOff + r]! * n;
    for (let j = 0; j < n; j++) x[o + j] = table[s + j]!;
  }
}

export function scatterAddRowsReference(
  table: Float32Array, tOff: number, n: number, ids: Int32Array, idsOff: number, rows: number,
  src: Float32Array, sOff: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = sOff + r * n;
    const d = tOff + ids[idsOff + r]! * n;
    for (let j = 0; j < n; j++) table[d + j]! += src[o + j]!;
  }
}

/** dst[dOff..+n) += src[sOff..+n): how shard gradients are summed (float32 adds, any path the same bits). */
export function accumulateReference(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i]! += src[sOff + i]!;
}

/**
 * dst[c, r] = src[r, c]: src [rows, cols] (contiguous) → dst [cols, rows], its rows `ldd` ≥ rows
 * floats apart (a padded leading dimension keeps a power-of-two row length from mapping every
 * row to the same cache sets). dst must not overlap src.
 */
export function transposeReference(
  dst: Float32Array, dOff: number, ldd: number, src: Float32Array, sOff: number, rows: number, cols: number,
): void {
  for (let r = 0; r < rows; r++) {
    const s = sOff + r * cols;
    for (let c = 0; c < cols; c++) dst[dOff + c * ldd + r] = src[s + c]!;
  }
}
