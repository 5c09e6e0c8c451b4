// Microbenchmark: GFLOP/s of the TypeScript reference gemm and the WebAssembly SIMD gemm, one
// thread, on the products a recurrent layer makes; then the gate nonlinearities (ns per value). Needs the built package:
//
//   pnpm --filter @weft/core build && node packages/core/bench/gemm.mjs [--quick]
//
// Each figure is the median of RUNS timed runs (after a warm-up that lets V8 tier up), each run
// repeating the call until it lasts at least MIN_MS.
import { gemmReference } from '../dist/kernels/gemm.js';
import { referenceKernels } from '../dist/kernels/index.js';
import { allocF32In, createSharedMemory } from '../dist/kernels/memory.js';
import { loadWasmKernels } from '../dist/kernels/wasm.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 3 : 7;
const MIN_MS = quick ? 20 : 60;

// [label, transA, transB, M, N, K]. A layer with input I, output G·H over R = B·T rows:
//   forward    Z  = X·Wᵀ    NT  M=R    N=GH  K=I
//   backward   dX = dZ·W    NN  M=R    N=I   K=GH
//   backward   dW += dZᵀ·X  TN  M=GH   N=I   K=R
const CASES = [
  ['layer 64×256 · 256×512: Z = X·Wᵀ', false, true, 64, 512, 256],
  ['layer 64×256 · 256×512: dX = dZ·W', false, false, 64, 256, 512],
  ['layer 64×256 · 256×512: dW += dZᵀ·X', true, false, 512, 256, 64],
  ['layer R=4096, I=H=256, LSTM: Z = X·Wᵀ', false, true, 4096, 1024, 256],
  ['layer R=4096, I=H=256, LSTM: dW += dZᵀ·X', true, false, 1024, 256, 4096],
  ['step B=16, H=128, LSTM: h·W_hhᵀ', false, true, 16, 512, 128],
  ['step B=16, H=128, LSTM: dh = dZ·W_hh', false, false, 16, 128, 512],
  ['step B=64, H=256, LSTM: h·W_hhᵀ', false, true, 64, 1024, 256],
  ['step B=64, H=256, LSTM: dh = dZ·W_hh', false, false, 64, 256, 1024],
  ['step B=256, H=64, GRU: h·W_hhᵀ', false, true, 256, 192, 64],
  ['step B=32, H=32, RNN: h·W_hhᵀ', false, true, 32, 32, 32],
  ['step B=1, H=256, LSTM: h·W_hhᵀ', false, true, 1, 1024, 256],
];

const memory = createSharedMemory(256);
const wasm = loadWasmKernels(memory);

function operands(tA, tB, M, N, K) {
  const A = allocF32In(memory, M * K), B = allocF32In(memory, K * N), C = allocF32In(memory, M * N);
  for (const x of [A, B]) for (let i = 0; i < x.length; i++) x[i] = Math.random() - 0.5;
  return { A, B, C, lda: tA ? M : K, ldb: tB ? K : N, ldc: N };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** GFLOP/s of gemm on these operands (accumulating, so repeated calls are all real work). */
function measure(gemm, tA, tB, M, N, K, o) {
  const call = () => gemm(tA, tB, M, N, K, o.A, 0, o.lda, o.B, 0, o.ldb, o.C, 0, o.ldc, true);
  const t0 = performance.now();
  call();
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(1, Math.ceil(MIN_MS / once));
  for (let i = 0; i < Math.min(reps, 20); i++) call(); // warm-up: V8 tiers the code up
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    for (let i = 0; i < reps; i++) call();
    rates.push((2 * M * N * K * reps) / ((performance.now() - s) * 1e6));
  }
  return median(rates);
}

console.log(`gemm, one thread, GFLOP/s (median of ${RUNS}); Node ${process.version}`);
console.log(`${'product'.padEnd(44)} ${'form'.padEnd(4)} ${'M×N×K'.padEnd(16)} ${'reference'.padStart(9)} ${'wasm-simd'.padStart(9)} ${'speedup'.padStart(8)}`);
for (const [label, tA, tB, M, N, K] of CASES) {
  const o = operands(tA, tB, M, N, K);
  const ref = measure(gemmReference, tA, tB, M, N, K, o);
  const before = wasm.calls.wasm;
  const fast = measure(wasm.gemm, tA, tB, M, N, K, o);
  if (wasm.calls.wasm === before) throw new Error('the wasm path did not run');
  const form = (tA ? 'T' : 'N') + (tB ? 'T' : 'N');
  console.log(
    `${label.padEnd(44)} ${form.padEnd(4)} ${`${M}×${N}×${K}`.padEnd(16)} ${ref.toFixed(2).padStart(9)} ` +
    `${fast.toFixed(1).padStart(9)} ${`${(fast / ref).toFixed(0)}×`.padStart(8)}`,
  );
}

// Gate nonlinearities over one step's gates (B = 64 rows of 4H = 1024), in place. Inputs are
// refreshed from a copy before each call so the values stay in the gates' range.
const n = 64 * 1024;
const x = allocF32In(memory, n), src = new Float32Array(n);
for (let i = 0; i < n; i++) src[i] = (Math.random() - 0.5) * 8;
function nsPerValue(f) {
  const reps = 50;
  const rates = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const s = performance.now();
    for (let i = 0; i < reps; i++) { x.set(src); f(x, 0, n); }
    rates.push(((performance.now() - s) * 1e6) / (reps * n));
  }
  return median(rates.slice(1));
}
const copyOnly = nsPerValue(() => {});
console.log(`\n${'gates, 64×1024 values in place'.padEnd(44)} ${'ns/value: reference'.padStart(20)} ${'wasm-simd'.padStart(9)} ${'speedup'.padStart(8)}`);
for (const name of ['sigmoid', 'tanh']) {
  const ref = nsPerValue(referenceKernels[name]) - copyOnly;
  const fast = nsPerValue(wasm[name]) - copyOnly;
  console.log(`${name.padEnd(44)} ${ref.toFixed(2).padStart(20)} ${fast.toFixed(2).padStart(9)} ${`${(ref / fast).toFixed(0)}×`.padStart(8)}`);
}
