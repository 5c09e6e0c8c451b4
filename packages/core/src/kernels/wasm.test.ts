// The WebAssembly gemm against the TypeScript reference (the oracle), over random and awkward
// shapes, all four transpose combinations, offsets, padded leading dimensions, accumulate.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { gemmReference } from './gemm.js';
import { kernels, referenceKernels, setKernels } from './index.js';
import { allocF32In, createSharedMemory, detachMemory } from './memory.js';
import { activeKernels } from './choose.js';
import { loadWasmKernels, useReferenceKernels, useWasmKernels, wasmSimdSupported } from './wasm.js';

const U = 2 ** -24; // unit roundoff of float32

afterAll(() => {
  setKernels(referenceKernels);
  detachMemory();
});

interface Case {
  tA: boolean; tB: boolean; M: number; N: number; K: number; acc: boolean;
  padA: number; padB: number; padC: number; offA: number; offB: number; offC: number;
}

const memory = createSharedMemory(64);
const wasm = loadWasmKernels(memory);

/**
 * Runs one case through wasm (operands in the arena) and the reference (heap copies), and
 * checks every element of C against the float32 error bound of a length-K dot product,
 * |fast − ref| ≤ 2(K+2)u·(Σ_k |a_ik||b_kj| + |c_ij|), which holds for any summation order;
 * an indexing mistake gives an error of the order of the sum itself. Floats of C's buffer
 * outside the window must be left untouched.
 */
function check(c: Case, rng: Rng): void {
  const { tA, tB, M, N, K, acc } = c;
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
  const R = C.slice(); // heap copy: the reference path
  const C0 = C.slice();
  const before = wasm.calls.wasm;
  wasm.gemm(tA, tB, M, N, K, A, c.offA, lda, B, c.offB, ldb, C, c.offC, ldc, acc);
  expect(wasm.calls.wasm - before).toBe(M > 0 && N > 0 ? 1 : 0);
  gemmReference(tA, tB, M, N, K, A.slice(), c.offA, lda, B.slice(), c.offB, ldb, R, c.offC, ldc, acc);

  const a = (i: number, k: number) => A[c.offA + (tA ? k * lda + i : i * lda + k)]!;
  const b = (k: number, j: number) => B[c.offB + (tB ? j * ldb + k : k * ldb + j)]!;
  const inWindow = new Uint8Array(cLen);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const at = c.offC + i * ldc + j;
      inWindow[at] = 1;
      let s = acc ? Math.abs(C0[at]!) : 0;
      for (let k = 0; k < K; k++) s += Math.abs(a(i, k) * b(k, j));
      const tol = 2 * (K + 2) * U * s;
      const err = Math.abs(C[at]! - R[at]!);
      if (!(err <= tol)) {
        throw new Error(`${JSON.stringify(c)}: C[${i},${j}] wasm ${C[at]} reference ${R[at]} (tolerance ${tol})`);
      }
    }
  }
  for (let at = 0; at < cLen; at++) {
    if (!inWindow[at] && C[at] !== C0[at]) throw new Error(`${JSON.stringify(c)}: wrote outside C's window at ${at}`);
  }
}

function randomCase(rng: Rng, M: number, N: number, K: number): Case {
  return {
    tA: rng.uniform() < 0.5, tB: rng.uniform() < 0.5, M, N, K, acc: rng.uniform() < 0.5,
    padA: rng.int(3) === 0 ? 0 : rng.int(7), padB: rng.int(3) === 0 ? 0 : rng.int(7),
    padC: rng.int(3) === 0 ? 0 : rng.int(5),
    offA: rng.int(5), offB: rng.int(5), offC: rng.int(5),
  };
}

const combos: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

describe('wasm gemm vs reference', () => {
  it('loads: SIMD is available here and the module is built', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(wasm.name).toBe('wasm-simd');
  });

  it('agrees on every size 1..37 (M, N, K drawn independently), all transposes, with and without accumulate', () => {
    const rng = new Rng(1);
    for (let n = 0; n < 240; n++) {
      check(randomCase(rng, 1 + rng.int(37), 1 + rng.int(37), 1 + rng.int(37)), rng);
    }
  });

  it('agrees on 1×N, N×1, K=1 and the micro-tile edges, for each transpose pair', () => {
    const rng = new Rng(2);
    const shapes: Array<[number, number, number]> = [
      [1, 1, 1], [1, 37, 5], [37, 1, 5], [5, 7, 1], [1, 1, 64], [1, 64, 1], [64, 1, 1],
      [3, 8, 9], [4, 8, 3], [5, 9, 4], [7, 15, 2], [8, 16, 33], [9, 17, 31], [12, 24, 8], [2, 40, 17],
    ];
    for (const [M, N, K] of shapes) {
      for (const [tA, tB] of combos) {
        for (const acc of [false, true]) check({ ...randomCase(rng, M, N, K), tA, tB, acc }, rng);
      }
    }
  });

  it('agrees across the cache blocks (K > 256, N > 512, K > 2048 for M ≤ 3) and on large M', () => {
    const rng = new Rng(3);
    const shapes: Array<[number, number, number]> = [
      [13, 520, 300], [70, 33, 530], [6, 515, 260], [130, 70, 40], [2, 9, 2100], [1, 600, 40], [3, 21, 9],
    ];
    for (const [M, N, K] of shapes) {
      for (const [tA, tB] of combos) check({ ...randomCase(rng, M, N, K), tA, tB, acc: rng.uniform() < 0.5 }, rng);
    }
  });

  it('K = 0 clears C (or leaves it, accumulating); M = 0 or N = 0 touches nothing', () => {
    const A = allocF32In(memory, 4), B = allocF32In(memory, 4), C = allocF32In(memory, 12);
    C.fill(5);
    wasm.gemm(false, false, 3, 4, 0, A, 0, 1, B, 0, 4, C, 0, 4, true);
    expect(Array.from(C)).toEqual(new Array(12).fill(5));
    wasm.gemm(false, false, 3, 4, 0, A, 0, 1, B, 0, 4, C, 0, 4, false);
    expect(Array.from(C)).toEqual(new Array(12).fill(0));
    C.fill(7);
    wasm.gemm(false, false, 0, 4, 2, A, 0, 2, B, 0, 4, C, 0, 4, false);
    wasm.gemm(false, false, 3, 0, 2, A, 0, 2, B, 0, 4, C, 0, 4, false);
    expect(Array.from(C)).toEqual(new Array(12).fill(7));
  });

  it('falls back to the reference, bit for bit, when an operand is not in the wasm memory', () => {
    const rng = new Rng(4);
    const M = 9, N = 11, K = 13;
    const A = allocF32In(memory, M * K), B = new Float32Array(K * N), C = allocF32In(memory, M * N);
    for (let i = 0; i < A.length; i++) A[i] = rng.normal();
    for (let i = 0; i < B.length; i++) B[i] = rng.normal();
    const R = new Float32Array(M * N);
    const before = { ...wasm.calls };
    wasm.gemm(false, true, M, N, K, A, 0, K, B, 0, K, C, 0, N, false);
    gemmReference(false, true, M, N, K, A, 0, K, B, 0, K, R, 0, N, false);
    expect(wasm.calls.reference).toBe(before.reference + 1);
    expect(wasm.calls.wasm).toBe(before.wasm);
    expect(Array.from(C)).toEqual(Array.from(R));
  });

  it('throws a RangeError naming the operand whose window leaves its array', () => {
    const A = allocF32In(memory, 12), B = allocF32In(memory, 12), C = allocF32In(memory, 9);
    expect(() => wasm.gemm(false, false, 3, 3, 4, A, 1, 4, B, 0, 3, C, 0, 3, false)).toThrow(/gemm: A is 3×4 at offset 1/);
    expect(() => wasm.gemm(false, true, 3, 3, 4, A, 0, 4, B, 0, 5, C, 0, 3, false)).toThrow(/gemm: B \(transposed\) is 3×4/);
    expect(() => wasm.gemm(false, false, 3, 3, 4, A, 0, 4, B, 0, 3, C, 1, 3, false)).toThrow(RangeError);
    expect(() => wasm.gemm(false, false, 3, 3, 2, A, 0, 2, B, 0, 3, C, 0, 2, false)).toThrow(/ldc/);
    expect(() => wasm.gemm(false, false, 1.5, 3, 2, A, 0, 2, B, 0, 3, C, 0, 3, false)).toThrow(/M, N, K must be non-negative integers/);
  });
});

/** One unit in the last place of float32 at |v| (normal range). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

describe('wasm sigmoid and tanh vs float64 Math', () => {
  const cases: Array<['sigmoid' | 'tanh', (x: number) => number]> = [
    ['sigmoid', (x) => 1 / (1 + Math.exp(-x))],
    ['tanh', Math.tanh],
  ];

  it.each(cases)('%s is within 4 ulp of the exact value over many magnitudes, and keeps NaN, ±Infinity, ±0', (name, exact) => {
    const rng = new Rng(8);
    const n = 20000;
    const x = allocF32In(memory, n);
    for (let i = 0; i < n; i++) {
      // Magnitudes from 1e-9 to ~100, both signs: the small-|x| and saturating regimes included.
      x[i] = (rng.uniform() < 0.5 ? -1 : 1) * 10 ** rng.range(-9, 2);
    }
    x.set([NaN, Infinity, -Infinity, 0, -0, 0.625, -0.625, 88, -88, 87.5, -87.5, 9.5, -9.5], 0);
    const src = x.slice();
    const before = wasm.calls.wasm;
    wasm[name](x, 0, n);
    expect(wasm.calls.wasm).toBe(before + 1);
    for (let i = 0; i < n; i++) {
      const want = exact(src[i]!);
      if (Number.isNaN(want)) {
        expect(x[i]).toBeNaN();
        continue;
      }
      if (name === 'tanh' && want === 0) expect(Object.is(x[i], want)).toBe(true); // tanh(±0) = ±0
      const err = Math.abs(x[i]! - want);
      if (!(err <= 4 * ulp32(want) || err < 2e-38)) {
        throw new Error(`${name}(${src[i]}) = ${x[i]}, exact ${want}: ${(err / ulp32(want)).toFixed(2)} ulp`);
      }
    }
  });

  it.each(cases)('%s works on [off, off+n) only, for every tail length, and falls back on heap arrays', (name) => {
    const rng = new Rng(9);
    for (let n = 0; n <= 9; n++) {
      for (const off of [0, 1, 3]) {
        const x = allocF32In(memory, off + n + 2);
        for (let i = 0; i < x.length; i++) x[i] = rng.range(-4, 4);
        const want = x.slice();
        referenceKernels[name](want, off, n);
        const heap = x.slice();
        wasm[name](x, off, n);
        wasm[name](heap, off, n); // not in the memory: the reference itself
        expect(Array.from(heap)).toEqual(Array.from(want));
        for (let i = 0; i < x.length; i++) {
          if (i < off || i >= off + n) expect(x[i]).toBe(want[i]); // untouched
          else expect(Math.abs(x[i]! - want[i]!)).toBeLessThanOrEqual(8 * ulp32(want[i]!));
        }
      }
    }
    const x = allocF32In(memory, 4);
    expect(() => wasm[name](x, 2, 3)).toThrow(new RegExp(`${name}: \\[2, 2\\+3\\) must lie inside the array's 4 floats`));
  });
});

describe('choosing the kernels', () => {
  it('useWasmKernels switches kernels.name and allocF32; useReferenceKernels switches back', () => {
    expect(useWasmKernels(memory)).toBe(true);
    expect(kernels.name).toBe('wasm-simd');
    expect(activeKernels()).toBe('wasm-simd');
    const before = wasm.calls.wasm;
    const x = allocF32In(memory, 4);
    x.set([1, 2, 3, 4]);
    const y = allocF32In(memory, 1);
    kernels.gemm(false, false, 1, 1, 4, x, 0, 4, x, 0, 1, y, 0, 1, false);
    expect(y[0]).toBe(30);
    expect(wasm.calls.wasm).toBe(before + 1);
    useReferenceKernels();
    expect(activeKernels()).toBe('reference');
    expect(kernels.gemm).toBe(gemmReference);
  });
});
});
