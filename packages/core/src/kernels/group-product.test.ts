// kernels.gemmRows, the recurrent layers' per-step product over a group's rows, on every path this
// machine has (reference, WebAssembly SIMD, each native variant): for any segments (members' rows
// scattered through their own buffers, of any count, a segment that is the scratch rows itself, a
// lone segment of all M rows, more rows than the native product's 240-row blocks), every segment's rows of C get the
// bits of ONE plain product over the gathered rows at productRows(Σ rows) rows, padded with zero
// rows, and nothing else in any buffer changes. The native path hands the rows to its product as row
// pointers (and the test checks that it ran natively); the others run a segment of a multiple of 4
// rows as its own product in place and copy the rest through the caller's scratch rows.
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { gemmReference } from './gemm.js';
import { gemmRowsBy, productRows, RowSegments, type GemmRows } from './group-product.js';
import type { Gemm } from './index.js';
import { allocF32In, arenaAlloc, arenaUsage, createSharedMemory } from './memory.js';
import { loadNativeKernels, nativeAddon } from './native.js';
import { loadWasmKernels } from './wasm.js';

const memory = createSharedMemory(64);
const addon = nativeAddon();

interface Path {
  name: string; gemm: Gemm; gemmRows: GemmRows; small: boolean;
  /** The native path's call counts: a gemmRows call in the arena must run natively, once. */
  calls?: { readonly native: number; readonly reference: number };
}
const wasm = loadWasmKernels(memory);
const paths: Path[] = [
  { name: 'reference', gemm: gemmReference, gemmRows: gemmRowsBy(gemmReference, 0), small: true },
  { name: 'wasm-simd', gemm: wasm.gemm, gemmRows: wasm.gemmRows, small: false },
  ...(addon ? [...addon.variants, ...addon.testVariants] : []).map((v): Path => {
    const k = loadNativeKernels(memory, v);
    return { name: `native (${v})`, gemm: k.gemm, gemmRows: k.gemmRows, small: false, calls: k.calls };
  }),
];

/** Index of the first float whose bits differ, or -1 (vitest's deep equality is slow on large arrays). */
const firstDiff = (x: Float32Array, y: Float32Array): number => {
  if (x.length !== y.length) return Math.min(x.length, y.length);
  const a = new Uint32Array(x.buffer, x.byteOffset, x.length), b = new Uint32Array(y.buffer, y.byteOffset, y.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
};

const f32 = (n: number, rng: Rng, inArena = true): Float32Array => {
  const x = inArena ? allocF32In(memory, n) : new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.uniform() * 2 - 1;
  return x;
};

interface Layout {
  what: string;
  N: number;
  K: number;
  /** rows per segment */
  rows: number[];
  accumulate: boolean;
  /** C of segment i is the scratch rows (at its own rows), as a GRU forward's or a dropout backward's */
  cIsScratch?: boolean;
  /** segment i's A (and C) lie outside the arena */
  outside?: number;
  /** B's leading dimension (default N + 2); B starts 5 floats into its array */
  ldb?: number;
}

/**
 * Runs gemmRows on a layout and the plain product on the gathered rows; compares every segment's C
 * and checks that A, B and the bytes around each segment's rows are untouched.
 */
function check(p: Path, L: Layout, seed: number): void {
  const rng = new Rng(seed);
  const { N, K, accumulate } = L;
  const total = L.rows.reduce((a, b) => a + b, 0);
  const M = productRows(total);
  const lda = K + 3, ldc = N + 5; // rows further apart than their width
  const ldb = L.ldb ?? N + 2, bOff = 5;
  const B = f32(bOff + K * ldb, rng);
  const s = new RowSegments();
  const rowsA = f32(M * K, rng), rowsC = f32(M * N, rng);
  const segs = L.rows.map((n, i) => {
    const inArena = L.outside !== i;
    const a = f32(2 + n * lda + 7, rng, inArena);
    const c = L.cIsScratch ? rowsC : f32(3 + n * ldc + 9, rng, inArena);
    return { n, a, aOff: 2, c, cOff: L.cIsScratch ? -1 : 3 };
  });
  // The plain product over the gathered rows (zero rows past the segments').
  const A0 = new Float32Array(M * K), C0 = new Float32Array(M * N);
  let r = 0;
  for (const g of segs) {
    if (L.cIsScratch) g.cOff = r * N;
    const ldcG = L.cIsScratch ? N : ldc;
    for (let q = 0; q < g.n; q++, r++) {
      A0.set(g.a.subarray(g.aOff + q * lda, g.aOff + q * lda + K), r * K);
      C0.set(g.c.subarray(g.cOff + q * ldcG, g.cOff + q * ldcG + N), r * N);
    }
    s.add(g.a, g.aOff, g.c, g.cOff, g.n);
  }
  const Ag = allocF32In(memory, M * K), Cg = allocF32In(memory, M * N);
  Ag.set(A0);
  Cg.set(C0);
  p.gemm(false, false, M, N, K, Ag, 0, K, B, bOff, ldb, Cg, 0, N, accumulate);

  const before = segs.map((g) => ({ a: g.a.slice(), c: g.c.slice() }));
  const bCopy = B.slice();
  const calls0 = p.calls && { native: p.calls.native, reference: p.calls.reference };
  p.gemmRows(s, N, K, lda, L.cIsScratch ? N : ldc, B, bOff, ldb, accumulate, rowsA, rowsC);
  if (p.calls && L.outside === undefined) {
    expect(p.calls.native - calls0!.native, `${L.what}: native calls`).toBe(1);
    expect(p.calls.reference - calls0!.reference, `${L.what}: reference calls`).toBe(0);
  }

  expect(firstDiff(B, bCopy), `${L.what}: B`).toBe(-1);
  r = 0;
  segs.forEach((g, i) => {
    const ldcG = L.cIsScratch ? N : ldc;
    expect(firstDiff(g.a, before[i]!.a), `${L.what}: segment ${i}'s A`).toBe(-1);
    if (L.cIsScratch) return;
    // Outside the segment's rows its C is untouched; inside, each row has the gathered product's bits.
    const want = before[i]!.c.slice();
    for (let q = 0; q < g.n; q++) want.set(Cg.subarray((r + q) * N, (r + q + 1) * N), g.cOff + q * ldcG);
    expect(firstDiff(g.c, want), `${L.what}: segment ${i}'s C`).toBe(-1);
    r += g.n;
  });
  if (L.cIsScratch) expect(firstDiff(rowsC.subarray(0, total * N), Cg.subarray(0, total * N)), `${L.what}: the scratch rows`).toBe(-1);
}

const LAYOUTS: Layout[] = [
  { what: '16 members of 4 rows (bilstm forward)', N: 64, K: 16, rows: Array(16).fill(4), accumulate: true },
  { what: 'members of 1, 2, 3 rows, padded to 8', N: 24, K: 9, rows: [1, 2, 3], accumulate: true },
  { what: 'one member of 2 rows, padded to 4', N: 33, K: 8, rows: [2], accumulate: true },
  { what: 'a lone member of 8 rows, in place', N: 20, K: 12, rows: [8], accumulate: true },
  { what: 'overwriting C', N: 40, K: 7, rows: [3, 5, 1], accumulate: false },
  { what: 'an empty segment among others', N: 16, K: 16, rows: [4, 0, 3], accumulate: true },
  { what: 'members of 4 and 8 rows among others (in place and gathered)', N: 36, K: 20, rows: [4, 3, 8, 1, 4], accumulate: true },
  { what: 'the same, overwriting C', N: 36, K: 20, rows: [4, 3, 8, 1, 4], accumulate: false },
  { what: '40 one-row members (the native argument block grows past 16 segments)', N: 16, K: 8, rows: Array(40).fill(1), accumulate: true },
  { what: 'then 5 members again', N: 16, K: 8, rows: [2, 2, 2, 2, 2], accumulate: true },
  { what: "B's rows 4 KiB apart (packed, not read in place)", N: 1000, K: 24, rows: [4, 4, 3], accumulate: true, ldb: 1024 },
  { what: 'C is the scratch rows (GRU forward)', N: 30, K: 10, rows: [2, 3, 2], accumulate: true, cIsScratch: true },
  { what: 'C is the scratch rows, overwritten (dropout backward)', N: 12, K: 40, rows: [4, 4, 1], accumulate: false, cIsScratch: true },
  { what: 'one member outside the arena', N: 24, K: 8, rows: [3, 2], accumulate: true, outside: 1 },
];
// Past the native product's blocks of 240 rows (two blocks of A's row pointers, the second starting
// inside a member), narrow and wide (N past its 1024-column blocks).
const BIG: Layout[] = [
  { what: '300 rows in 7 members', N: 48, K: 32, rows: [40, 60, 20, 80, 50, 30, 20], accumulate: true },
  { what: 'wide rows, 260 of them', N: 4200, K: 100, rows: [130, 130], accumulate: true },
  { what: '270 rows over three blocks of K', N: 64, K: 600, rows: [100, 150, 20], accumulate: true },
  { what: '270 rows over three blocks of K, overwritten', N: 40, K: 520, rows: [3, 250, 17], accumulate: false },
];

describe('kernels.gemmRows: every segment gets the bits of one product over the gathered rows', () => {
  for (const p of paths) {
    it(p.name, () => {
      LAYOUTS.forEach((L, i) => check(p, L, 100 + i));
      if (!p.small) BIG.forEach((L, i) => check(p, L, 200 + i));
    });
  }
});

// (Only where the addon is built and on: WEFT_NATIVE=0 runs these files with no native path.)
const nativePaths = paths.filter((q) => q.name.startsWith('native'));
if (nativePaths.length > 0) describe('kernels.gemmRows: a segment whose rows do not fit its array is refused before anything is written', () => {
  for (const p of nativePaths) {
    it(p.name, () => {
      const rng = new Rng(7);
      const s = new RowSegments();
      const B = f32(8 * 8, rng);
      const a0 = f32(4 * 8, rng), c0 = f32(4 * 8, rng), a1 = f32(4 * 8, rng), c1 = f32(3 * 8, rng); // c1: a row short
      const c0Before = c0.slice();
      s.add(a0, 0, c0, 0, 4);
      s.add(a1, 0, c1, 0, 4);
      expect(() => p.gemmRows(s, 8, 8, 8, 8, B, 0, 8, true, f32(8 * 8, rng), f32(8 * 8, rng))).toThrow(/C is 4×8 at offset 0/);
      expect(c0).toEqual(c0Before);
    });
  }
});

// The argument block is allocated (and grown) in the arena on first use: when that allocation grows
// the memory, the block must be a view of the grown buffer (a view of the old one, made before the
// allocation, threw "Invalid typed array length" and a pool worker reported the step out of memory).
if (nativePaths.length > 0) describe('kernels.gemmRows: its argument block is allocated in a full arena, which must grow for it', () => {
  for (const v of [...addon!.variants, ...addon!.testVariants]) {
    it(`native (${v})`, () => {
      const rng = new Rng(8);
      const mem = createSharedMemory(1);
      const k = loadNativeKernels(mem, v);
      const N = 16, K = 8, n = 40;
      const fill = (x: Float32Array): Float32Array => {
        for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
        return x;
      };
      const B = fill(allocF32In(mem, K * N));
      const s = new RowSegments();
      const as: Float32Array[] = [], cs: Float32Array[] = [];
      for (let i = 0; i < n; i++) {
        as.push(fill(allocF32In(mem, K)));
        cs.push(fill(allocF32In(mem, N)));
        s.add(as[i]!, 0, cs[i]!, 0, 1);
      }
      const M = productRows(n);
      const rowsA = allocF32In(mem, M * K), rowsC = allocF32In(mem, M * N);
      // The plain product over the gathered rows (zero rows past the segments'), in the arena too:
      // each row gets its bits in gemmRows (rows-stable).
      const A = allocF32In(mem, M * K), C = allocF32In(mem, M * N);
      as.forEach((a, i) => A.set(a, i * K));
      cs.forEach((c, i) => C.set(c, i * N));
      const { used, byteLength } = arenaUsage(mem);
      const left = byteLength - used - 64; // nothing left for the block: its allocation grows the memory
      if (left > 0) arenaAlloc(mem, left);
      expect(byteLength - arenaUsage(mem).used).toBeLessThan(4 * (9 + 3 * n));
      const before = k.calls.native;
      k.gemmRows(s, N, K, K, N, B, 0, N, true, rowsA, rowsC);
      expect(mem.buffer.byteLength).toBeGreaterThan(byteLength);
      k.gemm(false, false, M, N, K, A, 0, K, B, 0, N, C, 0, N, true);
      expect(k.calls.native).toBe(before + 2);
      cs.forEach((c, i) => expect(firstDiff(c, C.subarray(i * N, (i + 1) * N))).toBe(-1));
    });
  }
});
