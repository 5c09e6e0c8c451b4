// Profile of one single-thread TRAINING STEP (LocalTrainer: shards → reduce → Adam update) on the
// reference workloads of shared/WORKLOADS.md, end to end, on the fastest kernels here (native, else
// WebAssembly) or those asked for. Needs the built package:
//
//   pnpm --filter @weft/core build && node packages/core/bench/step.mjs [options]
//
//   --workloads a,b,..   bilstm, charlm, rnn-small, bilstm-b256, charlm-b128 (default: the first three)
//   --shards k,..        shard counts to run each workload with (default 16,1: 16 is what the Trainer
//                        defaults to, ceil(B/16) sequences a shard; 1 is the whole batch in one shard)
//   --steps N            timed steps (default 5); --warmup W untimed steps first (default 2)
//   --kernels auto|native|wasm|reference   (default auto: WEFT_KERNELS, else native where built, else wasm)
//   --no-breakdown       skip the instrumented pass
//   --clock wall|cpu     what the breakdown times (default wall); cpu: this thread's CPU time, through
//                        the native addon (clock_gettime per kernel call, ~0.1–0.3 µs each): on a shared,
//                        loaded machine, time slices taken by other processes no longer land on whichever
//                        kernel was running. The step medians above the breakdown are wall time either way.
//   --json               one JSON line per result as well
//
// Prints, per workload and shard count: median step ms, tokens/s (B·T / step), GFLOP/s (WORKLOADS.md's
// count), then a breakdown from a SEPARATE instrumented pass (methods and kernels.gemm wrapped with
// timers, which adds a little overhead of its own; its total is shown next to the clean median):
//
//   fwd input projections      X·W_ihᵀ of all steps at once (gemm, bias rows; gather for tokens)
//   fwd step products          h·W_hhᵀ, one product per step over the rows of every shard of the group (gemmRows)
//   fwd cell gate math         the fused gate kernels, per step
//   fwd other (JS)             layouts, dropout, state copies, each step's segments of rows, the time loop
//   bwd step products          dz·W_hh per step
//   bwd cell gate math         gate derivatives per step
//   bwd weight/input products  dZᵀ·X, dZᵀ·H, dZ·W over all steps at once
//   bwd bias sums, scatter     column sums of dZ; dW_ih of one-hot inputs
//   bwd other (JS)
//   head + loss                linear head forward/backward, softmax CE / MSE (kernels.softmaxCrossEntropy,
//                              kernels.meanSquaredError: "of which loss kernel")
//   shard other                batch gathering, slot zeroing, binding
//   reduce                     phase B: sum of the shard slots + norm chunks
//   update                     phase C: Adam (kernels.adamUpdate: "of which optimizer kernel")
//
// and the products by form and shape (op(A)op(B) M×N×K): calls per step, ms per step and GFLOP/s,
// the costliest first (--gemm-shapes N: how many; default 8, 0 for none).
//
// Workload definitions mirror packages/workers/src/bench.ts (core must not import the pool).
// The machine may be shared: figures are medians; rerun for stability.
import {
  LocalTrainer, kernels, useKernels, activeKernels, describeKernels, WORKLOADS, workloadFlops, synthesizeWorkload,
  nativeAddon, nativeUnavailableReason,
} from '../dist/index.js';

import { loadavg } from 'node:os';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const flag = (name) => args.includes(`--${name}`);
const names = opt('workloads', 'bilstm,charlm,rnn-small').split(',');
const shardCounts = opt('shards', '16,1').split(',').map(Number);
const STEPS = Number(opt('steps', '5'));
const WARMUP = Number(opt('warmup', '2'));
const kernelChoice = opt('kernels', 'auto');
const breakdown = !flag('no-breakdown');
const json = flag('json');
const gemmShapes = Number(opt('gemm-shapes', '8'));
const clock = opt('clock', 'wall');
if (clock !== 'wall' && clock !== 'cpu') throw new RangeError(`--clock must be wall or cpu, got '${clock}'`);

// Before any model exists: buffers must be allocated in the kernels' memory.
useKernels(kernelChoice);

// The workloads, their FLOP count and their synthetic data: one table in @weft/core (train/workloads.ts).
const flops = (w) => workloadFlops(w.name);
const synthesize = (w) => synthesizeWorkload(w.name);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const addon = clock === 'cpu' ? nativeAddon() : null;
if (clock === 'cpu' && !addon) throw new Error(`--clock cpu needs the native addon: ${nativeUnavailableReason()}`);
const now = addon ? () => addon.threadCpuMs() : () => performance.now();
const wallNow = () => performance.now();

/** Wraps obj[name] so its time adds to acc[key] (and, while it runs, `ctx.phase` = key). */
function timeMethod(obj, name, acc, key, ctx) {
  const orig = obj[name];
  if (typeof orig !== 'function') return false;
  obj[name] = function (...a) {
    const prev = ctx.phase;
    ctx.phase = key;
    const t0 = now();
    try {
      return orig.apply(this, a);
    } finally {
      acc[key] = (acc[key] ?? 0) + now() - t0;
      ctx.phase = prev;
    }
  };
  return true;
}

/**
 * One instrumented step: returns ms per category. Every kernel of the table and the stack's
 * phases (reached through its TypeScript-private methods; a method the code no longer has is
 * simply not split out) are wrapped with timers.
 */
function instrumentedStep(trainer, data, rows) {
  const acc = {};
  const shapes = new Map(); // 'NT 4×512×128' → { calls, ms, flops }
  const ctx = { phase: 'none' };
  const add = (k, dt) => { acc[k] = (acc[k] ?? 0) + dt; };
  const runner = trainer.runner;
  const model = runner.model;
  const stack = model.stack;
  const inFwd = () => ctx.phase === 'fwd' || ctx.phase === 'fwdSteps';
  const inBwd = () => ctx.phase === 'bwd' || ctx.phase === 'bwdSteps';
  /** Category of one kernel call, from the kernel, the phase, and for gemm the shape. */
  const classify = (name, args) => {
    if (name === 'gemmRows') return ctx.phase === 'bwdSteps' ? 'bwd step gemm' : 'fwd step gemm'; // a group's lockstep
    if (name === 'gemm') {
      if (ctx.phase === 'fwdSteps') return 'fwd step gemm';
      if (ctx.phase === 'bwdSteps') return 'bwd step gemm';
      if (ctx.phase === 'fwd') return 'fwd proj';
      if (ctx.phase === 'bwd') return 'bwd big gemms';
      return 'head gemm';
    }
    if (/^(lstm|gru|rnn)Forward$/.test(name)) return 'fwd cells';
    if (/^(lstm|gru|rnn)Backward$/.test(name)) return 'bwd cells';
    if (name === 'softmaxCrossEntropy' || name === 'meanSquaredError') return 'loss kernel';
    if (/Update$/.test(name)) return 'optimizer kernel';
    if (inFwd()) return 'fwd proj'; // fillRows, gatherRows, transpose
    if (inBwd()) return 'bwd bias+scatter'; // sumRows, scatterAddRows
    return `${ctx.phase} ${name}`;
  };
  const origKernels = { ...kernels };
  for (const name of Object.keys(origKernels)) {
    const f = origKernels[name];
    if (typeof f !== 'function' || name === 'sigmoid' || name === 'tanh') continue;
    kernels[name] = (...a) => {
      const t0 = now();
      const r = f(...a); // the loss kernels return their sums
      const dt = now() - t0;
      add(classify(name, a), dt);
      if (name === 'gemm' || name === 'gemmRows') {
        // gemmRows: (segments, N, K, ...), one NN product of the segments' rows padded to a multiple of 4
        const [tA, tB, M, N, K] = name === 'gemm' ? a : [false, false, Math.max(4, Math.ceil(a[0].rows / 4) * 4), a[1], a[2]];
        const key = `${tA ? 'T' : 'N'}${tB ? 'T' : 'N'} ${M}×${N}×${K}`;
        const e = shapes.get(key) ?? { calls: 0, ms: 0, flops: 2 * M * N * K };
        e.calls++;
        e.ms += dt;
        shapes.set(key, e);
      }
      return r;
    };
  }
  const saved = [];
  const wrap = (obj, name, key) => {
    saved.push([obj, name, Object.prototype.hasOwnProperty.call(obj, name) ? obj[name] : undefined]);
    timeMethod(obj, name, acc, key, ctx);
  };
  // The stack's phases: a group's forward and backward (static), and the lead's lockstep steps (its own
  // stack: the first replica leads every group).
  const Stack = stack.constructor;
  wrap(runner, 'computeShards', 'shard');
  wrap(model.constructor, 'forwardBackwardGroup', 'fb');
  wrap(Stack, 'forwardGroup', 'fwd');
  wrap(Stack, 'backwardGroup', 'bwd');
  wrap(stack, 'forwardSteps', 'fwdSteps');
  wrap(stack, 'backwardSteps', 'bwdSteps');
  wrap(runner, 'reduceChunks', 'reduce');
  wrap(runner, 'updateChunks', 'update');
  const t0 = now();
  try {
    trainer.trainStep(data, rows);
  } finally {
    Object.assign(kernels, origKernels);
    for (const [obj, name, orig] of saved.reverse()) {
      if (orig === undefined) delete obj[name];
      else obj[name] = orig;
    }
  }
  const total = now() - t0;
  const g = (k) => acc[k] ?? 0;
  const fwdParts = ['fwd proj', 'fwd step gemm', 'fwd cells'];
  const bwdParts = ['bwd step gemm', 'bwd cells', 'bwd big gemms', 'bwd bias+scatter'];
  const sum = (ks) => ks.reduce((x, k) => x + g(k), 0);
  const out = {
    'fwd input projections': g('fwd proj'),
    'fwd step products': g('fwd step gemm'),
    'fwd cell gate math': g('fwd cells'),
    'fwd other (JS)': g('fwd') - sum(fwdParts), // the lockstep's gathering and scattering of rows among it
    'bwd step products': g('bwd step gemm'),
    'bwd cell gate math': g('bwd cells'),
    'bwd weight/input products': g('bwd big gemms'),
    'bwd bias sums, scatter': g('bwd bias+scatter'),
    'bwd other (JS)': g('bwd') - sum(bwdParts),
    'head + loss': g('fb') - g('fwd') - g('bwd'),
    '  of which head products': g('head gemm'),
    '  of which loss kernel': g('loss kernel'),
    'shard other': g('shard') - g('fb'),
    reduce: g('reduce'),
    update: g('update'),
    '  of which optimizer kernel': g('optimizer kernel'),
    'step other': total - g('shard') - g('reduce') - g('update'),
  };
  return { total, parts: out, shapes };
}

const rowsOut = [];
console.log(`kernels: ${describeKernels()}, node ${process.version}, ${STEPS} timed steps after ${WARMUP} warm-up; one thread; breakdown clock: ${clock}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
for (const name of names) {
  const w = WORKLOADS[name];
  if (!w) throw new RangeError(`unknown workload '${name}'; one of ${Object.keys(WORKLOADS).join(', ')}`);
  const data = synthesize(w);
  const rows = Int32Array.from({ length: w.batch }, (_, i) => i);
  for (const K of shardCounts) {
    const shardSize = Math.ceil(w.batch / K);
    const trainer = new LocalTrainer({ model: w.model, optimizer: { name: 'adam', lr: 1e-3 }, batchSize: w.batch, shardSize, seed: 1 });
    for (let i = 0; i < WARMUP; i++) trainer.trainStep(data, rows);
    const times = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = wallNow();
      trainer.trainStep(data, rows);
      times.push(wallNow() - t0);
    }
    const ms = median(times);
    const r = {
      workload: name, shards: Math.ceil(w.batch / shardSize), shardSize, params: trainer.layout.paramCount,
      stepMs: ms, tokensPerSecond: (w.batch * w.steps * 1000) / ms, gflops: flops(w) / (ms * 1e6),
      min: Math.min(...times),
    };
    rowsOut.push(r);
    console.log(
      `\n${name.padEnd(12)} shards ${String(r.shards).padStart(2)} × ${String(shardSize).padStart(3)}  ` +
      `step ${ms.toFixed(1).padStart(8)} ms (min ${r.min.toFixed(1)})  ${Math.round(r.tokensPerSecond).toLocaleString('en-US').padStart(10)} tok/s  ` +
      `${r.gflops.toFixed(2).padStart(6)} GFLOP/s  (${r.params.toLocaleString('en-US')} params)`,
    );
    if (breakdown) {
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(instrumentedStep(trainer, data, rows));
      const keys = Object.keys(runs[0].parts);
      const tot = median(runs.map((x) => x.total));
      console.log(`  breakdown (instrumented, median of 3; total ${tot.toFixed(1)} ms):`);
      for (const k of keys) {
        const v = median(runs.map((x) => x.parts[k]));
        console.log(`    ${k.padEnd(24)} ${v.toFixed(2).padStart(9)} ms  ${((100 * v) / tot).toFixed(1).padStart(5)}%`);
      }
      r.breakdown = Object.fromEntries(keys.map((k) => [k.trim(), median(runs.map((x) => x.parts[k]))]));
      if (gemmShapes > 0) {
        const mid = runs.map((x) => x.total).indexOf(tot) >= 0 ? runs[runs.map((x) => x.total).indexOf(tot)] : runs[0];
        const top = [...mid.shapes.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, gemmShapes);
        console.log(`  products by form and shape (the median pass; ${mid.shapes.size} shapes):`);
        for (const [key, e] of top) {
          console.log(
            `    ${key.padEnd(22)} ${String(e.calls).padStart(6)} calls ${e.ms.toFixed(2).padStart(9)} ms  ` +
            `${((100 * e.ms) / tot).toFixed(1).padStart(5)}%  ${((e.calls * e.flops) / (e.ms * 1e6)).toFixed(1).padStart(6)} GFLOP/s`,
          );
        }
        r.gemmShapes = top.map(([key, e]) => ({ shape: key, calls: e.calls, ms: e.ms }));
      }
    }
    if (json) console.log(JSON.stringify(r));
  }
}
