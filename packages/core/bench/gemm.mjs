// Microbenchmark: GFLOP/s of the TypeScript reference gemm, the WebAssembly SIMD gemm and the
// native addon's gemm (where built), one thread, on the products a recurrent layer makes; the
// cost of one call; then the gate nonlinearities (ns per value). Needs the built package:
//
//   pnpm --filter @weft/core build && node packages/core/bench/gemm.mjs [--quick] [--variant avx2|generic|...]
//
// Each figure is the median of RUNS timed runs (after a warm-up that lets V8 tier up), each run
// repeating the call until it lasts at least MIN_MS. On a shared machine wall time counts the
// time other processes hold the core, so the native column also gives GFLOP/s per second of
// this process's CPU time ("cpu"): what one core does while it runs this thread.
import { gemmReference } from '../dist/kernels/gemm.js';
import { referenceKernels } from '../dist/kernels/index.js';
import { allocF32In, createSharedMemory } from '../dist/kernels/memory.js';
import { loadWasmKernels } from '../dist/kernels/wasm.js';
import { loadNativeKernels, nativeAddon, nativeUnavailableReason } from '../dist/kernels/native.js';
import { loadavg } from 'node:os';

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
  ['input I=1, R=800: Z = X·W_ihᵀ', false, true, 800, 32, 1],
  ['input I=1, R=800: dW_ih += dZᵀ·X', true, false, 32, 1, 800],
  ['head O=1, R=800: y = H·W_outᵀ', false, true, 800, 1, 32],
];

const memory = createSharedMemory(256);
const wasm = loadWasmKernels(memory);
const variantArg = process.argv.indexOf('--variant');
const native = nativeAddon() ? loadNativeKernels(memory, variantArg > 0 ? process.argv[variantArg + 1] : undefined) : null;

function operands(tA, tB, M, N, K) {
  const A = allocF32In(memory, M * K), B = allocF32In(memory, K * N), C = allocF32In(memory, M * N);
  for (const x of [A, B]) for (let i = 0; i < x.length; i++) x[i] = Math.random() - 0.5;
  return { A, B, C, lda: tA ? M : K, ldb: tB ? K : N, ldc: N };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** GFLOP/s of gemm on these operands (accumulating, so repeated calls are all real work), by wall and by CPU time. */
function measure(gemm, tA, tB, M, N, K, o) {
  const call = () => gemm(tA, tB, M, N, K, o.A, 0, o.lda, o.B, 0, o.ldb, o.C, 0, o.ldc, true);
  const t0 = performance.now();
  call();
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(1, Math.ceil(MIN_MS / once));
  for (let i = 0; i < Math.min(reps, 20); i++) call(); // warm-up: V8 tiers the code up
  const wall = [], cpu = [];
  for (let r = 0; r < RUNS; r++) {
    const c = process.cpuUsage();
    const s = performance.now();
    for (let i = 0; i < reps; i++) call();
    const ms = performance.now() - s;
    const used = process.cpuUsage(c);
    const flop = 2 * M * N * K * reps;
    wall.push(flop / (ms * 1e6));
    cpu.push(flop / (((used.user + used.system) / 1000) * 1e6));
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** Nanoseconds per call of a 1×1×1 product: what a call costs beyond its arithmetic. */
function nsPerCall(gemm) {
  const o = operands(false, false, 1, 1, 1);
  const n = 200_000;
  const rates = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const s = performance.now();
    for (let i = 0; i < n; i++) gemm(false, false, 1, 1, 1, o.A, 0, 1, o.B, 0, 1, o.C, 0, 1, true);
    rates.push(((performance.now() - s) * 1e6) / n);
  }
  return median(rates.slice(1));
}

const load = loadavg().map((x) => x.toFixed(2)).join(' ');
console.log(`gemm, one thread, GFLOP/s (median of ${RUNS}); Node ${process.version}; load average ${load}`);
console.log(native ? `native: ${native.variant} (this CPU runs ${nativeAddon().variants.join(', ')})` : `native: unavailable (${nativeUnavailableReason()})`);
console.log(
  `${'product'.padEnd(44)} ${'form'.padEnd(4)} ${'M×N×K'.padEnd(16)} ${'reference'.padStart(9)} ${'wasm-simd'.padStart(9)} ` +
  `${'native'.padStart(7)} ${'(cpu)'.padStart(7)} ${'native/wasm'.padStart(11)}`,
);
for (const [label, tA, tB, M, N, K] of CASES) {
  const o = operands(tA, tB, M, N, K);
  const ref = measure(gemmReference, tA, tB, M, N, K, o).wall;
  const before = wasm.calls.wasm;
  const fast = measure(wasm.gemm, tA, tB, M, N, K, o).wall;
  if (wasm.calls.wasm === before) throw new Error('the wasm path did not run');
  let nat = null;
  if (native) {
    const was = native.calls.native;
    nat = measure(native.gemm, tA, tB, M, N, K, o);
    if (native.calls.native === was) throw new Error('the native path did not run');
  }
  const form = (tA ? 'T' : 'N') + (tB ? 'T' : 'N');
  console.log(
    `${label.padEnd(44)} ${form.padEnd(4)} ${`${M}×${N}×${K}`.padEnd(16)} ${ref.toFixed(2).padStart(9)} ` +
    `${fast.toFixed(1).padStart(9)} ${(nat ? nat.wall.toFixed(1) : '-').padStart(7)} ${(nat ? nat.cpu.toFixed(1) : '-').padStart(7)} ` +
    `${(nat ? `${(nat.wall / fast).toFixed(1)}×` : '-').padStart(11)}`,
  );
}
console.log(`\n${'cost of one 1×1×1 call, ns'.padEnd(44)} wasm-simd ${nsPerCall(wasm.gemm).toFixed(0)}` +
  (native ? `, native ${nsPerCall(native.gemm).toFixed(0)}` : ''));

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
