/**
 * General matrix product over flat float32 memory, BLAS-style:
 *
 *   C[M,N] (+)= op(A)[M,K] · op(B)[K,N]
 *
 * where op(X) is X or Xᵀ. Matrices are row-major, addressed as (array, offset, leading
 * dimension) so that a kernel can work on a window of a larger buffer (one time step of a
 * sequence, one gate block of a weight) without a copy. Every caller in weft goes through
 * `kernels.gemm`, so the WebAssembly fast path (kernels/wasm.ts) can replace this one.
 *
 * The three forms a recurrent network needs, and why each must be fast:
 *   forward   Z  = X · Wᵀ          transB  (PyTorch stores W as [out, in])
 *   backward  dX = dZ · W           plain
 *   backward  dW += dZᵀ · X         transA  (accumulated over all time steps at once)
 */
export function gemmReference(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
  accumulate: boolean,
): void {
  if (!accumulate) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  }
  if (!transA && !transB) {
    // i-k-j: the inner loop streams one row of B and one row of C.
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * ldc;
      const ai = aOff + i * lda;
      for (let k = 0; k < K; k++) {
        const a = A[ai + k]!;
        if (a === 0) continue;
        const bk = bOff + k * ldb;
        for (let j = 0; j < N; j++) C[ci + j]! += a * B[bk + j]!;
      }
    }
  } else if (!transA && transB) {
    // Dot products of a row of A with a row of B: both stream in order.
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * ldc;
      const ai = aOff + i * lda;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * ldb;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[ai + k]! * B[bj + k]!;
        C[ci + j]! += s;
      }
    }
  } else if (transA && !transB) {
    // Sum of outer products of row k of A (a column of Aᵀ) with row k of B.
    for (let k = 0; k < K; k++) {
      const ak = aOff + k * lda;
      const bk = bOff + k * ldb;
      for (let i = 0; i < M; i++) {
        const a = A[ak + i]!;
        if (a === 0) continue;
        const ci = cOff + i * ldc;
        for (let j = 0; j < N; j++) C[ci + j]! += a * B[bk + j]!;
      }
    }
  } else {
    for (let i = 0; i < M; i++) {
      const ci = cOff + i * ldc;
      for (let j = 0; j < N; j++) {
        const bj = bOff + j * ldb;
        let s = 0;
        for (let k = 0; k < K; k++) s += A[aOff + k * lda + i]! * B[bj + k]!;
        C[ci + j]! += s;
      }
    }
  }
}

/** Throws a RangeError unless op(X)'s rows×cols window at (off, ld) lies inside X. */
function checkOperand(name: string, x: Float32Array, off: number, ld: number, rows: number, cols: number): void {
  if (rows === 0 || cols === 0) return;
  if (!Number.isInteger(off) || off < 0 || !Number.isInteger(ld) || ld < 0 ||
    off + (rows - 1) * ld + cols > x.length) {
    throw new RangeError(
      `gemm: ${name} is ${rows}×${cols} at offset ${off} with leading dimension ${ld}, ` +
      `which does not fit in its ${x.length} floats`,
    );
  }
}

/**
 * The checks a fast path makes before it hands pointers to code that cannot check them (a
 * stray write there would land in some other buffer of the shared memory): sizes are
 * non-negative integers and every operand's window lies inside its array. Throws a RangeError
 * naming the operand; returns false when there is nothing to compute (M or N is 0).
 */
export function checkGemm(
  transA: boolean, transB: boolean, M: number, N: number, K: number,
  A: Float32Array, aOff: number, lda: number,
  B: Float32Array, bOff: number, ldb: number,
  C: Float32Array, cOff: number, ldc: number,
): boolean {
  if (!(Number.isInteger(M) && Number.isInteger(N) && Number.isInteger(K) && M >= 0 && N >= 0 && K >= 0)) {
    throw new RangeError(`gemm: M, N, K must be non-negative integers, got ${M}, ${N}, ${K}`);
  }
  if (M === 0 || N === 0) return false;
  checkOperand(transA ? 'A (transposed)' : 'A', A, aOff, lda, transA ? K : M, transA ? M : K);
  checkOperand(transB ? 'B (transposed)' : 'B', B, bOff, ldb, transB ? N : K, transB ? K : N);
  checkOperand('C', C, cOff, ldc, M, N);
  if (ldc < N) throw new RangeError(`gemm: ldc (${ldc}) must be at least N (${N}): rows of C would overlap`);
  return true;
}
