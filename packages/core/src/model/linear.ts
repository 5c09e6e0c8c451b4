/**
 * The linear head, y = x · Wᵀ + b with PyTorch's Linear layout (W is [out, in]), forward and
 * backward side by side. Both are single large products over all rows (every step of every
 * sequence at once).
 */
import { kernels } from '../kernels/index.js';

/** y[rows, out] = x[rows, in] · W[out, in]ᵀ + b[out] */
export function linearForward(
  y: Float32Array, x: Float32Array, w: Float32Array, wOff: number, b: Float32Array, bOff: number,
  rows: number, inSize: number, outSize: number,
): void {
  kernels.fillRows(y, 0, rows, outSize, b, bOff, null, 0);
  kernels.gemm(false, true, rows, outSize, inSize, x, 0, inSize, w, wOff, inSize, y, 0, outSize, true);
}

/**
 * dW[out, in] += dyᵀ · x;  db[out] += Σ_rows dy;  dx[rows, in] = dy · W  (dx may be null).
 */
export function linearBackward(
  dx: Float32Array | null, dW: Float32Array, dWOff: number, db: Float32Array, dbOff: number,
  dy: Float32Array, x: Float32Array, w: Float32Array, wOff: number,
  rows: number, inSize: number, outSize: number,
): void {
  kernels.gemm(true, false, outSize, inSize, rows, dy, 0, outSize, x, 0, inSize, dW, dWOff, inSize, true);
  kernels.sumRows(db, dbOff, dy, 0, rows, outSize);
  if (dx) kernels.gemm(false, false, rows, inSize, outSize, dy, 0, outSize, w, wOff, inSize, dx, 0, inSize, false);
}
