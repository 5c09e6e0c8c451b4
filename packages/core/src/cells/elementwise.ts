/**
 * Elementwise loops the cells and the stack share, each over (array, offset, count) so that a
 * WebAssembly version can replace it with the same signature. Nothing here allocates.
 */

/** a[off..off+n) = σ(a) in place. */
export function sigmoidInPlace(a: Float32Array, off: number, n: number): void {
  for (let i = off; i < off + n; i++) a[i] = 1 / (1 + Math.exp(-a[i]!));
}

/** a[off..off+n) = tanh(a) in place. */
export function tanhInPlace(a: Float32Array, off: number, n: number): void {
  for (let i = off; i < off + n; i++) a[i] = Math.tanh(a[i]!);
}

/** a[off..off+n) = max(a, 0) in place. */
export function reluInPlace(a: Float32Array, off: number, n: number): void {
  for (let i = off; i < off + n; i++) if (!(a[i]! > 0)) a[i] = 0;
}

/** dst[dOff..+n) = src[sOff..+n). A plain loop: `set(subarray)` would allocate a view. */
export function copyInto(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!;
}

/** dst[dOff..+n) += src[sOff..+n). */
export function addInto(dst: Float32Array, dOff: number, src: Float32Array, sOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dOff + i]! += src[sOff + i]!;
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

/**
 * Add a bias row to each of `rows` rows of width n: x[r, :] += b (+ b2). Used to fold biases
 * into the input projection of all steps at once. `b2Off` < 0 means no second bias.
 */
export function addBiasRows(
  x: Float32Array, xOff: number, rows: number, n: number,
  b: Float32Array, bOff: number, b2: Float32Array, b2Off: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = xOff + r * n;
    if (b2Off >= 0) for (let j = 0; j < n; j++) x[o + j]! += b[bOff + j]! + b2[b2Off + j]!;
    else for (let j = 0; j < n; j++) x[o + j]! += b[bOff + j]!;
  }
}

/** Bias gradient: db[j] += Σ_r dz[r, j] over `rows` rows of width n (the backward of addBiasRows). */
export function accumulateColumnSums(
  db: Float32Array, dbOff: number, dz: Float32Array, dzOff: number, rows: number, n: number,
): void {
  for (let r = 0; r < rows; r++) {
    const o = dzOff + r * n;
    for (let j = 0; j < n; j++) db[dbOff + j]! += dz[o + j]!;
  }
}
