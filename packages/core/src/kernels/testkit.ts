/**
 * Helpers of the kernels' tests (not part of the package: excluded from the build): one set of
 * checks of a fast gemm (WebAssembly, native) against the TypeScript reference, the oracle, over
 * random and awkward shapes, all four transpose combinations, offsets, padded leading
 * dimensions and accumulate, declared once and run for each fast path; a worker thread
 * that runs kernels on a shared arena (fixtures/gemm-worker.mjs); and what Linux says of the
 * arena's pages (the huge-page advice: here and test/workers-lifecycle.test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { gemmReference } from './gemm.js';
import type { Gemm } from './index.js';
import { allocF32In, type WasmMemory } from './memory.js';

/** Unit roundoff of float32. */
export const U = 2 ** -24;

export interface GemmCase {
  tA: boolean; tB: boolean; M: number; N: number; K: number; acc: boolean;
  padA: number; padB: number; padC: number; offA: number; offB: number; offC: number;
}

/** A fast gemm on `memory`, with its counters: calls it ran, calls that fell back to the reference. */
export interface FastGemm {
  memory: WasmMemory;
  gemm: Gemm;
  ran(): number;
  fellBack(): number;
  /** [M, N, K] that cross the path's cache blocks. */
  blockShapes: Array<[number, number, number]>;
}

export const TRANSPOSE_PAIRS: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

export function randomGemmCase(rng: Rng, M: number, N: number, K: number): GemmCase {
  return {
    tA: rng.uniform() < 0.5, tB: rng.uniform() < 0.5, M, N, K, acc: rng.uniform() < 0.5,
    padA: rng.int(3) === 0 ? 0 : rng.int(7), padB: rng.int(3) === 0 ? 0 : rng.int(7),
    padC: rng.int(3) === 0 ? 0 : rng.int(5),
    offA: rng.int(5), offB: rng.int(5), offC: rng.int(5),
  };
}

/** Operands of a case in `memory`, filled from rng; C's buffer has room around its window. */
export function gemmOperands(memory: WasmMemory, c: GemmCase, rng: Rng) {
  const { tA, tB, M, N, K } = c;
  const [aRows, aCols] = tA ? [K, M] : [M, K];
  const [bRows, bCols] = tB ? [N, K] : [K, N];
  const lda = aCols + c.padA, ldb = bCols + c.padB, ldc = N + c.padC;
  const aLen = c.offA + Math.max(0, aRows - 1) * lda + aCols;
  const bLen = c.offB + Math.max(0, bRows - 1) * ldb + bCols;
  const cLen = c.offC + Math.max(0, M - 1) * ldc + N + c.padC;
  const A = allocF32In(memory, aLen), B = allocF32In(memory, bLen), C = allocF32In(memory, cLen);
  for (let i = 0; i < aLen; i++) A[i] = rng.range(-1, 1);
  for (let i = 0; i < bLen; i++) B[i] = rng.range(-1, 1);
  for (let i = 0; i < cLen; i++) C[i] = rng.range(-1, 1);
  return { A, B, C, lda, ldb, ldc };
}

/**
 * Runs one case through the fast gemm (operands in its memory) and the reference (heap
 * copies), and checks every element of C against the float32 error bound of a length-K dot
 * product, |fast − ref| ≤ 2(K+2)u·(Σ_k |a_ik||b_kj| + |c_ij|), which holds for any summation
 * order (fused multiply-adds only tighten it); an indexing mistake gives an error of the order
 * of the sum itself. Floats of C's buffer outside the window must be left untouched.
 */
export function checkGemmCase(fast: FastGemm, c: GemmCase, rng: Rng): void {
  const { tA, tB, M, N, K, acc } = c;
  const { A, B, C, lda, ldb, ldc } = gemmOperands(fast.memory, c, rng);
  const R = C.slice(); // heap copy: the reference path
  const C0 = C.slice();
  const before = fast.ran();
  fast.gemm(tA, tB, M, N, K, A, c.offA, lda, B, c.offB, ldb, C, c.offC, ldc, acc);
  expect(fast.ran() - before).toBe(M > 0 && N > 0 ? 1 : 0);
  gemmReference(tA, tB, M, N, K, A.slice(), c.offA, lda, B.slice(), c.offB, ldb, R, c.offC, ldc, acc);

  const a = (i: number, k: number) => A[c.offA + (tA ? k * lda + i : i * lda + k)]!;
  const b = (k: number, j: number) => B[c.offB + (tB ? j * ldb + k : k * ldb + j)]!;
  const inWindow = new Uint8Array(C.length);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const at = c.offC + i * ldc + j;
      inWindow[at] = 1;
      let s = acc ? Math.abs(C0[at]!) : 0;
      for (let k = 0; k < K; k++) s += Math.abs(a(i, k) * b(k, j));
      const tol = 2 * (K + 2) * U * s;
      const err = Math.abs(C[at]! - R[at]!);
      if (!(err <= tol)) {
        throw new Error(`${JSON.stringify(c)}: C[${i},${j}] fast ${C[at]} reference ${R[at]} (tolerance ${tol})`);
      }
    }
  }
  for (let at = 0; at < C.length; at++) {
    if (!inWindow[at] && C[at] !== C0[at]) throw new Error(`${JSON.stringify(c)}: wrote outside C's window at ${at}`);
  }
}

/**
 * Declares the tests of a fast gemm's paths for one column of C (N = 1) and for K = 1 (a head with
 * one output, a layer with one input), which skip the packing (inside the caller's describe): each
 * element gets the packed path's bits, so N = 1 is column 0 of the same product with two columns
 * (from 4 rows on, or Aᵀ·Bᵀ: the other forms with fewer rows go through the few-row paths, with
 * sums of their own), and K = 1 rounds each product once and adds it to C.
 */
export function gemmOneColumnAndOneK(fast: Pick<FastGemm, 'memory' | 'gemm'>): void {
  const { memory } = fast;
  const rng = new Rng(29);
  const fill = (x: Float32Array): Float32Array => {
    for (let i = 0; i < x.length; i++) x[i] = rng.range(-1, 1);
    return x;
  };

  it('N = 1 gives the bits of column 0 of the same product with two columns (the packed path)', () => {
    const check = (tA: boolean, tB: boolean, M: number, K: number, acc: boolean): void => {
      const lda = (tA ? M : K) + rng.int(3), ldc = 1 + rng.int(3);
      const A = fill(allocF32In(memory, (tA ? K : M) * lda));
      // op(B) with two columns; the one-column product reads column 0 of the same B (ldb kept).
      const ldb = tB ? K + rng.int(3) : 2 + rng.int(3);
      const B = fill(allocF32In(memory, (tB ? 2 : K) * ldb));
      const C0 = fill(new Float32Array(M * 2));
      const one = fill(allocF32In(memory, M * ldc)), two = allocF32In(memory, M * 2);
      two.set(C0);
      for (let i = 0; i < M; i++) one[i * ldc] = C0[2 * i]!;
      const pad = one.filter((_, i) => i % ldc !== 0);
      fast.gemm(tA, tB, M, 1, K, A, 0, lda, B, 0, ldb, one, 0, ldc, acc);
      fast.gemm(tA, tB, M, 2, K, A, 0, lda, B, 0, ldb, two, 0, 2, acc);
      const what = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×1×${K} ldc ${ldc} accumulate ${acc}`;
      expect(Array.from(one.filter((_, i) => i % ldc === 0)), what).toEqual(Array.from({ length: M }, (_, i) => two[2 * i]!));
      expect(Array.from(one.filter((_, i) => i % ldc !== 0)), `${what}: between rows`).toEqual(Array.from(pad));
    };
    for (const [M, K] of [[4, 2], [5, 7], [17, 256], [32, 800], [37, 257], [300, 32], [9, 600]] as const) {
      for (const [tA, tB] of TRANSPOSE_PAIRS) for (const acc of [false, true]) check(tA, tB, M, K, acc);
    }
    // Fewer rows go through the few-row paths (their own sums), except Aᵀ·Bᵀ.
    for (const [M, K] of [[1, 9], [2, 300], [3, 40]] as const) for (const acc of [false, true]) check(true, true, M, K, acc);
  });

  it('K = 1 rounds each product once and adds it to C (0 + a·b, then C + that)', () => {
    for (const [M, N] of [[4, 1], [5, 9], [800, 32], [33, 1030], [6, 17]] as const) {
      for (const [tA, tB] of TRANSPOSE_PAIRS) {
        for (const acc of [false, true]) {
          const lda = tA ? M + rng.int(3) : 1 + rng.int(3), ldb = tB ? 1 + rng.int(3) : N + rng.int(3);
          const A = fill(allocF32In(memory, tA ? lda : M * lda)), B = fill(allocF32In(memory, tB ? N * ldb : ldb));
          A[0] = -0; // a product −0: 0 + (−0) is +0
          const C = fill(allocF32In(memory, M * N)), before = C.slice();
          fast.gemm(tA, tB, M, N, 1, A, 0, lda, B, 0, ldb, C, 0, N, acc);
          const want = new Float32Array(M * N);
          for (let i = 0; i < M; i++) {
            const a = tA ? A[i]! : A[i * lda]!;
            for (let j = 0; j < N; j++) {
              const p = 0 + Math.fround(a * (tB ? B[j * ldb]! : B[j]!));
              want[i * N + j] = acc ? before[i * N + j]! + p : p;
            }
          }
          expect(Array.from(C).map(Object.is.bind(null, 0)), 'signs of zero').toEqual(Array.from(want).map(Object.is.bind(null, 0)));
          expect(Array.from(C), `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×1 accumulate ${acc}`).toEqual(Array.from(want));
        }
      }
    }
  });
}

/** Declares the tests of a fast gemm against the reference (inside the caller's describe). */
export function gemmAgreesWithReference(fast: FastGemm): void {
  it('agrees on every size 1..37 (M, N, K drawn independently), all transposes, with and without accumulate', () => {
    const rng = new Rng(1);
    for (let n = 0; n < 240; n++) {
      checkGemmCase(fast, randomGemmCase(rng, 1 + rng.int(37), 1 + rng.int(37), 1 + rng.int(37)), rng);
    }
  });

  it('agrees on 1×1×1, 1×N, N×1, K=1 and the micro-tile edges, for each transpose pair', () => {
    const rng = new Rng(2);
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1], [1, 37, 5], [37, 1, 5], [5, 7, 1], [1, 1, 64], [1, 64, 1], [64, 1, 1],
      [3, 8, 9], [4, 8, 3], [5, 9, 4], [7, 15, 2], [8, 16, 33], [9, 17, 31], [12, 24, 8], [2, 40, 17],
      [6, 16, 5], [13, 33, 7], [17, 31, 3], [25, 65, 9],
    ];
    for (const [M, N, K] of shapes) {
      for (const [tA, tB] of TRANSPOSE_PAIRS) {
        for (const acc of [false, true]) checkGemmCase(fast, { ...randomGemmCase(rng, M, N, K), tA, tB, acc }, rng);
      }
    }
  });

  it('agrees across the cache blocks and on large M', () => {
    const rng = new Rng(3);
    for (const [M, N, K] of fast.blockShapes) {
      for (const [tA, tB] of TRANSPOSE_PAIRS) checkGemmCase(fast, { ...randomGemmCase(rng, M, N, K), tA, tB, acc: rng.uniform() < 0.5 }, rng);
    }
  });

  it('K = 0 clears C (or leaves it, accumulating); M = 0 or N = 0 touches nothing', () => {
    const { memory, gemm } = fast;
    const A = allocF32In(memory, 4), B = allocF32In(memory, 4), C = allocF32In(memory, 12);
    C.fill(5);
    gemm(false, false, 3, 4, 0, A, 0, 1, B, 0, 4, C, 0, 4, true);
    expect(Array.from(C)).toEqual(new Array(12).fill(5));
    gemm(false, false, 3, 4, 0, A, 0, 1, B, 0, 4, C, 0, 4, false);
    expect(Array.from(C)).toEqual(new Array(12).fill(0));
    C.fill(7);
    gemm(false, false, 0, 4, 2, A, 0, 2, B, 0, 4, C, 0, 4, false);
    gemm(false, false, 3, 0, 2, A, 0, 2, B, 0, 4, C, 0, 4, false);
    expect(Array.from(C)).toEqual(new Array(12).fill(7));
  });

  it('falls back to the reference, bit for bit, when an operand is not in its memory', () => {
    const rng = new Rng(4);
    const M = 9, N = 11, K = 13;
    const A = allocF32In(fast.memory, M * K), B = new Float32Array(K * N), C = allocF32In(fast.memory, M * N);
    for (let i = 0; i < A.length; i++) A[i] = rng.normal();
    for (let i = 0; i < B.length; i++) B[i] = rng.normal();
    const R = new Float32Array(M * N);
    const ran = fast.ran(), fellBack = fast.fellBack();
    fast.gemm(false, true, M, N, K, A, 0, K, B, 0, K, C, 0, N, false);
    gemmReference(false, true, M, N, K, A, 0, K, B, 0, K, R, 0, N, false);
    expect(fast.fellBack()).toBe(fellBack + 1);
    expect(fast.ran()).toBe(ran);
    expect(Array.from(C)).toEqual(Array.from(R));
  });

  it('throws a RangeError naming the operand whose window leaves its array', () => {
    const { memory, gemm } = fast;
    const A = allocF32In(memory, 12), B = allocF32In(memory, 12), C = allocF32In(memory, 9);
    expect(() => gemm(false, false, 3, 3, 4, A, 1, 4, B, 0, 3, C, 0, 3, false)).toThrow(/gemm: A is 3×4 at offset 1/);
    expect(() => gemm(false, true, 3, 3, 4, A, 0, 4, B, 0, 5, C, 0, 3, false)).toThrow(/gemm: B \(transposed\) is 3×4/);
    expect(() => gemm(false, false, 3, 3, 4, A, 0, 4, B, 0, 3, C, 1, 3, false)).toThrow(RangeError);
    expect(() => gemm(false, false, 3, 3, 2, A, 0, 2, B, 0, 3, C, 0, 2, false)).toThrow(/ldc/);
    expect(() => gemm(false, false, 1.5, 3, 2, A, 0, 2, B, 0, 3, C, 0, 3, false)).toThrow(/M, N, K must be non-negative integers/);
  });
}

type Reply = Record<string, unknown>;

/**
 * A worker thread (fixtures/gemm-worker.mjs, through the BUILT package) that attaches to
 * `memory` with the kernels of `path` and answers requests; `next()` is its next reply.
 */
export function spawnKernelWorker(
  memory: WasmMemory, path: 'wasm' | 'native' = 'wasm',
): { worker: Worker; next: () => Promise<Reply> } {
  const worker = new Worker(fileURLToPath(new URL('./fixtures/gemm-worker.mjs', import.meta.url)), { workerData: { memory, path } });
  const queue: Reply[] = [];
  const waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];
  let failure: Error | null = null;
  worker.on('message', (m: Reply) => (waiting.length ? waiting.shift()!.resolve(m) : queue.push(m)));
  worker.on('error', (err: Error) => {
    failure = err;
    for (const w of waiting.splice(0)) w.reject(err);
  });
  const next = () => new Promise<Reply>((resolve, reject) => {
    if (queue.length) resolve(queue.shift()!);
    else if (failure) reject(failure);
    else waiting.push({ resolve, reject });
  });
  return { worker, next };
}

/** Whether this machine has transparent huge pages to give (Linux, built in, not "[never]"). */
export function transparentHugePagesOn(): boolean {
  try {
    return !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]');
  } catch {
    return false;
  }
}

/** The VmFlags of the mapping of this process that holds `address` (/proc/self/smaps; "hg": madvise(MADV_HUGEPAGE)). */
export function vmFlagsAt(address: number): string[] {
  let inside = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range) inside = parseInt(range[1]!, 16) <= address && address < parseInt(range[2]!, 16);
    else if (inside && line.startsWith('VmFlags:')) return line.slice(8).trim().split(/\s+/);
  }
  throw new Error(`no mapping holds address ${address.toString(16)}`);
}
