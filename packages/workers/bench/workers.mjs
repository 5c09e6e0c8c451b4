#!/usr/bin/env node
/**
 * Benchmark of the worker pool on the reference workloads of WORKLOADS.md (not a test).
 *
 *   node packages/workers/bench/workers.mjs [--workloads bilstm,charlm,rnn-small]
 *        [--workers 1,2,4] [--steps 5] [--warmup 1] [--kernels auto|wasm|reference] [--json]
 *
 * Each (workload, worker count) runs in a fresh child process, so peak RSS is that run's own.
 * Prints median step time, tokens/s, GFLOP/s, efficiency tps(N) / (N · tps(1)) (relative to
 * the smallest worker count given), the per-step time at barriers + reduce (sync) and computing
 * shards, and peak RSS. The engine is `runWorkload` from @weft/workers (also behind `weft bench`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WORKLOADS, runWorkload } from '@weft/workers';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};

if (args[0] === '--child') {
  const [, name, workers, steps, warmup, kernels] = args;
  const r = await runWorkload(name, { workers: Number(workers), steps: Number(steps), warmup: Number(warmup), kernels });
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

const workloads = opt('workloads', 'bilstm,charlm,rnn-small').split(',');
const counts = opt('workers', '1,2').split(',').map(Number);
const steps = opt('steps', '5');
const warmup = opt('warmup', '1');
const kernels = opt('kernels', 'auto');
for (const w of workloads) if (!(w in WORKLOADS)) throw new RangeError(`unknown workload '${w}'; one of ${Object.keys(WORKLOADS).join(', ')}`);
for (const n of counts) if (!Number.isInteger(n) || n < 1) throw new RangeError(`--workers takes positive integers, got ${n}`);

function child(name, n) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child', name, String(n), steps, warmup, kernels], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (b) => (out += b));
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${name} with ${n} workers exited with ${code}`))));
  });
}

const results = [];
const f = (x, d = 1) => x.toFixed(d);
const row = (cells) => console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 12 : 10)).join(' '));
if (!args.includes('--json')) row(['workload', 'workers', 'kernels', 'step ms', 'tok/s', 'GFLOP/s', 'effic.', 'sync ms', 'compute', 'RSS MB']);
for (const name of workloads) {
  let base;
  for (const n of [...counts].sort((a, b) => a - b)) {
    const r = await child(name, n);
    base ??= r;
    const efficiency = r.tokensPerSecond / ((r.workers / base.workers) * base.tokensPerSecond);
    results.push({ ...r, efficiency });
    if (!args.includes('--json')) {
      row([name, r.workers, r.kernels, f(r.stepMs), Math.round(r.tokensPerSecond), f(r.gflops, 2), f(efficiency, 2), f(r.syncMs, 2), f(r.computeMs, 1), Math.round(r.peakRssMB)]);
    }
  }
}
if (args.includes('--json')) console.log(JSON.stringify(results, null, 2));
