#!/usr/bin/env node
// Builds weft's native kernels addon (binding.gyp) with node-gyp, when @weft/core is installed and
// on every `pnpm build` (incrementally: make recompiles what changed). It can NEVER fail an
// install: without a compiler, make, Python or Node's headers it says in one line that weft will
// run on its WebAssembly kernels, writes why to native/build.log (kernels/native.ts repeats it
// when asked why the native path is unavailable) and exits 0. `--strict` (the build:native
// script) exits 1 on failure instead, for someone who asked for this build on purpose.
//
// WEFT_NATIVE=0 skips the build. node-gyp is the one npm or pnpm brings along (or any on PATH);
// Node's headers are taken from beside the running node (/usr/include/node for a distribution's
// Node, <prefix>/include/node for an official tarball) so that nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodedir } from './headers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const LOG = join(here, 'build.log');
const ADDON = join(here, 'build', 'Release', 'weft_native.node');
const strict = process.argv.includes('--strict');
const TIMEOUT_MS = 10 * 60 * 1000;
// pnpm runs this package's install script and the workspace's prepare (which builds every
// package, this one included) at the same time: one build at a time, the second then finds
// the first one's build up to date.
const LOCK = join(here, '.build-lock');

/** Waits for any other build of this folder to end, then holds the lock until this process exits. */
function lock() {
  const deadline = Date.now() + TIMEOUT_MS;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      process.on('exit', () => rmSync(LOCK, { recursive: true, force: true }));
      return;
    } catch (err) {
      if (err.code !== 'EEXIST') return; // cannot lock (read-only?): build anyway
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch { /* being created or removed */ }
    let alive = true;
    if (holder > 0) {
      try {
        process.kill(holder, 0);
      } catch (err) {
        alive = err.code === 'EPERM';
      }
    }
    if (!alive || Date.now() > deadline) rmSync(LOCK, { recursive: true, force: true }); // left by a killed build
    else Atomics.wait(nap, 0, 0, 200);
  }
}

/** Writes the log (the line starting 'weft native: ' is what native.ts quotes) and exits. */
function finish(ok, summary, details = '') {
  const line = `weft native: ${summary}`;
  try {
    writeFileSync(LOG, `${line}\n${details}`);
  } catch { /* a read-only install: the line below still says it */ }
  console.log(ok ? line : `${line}; weft will run on its WebAssembly kernels (details: ${LOG})`);
  process.exit(!ok && strict ? 1 : 0);
}

/** node-gyp's entry script, from the package manager running us, else beside node, else PATH. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const execpath = process.env.npm_execpath; // .../pnpm/bin/pnpm.cjs or .../npm/bin/npm-cli.js
  if (execpath) {
    candidates.push(join(dirname(execpath), '..', 'dist', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    candidates.push(join(dirname(execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(prefix, 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')); // Windows layout
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not a dependency */ }
  for (const c of candidates) if (c.endsWith('.js') && existsSync(c)) return { cmd: process.execPath, args: [c] };
  const which = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['node-gyp'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return { cmd: which.stdout.trim().split('\n')[0], args: [] };
  return null;
}

/** The most telling line of a failed build's output. */
function reasonOf(output) {
  const lines = output.split('\n').map((l) => l.trim()).filter(Boolean);
  const telling = [/^(?!gyp).*\berror:/i, /^make: \*\*\*/, /not found|No such file|command not found|cannot find/i, /^gyp ERR! stack Error:/, /^gyp ERR!/];
  for (const re of telling) {
    const l = lines.find((x) => re.test(x) && !/^gyp ERR! (cwd|node|System|command|not ok)/.test(x));
    if (l) return l.replace(/^gyp ERR! (stack )?/, '').slice(0, 240);
  }
  return lines.at(-1) ?? 'no output';
}

if (process.env.WEFT_NATIVE === '0') finish(false, 'skipped (WEFT_NATIVE=0)');
lock();

const gyp = findNodeGyp();
if (!gyp) finish(false, 'not built: node-gyp not found (it comes with npm and pnpm)');

const dir = nodedir();
const common = [...(dir ? [`--nodedir=${dir}`] : []), '--loglevel=warn'];
let log = `node ${process.version} on ${process.platform}-${process.arch}; node-gyp: ${[gyp.cmd, ...gyp.args].join(' ')}; ` +
  `headers: ${dir ? join(dir, 'include', 'node') : "node-gyp's own (may download)"}\n`;

function run(step) {
  const r = spawnSync(gyp.cmd, [...gyp.args, step, ...common], { cwd: here, encoding: 'utf8', timeout: TIMEOUT_MS, env: process.env });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  log += `\n$ node-gyp ${step} ${common.join(' ')}\n${out}`;
  return { ok: r.status === 0 && !r.error, out };
}

// Incremental when configured before (make recompiles what changed); a full rebuild otherwise,
// or when the incremental build fails (a different node, a stale configuration).
let result = existsSync(join(here, 'build', 'Makefile')) || existsSync(join(here, 'build', 'binding.sln')) ? run('build') : { ok: false, out: '' };
if (!result.ok) result = run('rebuild');
if (!result.ok) {
  rmSync(ADDON, { force: true }); // never leave a stale addon behind a failed build
  const cc = process.env.CC ? ` (CC=${process.env.CC})` : '';
  finish(false, `not built: ${reasonOf(result.out)}${cc}`, log);
}

// It built: does it load, and what does this CPU run?
const probe = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(ADDON)}).variants.join(', '))`], { encoding: 'utf8' });
if (probe.status !== 0) {
  rmSync(ADDON, { force: true });
  finish(false, `built but does not load: ${reasonOf(probe.stderr)}`, log);
}
finish(true, `built (${probe.stdout.trim()})`, log);
