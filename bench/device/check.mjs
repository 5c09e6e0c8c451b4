// What the unit tests check here, checked on the device machine before its numbers are trusted
// (it may run a kernel variant this project's machine cannot, e.g. AVX-512): run by
// bench/device/run.sh from the bundle of bench/device/prepare.mjs, with no test runner there.
//
//  1. every native variant this CPU runs against the reference product: random shapes 1..37,
//     the cache blocks' edges (K > 256, M > 240, N > 1024), every transpose form, with and
//     without accumulate, operands at odd offsets and leading dimensions; each element within the
//     float32 error bound of its dot product (testkit.ts's bound), and C untouched outside its window;
//  2. each variant's LSTM cell kernels (forward and backward) give the WebAssembly kernels' bits;
//  3. the pool's promise on this many cores: a biLSTM with dropout and clipping trained 4 steps
//     with 1, 2, 4, 8 and 16 workers (16 shards) gives bit-identical weights on the native path.
//
// Prints one line per check and exits 1 if any failed.
import { availableParallelism } from 'node:os';
import {
  Rng, allocF32In, createSharedMemory, gemmReference, loadNativeKernels, loadWasmKernels, nativeAddon, nativeUnavailableReason,
  synthesizeWorkload, WORKLOADS,
} from '@weft/core';
import { Trainer } from '@weft/workers';

let failed = 0;
const report = (ok, what) => {
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

const addon = nativeAddon();
if (!addon) {
  console.log(`FAIL native addon unavailable: ${nativeUnavailableReason()}`);
  process.exit(1);
}
const U = 2 ** -24;
const FORMS = [[false, false], [false, true], [true, false], [true, true]];

function gemmCase(k, memory, rng, tA, tB, M, N, K, acc) {
  const [ar, ac] = tA ? [K, M] : [M, K];
  const [br, bc] = tB ? [N, K] : [K, N];
  const lda = ac + rng.int(5), ldb = bc + rng.int(5), ldc = N + rng.int(4);
  const offA = rng.int(5), offB = rng.int(5), offC = rng.int(5);
  const A = allocF32In(memory, offA + (ar - 1) * lda + ac), B = allocF32In(memory, offB + (br - 1) * ldb + bc);
  const C = allocF32In(memory, offC + (M - 1) * ldc + N + 4);
  for (const x of [A, B, C]) for (let i = 0; i < x.length; i++) x[i] = rng.range(-1, 1);
  const C0 = C.slice(), R = C.slice();
  const before = k.calls.native;
  k.gemm(tA, tB, M, N, K, A, offA, lda, B, offB, ldb, C, offC, ldc, acc);
  if (k.calls.native !== before + 1) return 'the product did not run natively';
  gemmReference(tA, tB, M, N, K, A, offA, lda, B, offB, ldb, R, offC, ldc, acc);
  const a = (i, p) => A[offA + (tA ? p * lda + i : i * lda + p)];
  const b = (p, j) => B[offB + (tB ? j * ldb + p : p * ldb + j)];
  const inside = new Set();
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      const at = offC + i * ldc + j;
      inside.add(at);
      let s = acc ? Math.abs(C0[at]) : 0;
      for (let p = 0; p < K; p++) s += Math.abs(a(i, p) * b(p, j));
      if (!(Math.abs(C[at] - R[at]) <= 2 * (K + 2) * U * s + 1e-30)) return `C[${i},${j}] ${C[at]} vs ${R[at]}`;
    }
  }
  for (let at = 0; at < C.length; at++) if (!inside.has(at) && !Object.is(C[at], C0[at])) return `C's buffer changed outside the window at ${at}`;
  return null;
}

for (const variant of addon.variants) {
  const memory = createSharedMemory(256);
  const k = loadNativeKernels(memory, variant);
  const rng = new Rng(7);
  const shapes = [];
  for (let n = 0; n < 200; n++) shapes.push([1 + rng.int(37), 1 + rng.int(37), 1 + rng.int(37)]);
  shapes.push([1, 1, 1], [13, 300, 530], [250, 37, 260], [487, 40, 20], [7, 1030, 20], [2, 9, 2100], [3, 301, 258],
    [32, 1024, 40], [30, 1040, 40], [64, 512, 128], [512, 256, 64]);
  let bad = null, cases = 0;
  for (const [M, N, K] of shapes) {
    for (const [tA, tB] of FORMS) {
      for (const acc of [false, true]) {
        const why = gemmCase(k, memory, rng, tA, tB, M, N, K, acc);
        if (why && !bad) bad = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×${K}${acc ? ' +=' : ''}: ${why}`;
        cases++;
      }
    }
  }
  report(bad === null, `native gemm (${variant}) vs reference: ${cases} cases${bad ? `; first failure ${bad}` : ''}`);

  // LSTM cells: the WebAssembly kernels' bits.
  const wasm = loadWasmKernels(memory);
  let same = true;
  for (const [rows, H] of [[1, 1], [3, 7], [4, 128], [5, 33]]) {
    const mk = (n) => { const x = allocF32In(memory, n); for (let i = 0; i < n; i++) x[i] = rng.range(-6, 6); return x; };
    const g = mk(rows * 4 * H), cp = mk(rows * H), c = mk(rows * H), h = mk(rows * H), out = mk(rows * H);
    const g2 = g.slice(), c2 = c.slice(), h2 = h.slice(), out2 = out.slice();
    const G2 = allocF32In(memory, g.length), C2 = allocF32In(memory, c.length), H2 = allocF32In(memory, h.length), O2 = allocF32In(memory, out.length);
    G2.set(g2); C2.set(c2); H2.set(h2); O2.set(out2);
    k.lstmForward(rows, H, g, 0, cp, 0, c, 0, h, 0, out, 0, H);
    wasm.lstmForward(rows, H, G2, 0, cp, 0, C2, 0, H2, 0, O2, 0, H);
    for (const [x, y] of [[g, G2], [c, C2], [h, H2], [out, O2]]) for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) same = false;
    const dOut = mk(rows * H), dh = mk(rows * H), dc = mk(rows * H), dz = mk(rows * 4 * H);
    const dh2 = allocF32In(memory, dh.length), dc2 = allocF32In(memory, dc.length), dz2 = allocF32In(memory, dz.length);
    dh2.set(dh); dc2.set(dc); dz2.set(dz);
    k.lstmBackward(rows, H, g, 0, cp, 0, c, 0, dOut, 0, H, dh, 0, dc, 0, dz, 0);
    wasm.lstmBackward(rows, H, g, 0, cp, 0, c, 0, dOut, 0, H, dh2, 0, dc2, 0, dz2, 0);
    for (const [x, y] of [[dh, dh2], [dc, dc2], [dz, dz2]]) for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) same = false;
  }
  report(same, `native LSTM cells (${variant}) give the WebAssembly bits`);
}

// The pool on this many cores: 1..16 workers, bit-identical weights.
const cores = availableParallelism();
const data = synthesizeWorkload('bilstm');
const model = { ...WORKLOADS.bilstm.model, dropout: 0.2 };
const rows = Int32Array.from({ length: 32 }, (_, i) => i);
let first = null;
for (const workers of [1, 2, 4, 8, 16].filter((w) => w <= Math.max(2, cores))) {
  const t = new Trainer({ model, optimizer: { name: 'adam', lr: 1e-3 }, batchSize: 32, shardSize: 2, clipNorm: 0.5, seed: 3, workers, kernels: 'native' });
  try {
    for (let s = 0; s < 4; s++) await t.trainStep(data, rows);
    const params = t.getParams();
    if (!first) first = params;
    let diff = -1;
    for (let i = 0; i < params.length && diff < 0; i++) if (!Object.is(params[i], first[i])) diff = i;
    report(diff < 0, `Trainer, ${workers} worker(s), native (${t.kernels}): ${diff < 0 ? 'the weights of 1 worker, bit for bit' : `first differing parameter ${diff}`}`);
  } finally {
    await t.close();
  }
}
process.exit(failed ? 1 : 0);
