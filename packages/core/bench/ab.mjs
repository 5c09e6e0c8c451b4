// Before/after of one training step on a shared, noisy machine: two builds of @weft/core
// imported side by side in ONE process, their steps alternated (LocalTrainer, one thread,
// WebAssembly kernels, or --kernels native: each build with its own addon) and timed by CPU time (the process is single-threaded, so that is the
// step's own), so that other jobs weigh on both builds alike. Also says whether the two ended
// with bit-identical weights.
//
//   node packages/core/bench/ab.mjs --before /path/to/old/packages/core/dist [--after packages/core/dist]
//        [--workloads bilstm,charlm,rnn-small] [--shards 16,1] [--steps 14] [--kernels wasm|native] [--json]
//
// The "before" build: e.g. `git archive <rev> packages/core | tar -x -C /tmp/old`, then build it,
// or copy an earlier packages/core/dist and wasm/ (the dist loads ../wasm/kernels.wasm).
import { loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const before = opt('before');
if (!before) throw new Error('--before <dist directory of the earlier build> is required');
const after = opt('after', path.join(path.dirname(new URL(import.meta.url).pathname), '../dist'));
const names = opt('workloads', 'bilstm,charlm,rnn-small').split(',');
const shardCounts = opt('shards', '16,1').split(',').map(Number);
const STEPS = Number(opt('steps', '14'));
const KERNELS = opt('kernels', 'wasm');
const load = async (dir) => import(pathToFileURL(path.resolve(dir, 'index.js')).href);
const builds = { before: await load(before), after: await load(after) };
for (const c of Object.values(builds)) c.useKernels(KERNELS); // throws, saying why, where the path cannot run
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

console.log(`before ${before}\nafter  ${after}\nkernels: ${Object.values(builds).map((c) => c.describeKernels()).join(' | ')}\nnode ${process.version}, ${STEPS} alternated steps after 2 warm-up; CPU ms per step (median, min)\n`);
for (const name of names) {
  for (const shards of shardCounts) {
    const runs = {};
    for (const [k, c] of Object.entries(builds)) {
      const w = c.workload(name);
      const data = c.synthesizeWorkload(name);
      const trainer = new c.LocalTrainer({ model: w.model, optimizer: { name: 'adam', lr: 1e-3 }, batchSize: w.batch, shardSize: Math.ceil(w.batch / shards), seed: 1 });
      const rows = Int32Array.from({ length: w.batch }, (_, i) => i);
      for (let i = 0; i < 2; i++) trainer.trainStep(data, rows);
      runs[k] = { trainer, data, rows, cpu: [] };
    }
    for (let i = 0; i < STEPS; i++) {
      for (const k of i % 2 ? ['after', 'before'] : ['before', 'after']) {
        const r = runs[k];
        const c0 = process.cpuUsage();
        r.trainer.trainStep(r.data, r.rows);
        const c1 = process.cpuUsage(c0);
        r.cpu.push((c1.user + c1.system) / 1000);
      }
    }
    const b = median(runs.before.cpu);
    const a = median(runs.after.cpu);
    const same = bytes(runs.before.trainer.runner.params).equals(bytes(runs.after.trainer.runner.params));
    const res = { workload: name, shards, beforeMs: b, afterMs: a, ratio: a / b, beforeMin: Math.min(...runs.before.cpu), afterMin: Math.min(...runs.after.cpu), bitIdentical: same, load: loadavg()[0] };
    console.log(`${name.padEnd(12)} shards ${String(shards).padStart(2)}  before ${b.toFixed(1).padStart(8)} (${res.beforeMin.toFixed(1)})  after ${a.toFixed(1).padStart(8)} (${res.afterMin.toFixed(1)})  after/before ${res.ratio.toFixed(3)}  ${same ? 'same weights' : 'weights differ'}  load ${res.load.toFixed(2)}`);
    if (args.includes('--json')) console.log(JSON.stringify(res));
  }
}
