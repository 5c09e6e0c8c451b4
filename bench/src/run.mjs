// The combined bench: weft (both kernel paths, native and wasm, at 1..N workers), PyTorch (at
// 1..N cores, when it is importable) and TensorFlow.js 4.22 on the same reference workloads in the
// same run, each measurement in its own child process (its own threads and peak RSS, no JIT or
// heap left over from the one before), one after the other (never two timings at once).
//   pnpm bench -- --workloads bilstm,charlm,rnn-small --workers 1,2 --torch auto --tfjs none --markdown out.md
// The workloads (shapes, batch, sequence length) and the FLOP count are @weft/core's table
// (`workloadShape`): weft's runner reads it directly, the TF.js and PyTorch runners get it as JSON.
// Options: --workloads a,b  --workers 1,2 (weft workers = PyTorch cores)  --kernels native,wasm
//          --warmup 2 --steps 5 (weft and PyTorch)  --rounds 1 (the whole sequence again, the median kept)
//          --torch auto|on|none  --python PATH  --openblas-coretype auto|inherit|NAME
//          --tfjs wasm|cpu|none  --tfjs-warmup 1 --tfjs-steps 1  --markdown FILE  --json FILE
// PyTorch: the python is --python, else $WEFT_PYTHON, else the first of /usr/bin/python3 and
// python3 that imports torch. On N cores it gets OPENBLAS_NUM_THREADS and torch.set_num_threads
// set explicitly: 1 + 1 on one core; on N > 1 the better of (N torch threads, 1 OpenBLAS thread)
// and (1 torch thread, N OpenBLAS threads) (N + N oversubscribes the cores), and the row says which.
// TensorFlow.js is installed into bench/tfjs by the first run that asks for it (not by pnpm install).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { OptionError, badOption, closest, nativeAddon, nativeUnavailableReason, oneOf, workloadShape, WORKLOADS } from '@weft/core';
import { ensureTfjs } from './tfjs-install.mjs';
import { DEFAULT_PYTHONS, findTorch } from '../../scripts/find-torch.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const TFJS_BACKENDS = ['wasm', 'cpu', 'none'];
const TORCH_MODES = ['auto', 'on', 'none'];
/** weft's kernel paths that a row can run (choose.ts's paths). */
const KERNEL_PATHS = ['native', 'wasm', 'reference'];
/** The AVX-512 subsets OpenBLAS's SkylakeX kernels use: with all of them, auto sets OPENBLAS_CORETYPE=SkylakeX. */
const SKYLAKEX_FLAGS = ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

const OPTIONS = {
  workloads: { type: 'string', default: 'bilstm,charlm,rnn-small' },
  workers: { type: 'string', default: '1,2' },
  kernels: { type: 'string' },
  warmup: { type: 'string', default: '2' },
  steps: { type: 'string', default: '5' },
  rounds: { type: 'string', default: '1' },
  torch: { type: 'string', default: 'auto' },
  python: { type: 'string' },
  'openblas-coretype': { type: 'string', default: 'auto' },
  tfjs: { type: 'string', default: 'wasm' },
  'tfjs-warmup': { type: 'string', default: '1' },
  'tfjs-steps': { type: 'string', default: '1' },
  markdown: { type: 'string' },
  json: { type: 'string' },
};

/** An integer flag, at least `min`; refused with the flag's name and the text as given. */
function intFlag(text, flag, min) {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < min) badOption(flag, min === 0 ? 'a non-negative integer' : 'a positive integer', text);
  return n;
}

/** A comma list flag: every item present and none twice. */
function listFlag(text, flag) {
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) badOption(flag, 'a comma-separated list with no empty items', text);
  if (new Set(items).size !== items.length) badOption(flag, 'a list without repeats', text);
  return items;
}

/**
 * The command line, checked. Every bad flag is an OptionError naming it (`--workers`), what was
 * expected and, for a misspelt flag or choice, the closest valid one.
 */
export function parseOptions(argv) {
  let values;
  try {
    // `pnpm bench -- --x` hands the `--` through: drop it rather than read what follows as positionals.
    ({ values } = parseArgs({ args: argv.filter((a) => a !== '--'), options: OPTIONS }));
  } catch (e) {
    const unknown = /Unknown option '(--?[^']+)'/.exec(e.message)?.[1];
    if (unknown) {
      const near = closest(unknown.replace(/^-+/, ''), Object.keys(OPTIONS));
      throw new OptionError(`${unknown} is not an option of the bench${near ? `; did you mean --${near}?` : `; expected one of: ${Object.keys(OPTIONS).map((k) => `--${k}`).join(', ')}`}`, unknown, near && `--${near}`);
    }
    // parseArgs's other complaints (a flag without its value, a stray positional) name the flag.
    const flag = /Option '(--[\w-]+)/.exec(e.message)?.[1];
    throw new OptionError(`bench: ${e.message}`, flag ?? 'argv');
  }
  const workloads = listFlag(values.workloads, '--workloads');
  for (const w of workloads) oneOf(w, Object.keys(WORKLOADS), '--workloads');
  const kernels = values.kernels === undefined ? undefined : listFlag(values.kernels, '--kernels');
  for (const k of kernels ?? []) oneOf(k, KERNEL_PATHS, '--kernels');
  oneOf(values.torch, TORCH_MODES, '--torch');
  oneOf(values.tfjs, TFJS_BACKENDS, '--tfjs');
  const coretype = values['openblas-coretype'];
  if (coretype === '' || /[^A-Za-z0-9_]/.test(coretype)) badOption('--openblas-coretype', "'auto', 'inherit' or an OpenBLAS core name such as SkylakeX or Haswell", coretype);
  if (values.python === '') badOption('--python', 'the path of a python executable', values.python);
  return {
    workloads,
    workers: listFlag(values.workers, '--workers').map((n) => intFlag(n, '--workers', 1)),
    /** undefined: native and wasm, native left out (with a note) where its addon is missing. */
    kernels,
    warmup: intFlag(values.warmup, '--warmup', 0),
    steps: intFlag(values.steps, '--steps', 1),
    rounds: intFlag(values.rounds, '--rounds', 1),
    torch: values.torch,
    python: values.python,
    openblasCoretype: coretype,
    tfjs: values.tfjs,
    tfjsWarmup: intFlag(values['tfjs-warmup'], '--tfjs-warmup', 0),
    tfjsSteps: intFlag(values['tfjs-steps'], '--tfjs-steps', 1),
    markdown: values.markdown,
    json: values.json,
  };
}

/** The kernel paths the weft rows run: the ones asked for, or native (where built) and wasm. */
export function kernelPaths(asked, note = () => {}) {
  if (asked) {
    if (asked.includes('native') && !nativeAddon()) throw new Error(`--kernels native: the native kernels are unavailable here: ${nativeUnavailableReason()}`);
    return asked;
  }
  if (nativeAddon()) return ['native', 'wasm'];
  note(`bench: no weft native rows: ${nativeUnavailableReason()}`);
  return ['wasm'];
}

/** The pythons to try for PyTorch, in order: --python, else $WEFT_PYTHON, else the defaults. */
export function pythonCandidates(flag, env = process.env) {
  if (flag !== undefined) return [flag];
  if (env.WEFT_PYTHON) return [env.WEFT_PYTHON];
  return DEFAULT_PYTHONS;
}

/**
 * The thread splits PyTorch is measured with on `cores` cores: 1 + 1 on one; on more, all the cores
 * to torch's own threads with 1 OpenBLAS thread, and 1 torch thread with all the cores to OpenBLAS.
 */
export function torchConfigs(cores) {
  if (cores === 1) return [{ torchThreads: 1, blasThreads: 1 }];
  return [{ torchThreads: cores, blasThreads: 1 }, { torchThreads: 1, blasThreads: cores }];
}

export const configName = (c) => `${c.torchThreads} torch + ${c.blasThreads} OpenBLAS`;

/** The CPU as /proc/cpuinfo has it: model name and flags (empty where there is no /proc). */
export function cpuInfo(text = readProc('/proc/cpuinfo')) {
  const model = /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? 'unknown CPU';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/).filter(Boolean));
  return { model, flags };
}

function readProc(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * OPENBLAS_CORETYPE for the PyTorch processes (and them only): 'auto' is SkylakeX where the CPU
 * has the AVX-512 subsets it needs (OpenBLAS 0.3.21 otherwise may pick its AVX2 kernels, much
 * slower here), else what the environment has; 'inherit' is what the environment has; anything
 * else is that name. undefined: left unset, OpenBLAS picks by CPUID.
 */
export function openblasCoretype(option, flags, env = process.env) {
  if (option === 'inherit') return env.OPENBLAS_CORETYPE || undefined;
  if (option !== 'auto') return option;
  if (SKYLAKEX_FLAGS.every((f) => flags.has(f))) return 'SkylakeX';
  return env.OPENBLAS_CORETYPE || undefined;
}

/** Runs `cmd args` with `env`; resolves to { record: its last JSON line of stdout, stderr }. */
function child(cmd, args, env = process.env) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      // TensorFlow.js prints banners on stdout: take the last line that parses.
      const line = out.trim().split('\n').reverse().find((l) => l.startsWith('{'));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${err.trim().split('\n').slice(-15).join('\n')}`));
        return;
      }
      resolve({ record: JSON.parse(line), stderr: err });
    });
  });
}

const nodeChild = async (script, args) => (await child(process.execPath, [...process.execArgv, `${HERE}${script}`, ...args])).record;

/** Tokens/s and GFLOP/s of a median step time, by the shape's one FLOP count. */
export function rates(shape, stepMsMedian) {
  const tokensPerSecond = (shape.B * shape.T * 1000) / stepMsMedian;
  return { tokensPerSecond, gflops: (shape.flopsPerToken * tokensPerSecond) / 1e9 };
}

/**
 * One PyTorch measurement: bench/src/pytorch.py in a child process with the threads of `config`
 * (OPENBLAS_NUM_THREADS in its environment, torch.set_num_threads by flag), OPENBLAS_CORETYPE
 * when `coretype` is set, and OPENBLAS_VERBOSE=2 so that OpenBLAS prints the core it runs.
 */
export async function runTorch(python, shape, { config, coretype, warmup, steps }) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: `${config.blasThreads}`, OPENBLAS_VERBOSE: '2' };
  if (coretype === undefined) delete env.OPENBLAS_CORETYPE;
  else env.OPENBLAS_CORETYPE = coretype;
  const { record, stderr } = await child(python, [
    `${HERE}pytorch.py`, '--shape', JSON.stringify(shape), '--threads', `${config.torchThreads}`,
    '--warmup', `${warmup}`, '--steps', `${steps}`,
  ], env);
  return {
    ...record,
    ...rates(shape, record.stepMsMedian),
    workers: config.torchThreads === 1 ? config.blasThreads : config.torchThreads,
    config: configName(config),
    openblasEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OPENBLAS_'))),
    // OPENBLAS_VERBOSE=2: "Core: SkylakeX" on stderr, once the library has loaded.
    openblasVerboseCore: /Core:\s*(\S+)/.exec(stderr)?.[1] ?? null,
  };
}

const fmt = (x, digits) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const engineName = (r) => (r.engine === 'weft' ? `weft ${r.backend}` : r.engine === 'tfjs' ? `TF.js ${r.backend}` : `PyTorch (${r.config})`);

/**
 * weft native, weft wasm, PyTorch and TF.js side by side, tokens/s, one line per workload and
 * core count, with weft/PyTorch for each weft path. TF.js runs one thread: its figure stands on
 * the one-core line.
 */
export function sideBySide(rows) {
  const paths = [...new Set(rows.filter((r) => r.engine === 'weft').map((r) => r.backend))];
  const hasTorch = rows.some((r) => r.engine === 'pytorch');
  const tfjs = [...new Set(rows.filter((r) => r.engine === 'tfjs').map((r) => r.backend))];
  const head = ['workload', 'cores', ...paths.map((p) => `weft ${p}`), ...(hasTorch ? ['PyTorch', 'PyTorch threads'] : []), ...tfjs.map((b) => `TF.js ${b}`),
    ...(hasTorch ? paths.map((p) => `${p}/PyTorch`) : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const name of [...new Set(rows.map((r) => r.workload))]) {
    const mine = rows.filter((r) => r.workload === name);
    for (const n of [...new Set(mine.filter((r) => r.engine !== 'tfjs').map((r) => r.workers))]) {
      const weft = paths.map((p) => mine.find((r) => r.engine === 'weft' && r.backend === p && r.workers === n));
      const torch = mine.find((r) => r.engine === 'pytorch' && r.workers === n);
      const cells = [name, `${n}`, ...weft.map((r) => fmt(r?.tokensPerSecond, 0))];
      if (hasTorch) cells.push(fmt(torch?.tokensPerSecond, 0), torch?.config ?? '');
      for (const b of tfjs) cells.push(n === 1 ? fmt(mine.find((r) => r.engine === 'tfjs' && r.backend === b)?.tokensPerSecond, 0) : '(1 thread)');
      if (hasTorch) cells.push(...weft.map((r) => (r && torch ? `**${fmt(r.tokensPerSecond / torch.tokensPerSecond, 2)}**` : '–')));
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines.join('\n');
}

/** Every measurement: step time, sync, tokens/s, GFLOP/s, peak RSS; efficiency tps(N)/(N·tps(1)) per engine. */
export function detailTable(rows) {
  const lines = [
    '| workload | engine | cores | step ms | sync+reduce ms | tokens/s | GFLOP/s | peak RSS MB | efficiency |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const one = rows.find((o) => o.workload === r.workload && o.engine === r.engine && o.backend === r.backend && o.workers === 1);
    const eff = one && r.engine !== 'tfjs' ? `${fmt((100 * r.tokensPerSecond) / (r.workers * one.tokensPerSecond), 0)}%` : '';
    lines.push(`| ${r.workload} | ${engineName(r)} | ${r.workers} | ${fmt(r.stepMsMedian, 1)} | ${r.engine === 'weft' ? fmt(r.syncMsMedian, 2) : ''} | ${fmt(r.tokensPerSecond, 0)} | ${fmt(r.gflops, 2)} | ${fmt(r.peakRssMB, 0)} | ${eff} |`);
  }
  return lines.join('\n');
}

/**
 * The table's rows from every measurement of every round, in the order first measured: per
 * workload, engine, kernel path or thread split, and core count, the measurement of median step
 * time over the rounds (with `rounds`: each round's median step ms). PyTorch's row per core count
 * is then its best thread split (by that median), with `tried` listing each split's tokens/s.
 */
export function combine(measured) {
  const groups = new Map();
  for (const m of measured) {
    const key = [m.workload, m.engine, m.engine === 'pytorch' ? m.config : m.backend, m.workers].join('|');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(m);
  }
  const rows = [];
  for (const ms of groups.values()) {
    const sorted = [...ms].sort((a, b) => a.stepMsMedian - b.stepMsMedian);
    rows.push({ ...sorted[(sorted.length - 1) >> 1], rounds: ms.map((m) => m.stepMsMedian) });
  }
  const isTorch = (r) => r.engine === 'pytorch';
  const out = [];
  for (const r of rows) {
    if (!isTorch(r)) {
      out.push(r);
      continue;
    }
    const splits = rows.filter((o) => isTorch(o) && o.workload === r.workload && o.workers === r.workers);
    if (splits[0] !== r) continue; // the group's row is placed where its first split was measured
    const best = splits.reduce((a, b) => (b.tokensPerSecond > a.tokensPerSecond ? b : a));
    out.push({ ...best, tried: splits.map((o) => ({ config: o.config, tokensPerSecond: o.tokensPerSecond })) });
  }
  return out;
}

/** The run's circumstances, as Markdown bullets: machine, software, command, date, load, OpenBLAS. */
export function header(run) {
  const { cpu, argv, date, loadBefore, loadAfter, o, torch, coretype, rows, nativeVariant } = run;
  const avx512 = [...cpu.flags].filter((f) => f.startsWith('avx512')).sort();
  const yes = (f) => (cpu.flags.has(f) ? 'yes' : 'no');
  const torchRows = rows.filter((r) => r.engine === 'pytorch');
  const blas = torchRows.find((r) => r.openblas)?.openblas;
  const verboseCores = [...new Set(torchRows.map((r) => r.openblasVerboseCore).filter(Boolean))];
  const machineBlas = Object.entries(process.env).filter(([k]) => k.startsWith('OPENBLAS_')).map(([k, v]) => `${k}=${v}`);
  const lines = [
    `- **Machine**: ${cpu.model}, ${availableParallelism()} cores; AVX2 ${yes('avx2')}, FMA ${yes('fma')}, AVX-512 ${avx512.length ? avx512.join(' ') : 'no'} (/proc/cpuinfo); weft native kernels: ${nativeVariant ?? 'not built'}.`,
    `- **Software**: Node ${process.versions.node}${torch.python ? `; PyTorch ${torch.torch} (${torch.python})` : `; PyTorch not run (${torch.reason})`}${blas ? `; ${blas.config}` : ''}.`,
    `- **Command**: \`${argv}\``,
    `- **Date**: ${date}`,
    `- **Load average** (1, 5, 15 min): ${loadBefore} before, ${loadAfter} after.`,
    `- **Steps**: weft${torch.python ? ' and PyTorch' : ''} ${o.warmup} warm-up + ${o.steps} timed, median step time${o.rounds > 1 ? `; ${o.rounds} rounds of every measurement, interleaved, the round of median step time shown` : ''}${o.tfjs !== 'none' ? `; TF.js ${o.tfjs} ${o.tfjsWarmup} warm-up + ${o.tfjsSteps} timed` : ''}. Each measurement in a child process of its own, one at a time.`,
  ];
  if (torch.python) {
    lines.push(`- **OpenBLAS** (PyTorch processes only): OPENBLAS_NUM_THREADS set per row (the threads column), `
      + `${coretype ? `OPENBLAS_CORETYPE=${coretype}` : 'OPENBLAS_CORETYPE unset'} (--openblas-coretype ${o.openblasCoretype}); `
      + `this machine's environment: ${machineBlas.length ? machineBlas.join(', ') : 'no OPENBLAS_* set'}. `
      + `OpenBLAS then runs the **${verboseCores.join(', ') || blas?.core || 'unknown'}** kernels (OPENBLAS_VERBOSE=2; openblas_get_corename: ${blas?.core ?? 'unknown'}).`);
  }
  return lines.join('\n');
}

export async function main(argv) {
  const o = parseOptions(argv);
  const note = (msg) => process.stderr.write(`${msg}\n`);
  const paths = kernelPaths(o.kernels, note);
  let torch = { reason: '--torch none' };
  if (o.torch !== 'none') {
    torch = findTorch(pythonCandidates(o.python));
    if (!torch.python) {
      if (o.torch === 'on') throw new Error(`--torch on: no python with PyTorch: ${torch.reason}`);
      note(`bench: no PyTorch rows (${torch.reason}); --python PATH or WEFT_PYTHON names a python that has it`);
    }
  }
  const cpu = cpuInfo();
  const coretype = openblasCoretype(o.openblasCoretype, cpu.flags);
  if (o.tfjs !== 'none') ensureTfjs(note);
  const loadBefore = loadavg().map((x) => x.toFixed(2)).join(', ');
  const date = new Date().toISOString();
  const measured = [];
  for (let round = 1; round <= o.rounds; round++) {
    if (o.rounds > 1) note(`round ${round} of ${o.rounds}`);
    for (const name of o.workloads) {
      const shape = workloadShape(name);
      note(`${name}: B=${shape.B} T=${shape.T}`);
      for (const n of o.workers) {
        for (const k of paths) {
          const r = await nodeChild('weft.mjs', ['--workload', name, '--workers', `${n}`, '--kernels', k, '--warmup', `${o.warmup}`, '--steps', `${o.steps}`]);
          note(`  weft ${r.backend} ${n} worker(s): ${fmt(r.stepMsMedian, 1)} ms/step, ${fmt(r.tokensPerSecond, 0)} tokens/s (steps ${r.stepMs.map((t) => t.toFixed(0)).join(', ')})`);
          measured.push({ ...r, ...rates(shape, r.stepMsMedian) });
        }
        if (torch.python) {
          for (const config of torchConfigs(n)) {
            const r = await runTorch(torch.python, shape, { config, coretype, warmup: o.warmup, steps: o.steps });
            note(`  PyTorch ${r.config}: ${fmt(r.stepMsMedian, 1)} ms/step, ${fmt(r.tokensPerSecond, 0)} tokens/s (OpenBLAS core ${r.openblasVerboseCore ?? r.openblas?.core})`);
            measured.push(r);
          }
        }
      }
      if (o.tfjs !== 'none') {
        const r = await nodeChild('tfjs.mjs', ['--shape', JSON.stringify(shape), '--backend', o.tfjs, '--warmup', `${o.tfjsWarmup}`, '--steps', `${o.tfjsSteps}`]);
        note(`  TF.js ${o.tfjs}: ${fmt(r.stepMsMedian, 1)} ms/step`);
        measured.push({ ...r, ...rates(shape, r.stepMsMedian) });
      }
    }
  }
  const rows = combine(measured);
  const loadAfter = loadavg().map((x) => x.toFixed(2)).join(', ');
  const script = relative(process.cwd(), fileURLToPath(import.meta.url)) || 'run.mjs';
  const run = {
    cpu, o, torch, coretype, rows, date, loadBefore, loadAfter,
    argv: ['node', script, ...argv].join(' '),
    nativeVariant: nativeAddon()?.variants[0],
  };
  const text = `${header(run)}\n\n${sideBySide(rows)}\n\nEvery measurement:\n\n${detailTable(rows)}\n`;
  process.stdout.write(`\n${text}`);
  if (o.markdown) writeFileSync(o.markdown, text);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ ...run, cpu: { model: cpu.model, flags: [...cpu.flags] } }, null, 2)}\n`);
  return rows;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof OptionError ? e.message : e.stack ?? e}\n`);
    process.exitCode = e instanceof OptionError ? 2 : 1;
  }
}
