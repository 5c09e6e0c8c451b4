/**
 * The recurrent layers' per-step product over a GROUP of stacks run in lockstep
 * (stack/stack.ts forwardSteps, backwardSteps): each member's rows of A (h_{t-1}, or dz) and of
 * C (its gate rows, or dh) lie in its own scratch, and the step's product runs ONCE over all of
 * them, so W_hh is read once per step instead of once per member:
 *
 *   [C_0; C_1; ...] (+)= [A_0; A_1; ...] · B      at M = productRows(Σ rows) rows
 *
 * where segment i is `rows` rows of A at (a, aOff), lda apart, and of C at (c, cOff), ldc apart.
 * The rows past Σ rows are zero rows of A whose results are dropped. At productRows rows every
 * row's bits depend on that row alone on every path (rows-stable.test.ts), so a member gets the
 * same bits in any group as alone.
 *
 * How the rows meet is the path's business (`kernels.gemmRows`): here, for the reference and
 * WebAssembly paths, each segment of a multiple of 4 rows by a product of its own, in place, the
 * others by copying them into the caller's contiguous scratch rows and back; the
 * native path hands the rows to its product as row pointers, in one call per step (native.ts,
 * native/csrc/addon.c): its packing reads A's rows where they lie and its tiles of C are stored
 * to them, so nothing is copied.
 */
import { copyRows, zeroInto } from './copy.js';
import type { gemmReference } from './gemm.js';

type Gemm = typeof gemmReference;

/**
 * The rows the per-step product runs at for `rows` rows: a multiple of 4, at least 4. At these
 * sizes every row of the product has the same bits whatever the other rows are, on every kernel
 * path (the native product from 4 rows on; the WebAssembly product only at multiples of 4, since
 * its leftover rows sum k in another order: kernels/rows-stable.test.ts), so a stack gives the
 * same results alone and in any group (RecurrentStack.forwardGroup).
 */
export function productRows(rows: number): number {
  return Math.max(4, Math.ceil(rows / 4) * 4);
}

/** One step's segments, refilled per step (`clear`, then `add` per active member); allocates only to grow. */
export class RowSegments {
  /** Segments in use. */
  count = 0;
  /** Σ rows of the segments in use. */
  rows = 0;
  readonly a: Float32Array[] = [];
  readonly aOff: number[] = [];
  readonly c: Float32Array[] = [];
  readonly cOff: number[] = [];
  readonly n: number[] = [];

  clear(): void {
    this.count = 0;
    this.rows = 0;
  }

  /** `rows` rows of A at (a, aOff) and of C at (c, cOff). */
  add(a: Float32Array, aOff: number, c: Float32Array, cOff: number, rows: number): void {
    const i = this.count++;
    this.a[i] = a;
    this.aOff[i] = aOff;
    this.c[i] = c;
    this.cOff[i] = cOff;
    this.n[i] = rows;
    this.rows += rows;
  }
}

/**
 * kernels.gemmRows: the segments' C (+)= A · B[bOff.., ldb] with A rows K wide (lda apart) and C
 * rows N wide (ldc apart), with the bits of one product of productRows(s.rows) rows. `rowsA`
 * [M, K] and `rowsC` [M, N] are the caller's scratch rows: a segment's C may be rowsC itself (the
 * same object, at the segment's own rows), no segment's A may be rowsA. No row of C may overlap
 * another segment's C, any segment's A or B: A is read where it lies, also after rows of C were
 * written (the native product packs A again per block of K, M and N).
 */
export type GemmRows = (
  s: RowSegments, N: number, K: number, lda: number, ldc: number,
  B: Float32Array, bOff: number, ldb: number, accumulate: boolean,
  rowsA: Float32Array, rowsC: Float32Array,
) => void;

/**
 * gemmRows by products around `gemm`: a segment of a multiple of 4 rows is a product of its own,
 * in place (on these paths a product of few rows costs per row what a large one does, and the
 * lockstep's copies cost more than they save: bilstm on WebAssembly 0.63 → 0.53–0.56 of PyTorch
 * with them); the other segments are copied into the scratch rows, padded with zero rows to a
 * multiple of 4, as one product, and copied back. Every product has a multiple of 4 rows, so
 * each row gets the bits it has in one product over all the rows (rows-stable.test.ts). Where a
 * segment's C is the scratch rows themselves (a GRU's forward, a backward with recurrent
 * dropout), every segment is gathered. Products are cut into `stepRows` rows (0: whole) where
 * the path runs few rows faster.
 */
export function gemmRowsBy(gemm: Gemm, stepRows: number): GemmRows {
  const product = (M: number, N: number, K: number, A: Float32Array, aOff: number, lda: number,
    B: Float32Array, bOff: number, ldb: number, C: Float32Array, cOff: number, ldc: number, accumulate: boolean): void => {
    const R = stepRows || M;
    for (let r = 0; r < M; r += R) gemm(false, false, Math.min(R, M - r), N, K, A, aOff + r * lda, lda, B, bOff, ldb, C, cOff + r * ldc, ldc, accumulate);
  };
  return (s, N, K, lda, ldc, B, bOff, ldb, accumulate, rowsA, rowsC) => {
    let scratchC = false;
    for (let i = 0; i < s.count; i++) if (s.c[i] === rowsC) scratchC = true;
    const apart = (i: number) => !scratchC && s.n[i]! % 4 === 0;
    let rows = 0;
    for (let i = 0; i < s.count; i++) {
      if (!apart(i)) rows += s.n[i]!;
      else if (s.n[i]! > 0) product(s.n[i]!, N, K, s.a[i]!, s.aOff[i]!, lda, B, bOff, ldb, s.c[i]!, s.cOff[i]!, ldc, accumulate);
    }
    if (rows === 0) return;
    const M = productRows(rows);
    const inPlace = (i: number, r: number) => s.c[i] === rowsC && s.cOff[i] === r * N && ldc === N;
    for (let i = 0, r = 0; i < s.count; i++) {
      if (apart(i)) continue;
      copyRows(rowsA, r * K, K, s.a[i]!, s.aOff[i]!, lda, s.n[i]!, K);
      if (accumulate && !inPlace(i, r)) copyRows(rowsC, r * N, N, s.c[i]!, s.cOff[i]!, ldc, s.n[i]!, N);
      r += s.n[i]!;
    }
    if (M > rows) {
      zeroInto(rowsA, rows * K, (M - rows) * K);
      if (accumulate) zeroInto(rowsC, rows * N, (M - rows) * N);
    }
    product(M, N, K, rowsA, 0, K, B, bOff, ldb, rowsC, 0, N, accumulate);
    for (let i = 0, r = 0; i < s.count; i++) {
      if (apart(i)) continue;
      if (!inPlace(i, r)) copyRows(s.c[i]!, s.cOff[i]!, ldc, rowsC, r * N, N, s.n[i]!, N);
      r += s.n[i]!;
    }
  };
}
