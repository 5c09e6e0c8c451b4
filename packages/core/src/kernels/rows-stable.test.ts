// Row stability of the per-step product, on every kernel path this machine has (reference,
// WebAssembly SIMD, each native variant): the bits of row r of C = A·op(B) (+ C) depend only on
// row r of A (and of C when accumulating), on B, N and K, and not on how many other rows are in
// the product or which ones, whenever the row count M is one the recurrent stack runs a step with
// (kernels/group-product.ts `productRows`: a multiple of 4). What lets the stack run the shards of a group
// as one product per step (RecurrentStack.forwardGroup), or cut it into products of fewer rows
// (the WebAssembly path's kernels.gemmRows), and get the bits of each shard's own product.
//
// Each check runs one product of M_big rows (64, 200, 256 and 496: past the native product's
// 240-row blocks), then products of sub-ranges of its rows,
// each copied into buffers of its own, and compares bits. Shapes are those of the per-step
// products: W_hh (N = 4H, K = H; GRU N = 3H), its gradient side (N = H, K = 4H), an odd H, with
// op(B) = B and Bᵀ, a dense B and one whose rows are WHH_PAD floats longer (the stack's padded copy
// of W_hhᵀ forward, of W_hh backward), with and without accumulate.
//
// KNOWN EXCEPTION, excluded from the property below and pinned by a test that they do differ: on the
// WebAssembly path a row's bits depend on whether it lies in a full 4-row tile of the product
// (asm/gemm.ts: micro4x8) or in the M mod 4 rows left over (micro2x8/micro1x8, which split k into
// even and odd partial sums). So there only M a multiple of 4 is row-stable, and M_big must be
// one too: M = 9, 10, 11, 13, 14, 15, 31, ... differ in their last M mod 4 rows, on every shape
// here, both transposes, with and without accumulate (and in the relaxed-SIMD build alike).
// (Measured, not asserted: native is row-stable for every M ≥ 4, 5..7 included, whatever M_big ≥ 4;
// M ≤ 3, a matrix-vector product on both fast paths, differs.)
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { WHH_PAD } from '../stack/scratch.js';
import { gemmReference } from './gemm.js';
import type { Gemm } from './index.js';
import { allocF32In, createSharedMemory } from './memory.js';
import { loadNativeKernels, nativeAddon, nativeUnavailableReason } from './native.js';
import { loadWasmKernels } from './wasm.js';

const memory = createSharedMemory(64);

interface Path {
  name: string;
  gemm: Gemm;
  /** The padded row counts this path is row-stable for (see the known exception above). */
  stable(m: number): boolean;
  /** The shapes it is checked on, by N·K: all, except on the slow reference (a row at a time by construction). */
  maxNK: number;
}

const padded = (m: number) => m === 4 || m === 8 || m >= 9;

const addon = nativeAddon();
const paths: Path[] = [
  { name: 'reference', gemm: gemmReference, stable: padded, maxNK: 8192 },
  { name: 'wasm-simd', gemm: loadWasmKernels(memory).gemm, stable: (m) => padded(m) && m % 4 === 0, maxNK: Infinity },
  ...(addon ? [...addon.variants, ...addon.testVariants] : []).map((v): Path => ({
    name: `native (${v})`, gemm: loadNativeKernels(memory, v).gemm, stable: padded, maxNK: Infinity,
  })),
];

/** [what, N, K] of the per-step products. */
const SHAPES: Array<[string, number, number]> = [];
for (const H of [32, 128, 256]) {
  SHAPES.push([`LSTM W_hh H=${H}`, 4 * H, H], [`LSTM dh H=${H}`, H, 4 * H], [`GRU W_hh H=${H}`, 3 * H, H]);
}
SHAPES.push(['LSTM W_hh H=37', 4 * 37, 37]);

const M_BIGS = [64, 200, 256, 496];
/** Row counts of the sub-products (those ≤ M_big, and < M_big: M_big itself is the same call). */
const SIZES = [4, 8, 9, 12, 13, 16, 17, 31, 32, 33, 64, 100, 127];

interface Config { N: number; K: number; tB: boolean; acc: boolean; ldb: number }

function configs(N: number, K: number): Config[] {
  const out: Config[] = [];
  for (const tB of [false, true]) {
    const cols = tB ? K : N;
    for (const acc of [false, true]) for (const ldb of [cols, cols + WHH_PAD]) out.push({ N, K, tB, acc, ldb });
  }
  return out;
}

/** Arena buffers for one shape's checks, sized for the largest configuration (the arena never frees). */
function buffers(N: number, K: number) {
  const mBig = Math.max(...M_BIGS);
  const f = (n: number) => allocF32In(memory, n);
  return {
    B: f(Math.max(K * (N + WHH_PAD), N * (K + WHH_PAD))),
    A: f(mBig * K), C0: f(mBig * N), C: f(mBig * N), a: f(mBig * K), sub: f(mBig * N),
  };
}

/**
 * Runs one configuration through `gemm`: the product of M_big rows, then, for each size m the
 * predicate keeps, the product of m of its rows (copied to buffers of their own), starting at the
 * first row, an unaligned one (1, 3), a random one or the last m, in turn. Returns a line per
 * sub-product whose bits differ, naming the first element that does.
 */
function checkRows(gemm: Gemm, c: Config, buf: ReturnType<typeof buffers>, mBig: number, sizes: number[], rng: Rng): string[] {
  const { N, K, tB, acc, ldb } = c;
  const { B, A, C0, C, a, sub } = buf;
  for (let i = 0; i < (tB ? N : K) * ldb; i++) B[i] = rng.range(-1, 1);
  for (let i = 0; i < mBig * K; i++) A[i] = rng.range(-1, 1);
  for (let i = 0; i < mBig * N; i++) C0[i] = rng.range(-1, 1);
  C.set(C0);
  gemm(false, tB, mBig, N, K, A, 0, K, B, 0, ldb, C, 0, N, acc);

  const failures: string[] = [];
  sizes.forEach((m, s) => {
    const turn = (s + mBig) % 5;
    const r0 = turn < 3 ? [0, 1, 3][turn]! : turn === 3 ? rng.int(mBig - m + 1) : mBig - m;
    a.set(A.subarray(r0 * K, (r0 + m) * K));
    if (acc) sub.set(C0.subarray(r0 * N, (r0 + m) * N));
    else sub.fill(NaN); // every element must be written
    gemm(false, tB, m, N, K, a, 0, K, B, 0, ldb, sub, 0, N, acc);
    for (let i = 0; i < m * N; i++) {
      if (!Object.is(sub[i], C[r0 * N + i])) {
        const r = Math.floor(i / N), j = i % N;
        failures.push(
          `N=${N} K=${K} transB=${tB} ldb=${ldb} accumulate=${acc} M_big=${mBig}: rows [${r0}, ${r0 + m}) (M=${m}), ` +
          `row ${r0 + r} col ${j}: ${sub[i]} alone, ${C[r0 * N + i]} in the big product`,
        );
        break;
      }
    }
  });
  return failures;
}

function checkShape(path: Path, N: number, K: number, seed: number, keep: (m: number) => boolean): string[] {
  const rng = new Rng(seed);
  const buf = buffers(N, K);
  const failures: string[] = [];
  for (const c of configs(N, K)) {
    for (const mBig of M_BIGS) failures.push(...checkRows(path.gemm, c, buf, mBig, SIZES.filter((m) => m < mBig && keep(m)), rng));
  }
  return failures;
}

for (const path of paths) {
  describe(`row stability of the per-step product: ${path.name}`, () => {
    SHAPES.forEach(([what, N, K], s) => {
      if (N * K > path.maxNK) return;
      it(`${what} (N=${N}, K=${K}): each row of a product of ${SIZES.filter(path.stable).join(', ')} rows has the bits it has in one of ${M_BIGS.join(' or ')} rows`, () => {
        expect(checkShape(path, N, K, 1000 + s, path.stable)).toEqual([]);
      });
    });
  });
}

// The known exception, pinned: every shape has rows that differ at these sizes. Where the
// WebAssembly product becomes row-stable for them, this fails: then the exception above (and
// wasm-simd's stable()) should go.
const wasmPath = paths.find((p) => p.name === 'wasm-simd')!;
const wasmUnstable = (m: number) => padded(m) && !wasmPath.stable(m);
it(`wasm-simd: row counts of 9 or more that are not multiples of 4 (${SIZES.filter(wasmUnstable).join(', ')}) are NOT row-stable`, () => {
  for (const [what, N, K] of SHAPES) {
    expect(checkShape(wasmPath, N, K, 7, wasmUnstable).length, what).toBeGreaterThan(0);
  }
});

if (!addon) {
  it.skip(`native: unavailable here (${nativeUnavailableReason()})`, () => {});
}
