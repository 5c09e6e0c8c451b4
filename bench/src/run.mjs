// The combined bench: weft (1..N workers) and TensorFlow.js 4.22 on the same reference workloads
// in the same run, each measurement in its own child process (its own peak RSS, no JIT or heap
// left over from the one before), one after the other (never two timings at once).
//   pnpm bench -- --workloads bilstm,charlm,rnn-small --workers 1,2 --tfjs wasm --markdown out.md
// Options: --workloads a,b  --workers 1,2  --warmup 2 --steps 5 (weft)
//          --tfjs wasm|cpu|none  --tfjs-warmup 1 --tfjs-steps 1  --markdown FILE  --json FILE
// TensorFlow.js is installed into bench/tfjs by the first run that asks for it (not by pnpm install).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WORKLOADS, workload } from './workloads.mjs';
import { ensureTfjs } from './tfjs-install.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const TFJS_BACKENDS = ['wasm', 'cpu', 'none'];

const positiveInt = (option, text) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${option} must be a positive integer; got '${text}'`);
  return n;
};
const nonNegativeInt = (option, text) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`--${option} must be a non-negative integer; got '${text}'`);
  return n;
};

export function parseOptions(argv) {
  const { values } = parseArgs({
    // `pnpm bench -- --x` hands the `--` through: drop it rather than read what follows as positionals.
    args: argv.filter((a) => a !== '--'),
    options: {
      workloads: { type: 'string', default: 'bilstm,charlm,rnn-small' },
      workers: { type: 'string', default: '1,2' },
      warmup: { type: 'string', default: '2' },
      steps: { type: 'string', default: '5' },
      tfjs: { type: 'string', default: 'wasm' },
      'tfjs-warmup': { type: 'string', default: '1' },
      'tfjs-steps': { type: 'string', default: '1' },
      markdown: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const workloads = values.workloads.split(',').filter(Boolean);
  for (const w of workloads) workload(w); // throws a RangeError naming the valid ones
  if (!TFJS_BACKENDS.includes(values.tfjs)) {
    throw new RangeError(`--tfjs must be one of ${TFJS_BACKENDS.join(', ')}; got '${values.tfjs}'`);
  }
  return {
    workloads,
    workers: values.workers.split(',').filter(Boolean).map((n) => positiveInt('workers', n)),
    warmup: nonNegativeInt('warmup', values.warmup),
    steps: positiveInt('steps', values.steps),
    tfjs: values.tfjs,
    tfjsWarmup: nonNegativeInt('tfjs-warmup', values['tfjs-warmup']),
    tfjsSteps: positiveInt('tfjs-steps', values['tfjs-steps']),
    markdown: values.markdown,
    json: values.json,
  };
}

/** Runs `node script args` and resolves to the JSON object on its last JSON line of stdout. */
function child(script, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, `${HERE}${script}`, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      // TensorFlow.js prints banners on stdout: take the last line that parses.
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${script} ${args.join(' ')} exited ${code}:\n${err.trim().split('\n').slice(-15).join('\n')}`));
        return;
      }
      resolve(JSON.parse(line));
    });
  });
}

const fmt = (x, digits) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');

/** The results as one Markdown table: ratio weft/TF.js in tokens/s; efficiency tps(N)/(N·tps(1)). */
export function markdownTable(rows) {
  const lines = [
    '| workload | engine | workers | step ms | sync+reduce ms | tokens/s | GFLOP/s | peak RSS MB | weft/TF.js | efficiency |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const names = [...new Set(rows.map((r) => r.workload))];
  for (const name of names) {
    const mine = rows.filter((r) => r.workload === name);
    const tf = mine.find((r) => r.engine === 'tfjs');
    const one = mine.find((r) => r.engine === 'weft' && r.workers === 1);
    for (const r of mine) {
      const engine = r.engine === 'tfjs' ? `TF.js ${r.backend}` : `weft (${r.backend})`;
      const ratio = r.engine === 'weft' && tf ? `${fmt(r.tokensPerSecond / tf.tokensPerSecond, 1)}×` : '';
      const eff = r.engine === 'weft' && one ? `${fmt((100 * r.tokensPerSecond) / (r.workers * one.tokensPerSecond), 0)}%` : '';
      lines.push(`| ${name} | ${engine} | ${r.workers} | ${fmt(r.stepMsMedian, 1)} | ${r.engine === 'weft' ? fmt(r.syncMsMedian, 2) : ''} | ${fmt(r.tokensPerSecond, 0)} | ${fmt(r.gflops, 2)} | ${fmt(r.peakRssMB, 0)} | ${ratio} | ${eff} |`);
    }
  }
  return lines.join('\n');
}

export async function main(argv) {
  const o = parseOptions(argv);
  const loadBefore = loadavg()[0].toFixed(2);
  const rows = [];
  const note = (msg) => process.stderr.write(`${msg}\n`);
  if (o.tfjs !== 'none') ensureTfjs(note);
  for (const name of o.workloads) {
    const w = WORKLOADS[name];
    note(`${name}: B=${w.B} T=${w.T}`);
    for (const n of o.workers) {
      const r = await child('weft.mjs', ['--workload', name, '--workers', `${n}`, '--warmup', `${o.warmup}`, '--steps', `${o.steps}`]);
      if (Math.abs(r.gflopsReported - r.gflops) > 1e-6 * r.gflops) {
        note(`  warning: weft counts ${r.gflopsReported} GFLOP/s, flops.mjs ${r.gflops}: the two FLOP formulas disagree`);
      }
      note(`  weft ${n} worker(s): ${fmt(r.stepMsMedian, 1)} ms/step, ${fmt(r.tokensPerSecond, 0)} tokens/s (steps ${r.stepMs.map((t) => t.toFixed(0)).join(', ')})`);
      rows.push(r);
    }
    if (o.tfjs !== 'none') {
      const r = await child('tfjs.mjs', ['--workload', name, '--backend', o.tfjs, '--warmup', `${o.tfjsWarmup}`, '--steps', `${o.tfjsSteps}`]);
      note(`  TF.js ${o.tfjs}: ${fmt(r.stepMsMedian, 1)} ms/step, ${fmt(r.tokensPerSecond, 0)} tokens/s`);
      rows.push(r);
    }
  }
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  // The load average says whether other work shared the cores during the run (noisy numbers).
  const load = loadavg()[0].toFixed(2);
  const header = `Node ${process.versions.node}, ${availableParallelism()} cores (${cpu}); weft ${o.warmup} warm-up + ${o.steps} timed steps, `
    + `TF.js ${o.tfjs} ${o.tfjsWarmup} warm-up + ${o.tfjsSteps} timed; median step time; load average (1 min) ${loadBefore} before, ${load} after.`;
  const table = markdownTable(rows);
  process.stdout.write(`\n${header}\n\n${table}\n`);
  if (o.markdown) writeFileSync(o.markdown, `${header}\n\n${table}\n`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(rows, null, 2)}\n`);
  return rows;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
