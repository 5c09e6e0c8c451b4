#!/usr/bin/env node
// The native kernels on arm64, built and tested from an x86-64 machine (Debian: apt install
// gcc-aarch64-linux-gnu qemu-user). No arm64 Node runs here, so the addon itself is only built;
// its kernels run in check.c, the same C:
//
//   1. the addon for arm64: every source of binding.gyp with its flags, by the cross compiler,
//      as a shared object (an AArch64 ELF; Node's symbols are resolved when Node loads it);
//   2. check.c with the portable kernels for this machine and for arm64 (NEON), the arm64 one
//      run under qemu: every product within its bound and alignment-free, and the cell kernels'
//      hashes the same line for line on both (the cells compute IEEE float32 step by step).
//
//   node packages/core/native/cross/cross.mjs
//
// Exit 0: all passed; 1: a check failed (what, on stderr); 3: a tool is missing (named), nothing
// was checked. src/kernels/native-arm64.test.ts runs this where the tools are.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodedir } from '../headers.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const native = join(here, '..');
const ELF_MACHINE_AARCH64 = 183;

/** Whether the command [cmd, ...args] runs. */
function found(cmd, ...args) {
  return spawnSync(cmd, [...args, '--version'], { encoding: 'utf8' }).status === 0;
}

class Failed extends Error {}

/** cmd's stdout; throws Failed with its failing lines and output's end where it does not exit 0. */
function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const out = r.stdout ?? '';
    const failing = out.split('\n').filter((l) => l.includes('FAIL')).join('\n');
    throw new Failed(`${what} failed (${cmd} ${args.join(' ')}):\n${r.stderr ?? ''}${failing}\n${out.slice(-1000)}${r.error ? r.error.message : ''}`);
  }
  return r.stdout;
}

// This machine's compiler: CC may be a command with arguments (`ccache gcc`).
const [ccCmd, ...ccArgs] = (process.env.CC || 'cc').split(' ');
const cross = 'aarch64-linux-gnu-gcc';
const qemu = ['qemu-aarch64', 'qemu-aarch64-static'].find((q) => found(q));
const headers = nodedir();
const missing = [
  ...(found(ccCmd, ...ccArgs) ? [] : [`${[ccCmd, ...ccArgs].join(' ')} (this machine's C compiler)`]),
  ...(found(cross) ? [] : [`${cross} (Debian: gcc-aarch64-linux-gnu)`]),
  ...(qemu ? [] : ['qemu-aarch64 (Debian: qemu-user)']),
  ...(headers ? [] : ["Node's headers (include/node beside node)"]),
];
if (missing.length) {
  process.stderr.write(`skipped: missing ${missing.join(', ')}\n`);
  process.exit(3);
}

// binding.gyp is JSON with comments ('#' lines): its sources and flags, said once there.
const gyp = JSON.parse(readFileSync(join(native, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '')).targets[0];
const sources = gyp.sources.map((s) => join(native, s));
const flags = gyp.cflags;
const out = mkdtempSync(join(tmpdir(), 'weft-cross-'));
try {
  // 1. The addon.
  const addon = join(out, 'weft_native.node');
  run(cross, [...flags, '-fPIC', '-shared', `-I${join(headers, 'include', 'node')}`, ...sources, '-o', addon], 'building the addon for arm64');
  const machine = readFileSync(addon).readUInt16LE(18);
  if (machine !== ELF_MACHINE_AARCH64) throw new Failed(`the arm64 addon is not an AArch64 object (ELF machine ${machine})`);
  console.log(`addon for arm64: built (${sources.length} sources, ${flags.join(' ')})`);

  // 2. The kernels, here and on arm64.
  const check = [join(here, 'check.c'), join(native, 'csrc', 'gemm_generic.c'), join(native, 'csrc', 'cells_generic.c')];
  run(ccCmd, [...ccArgs, ...flags, ...check, '-lm', '-o', join(out, 'check-host')], 'building check.c here');
  run(cross, [...flags, '-static', ...check, '-lm', '-o', join(out, 'check-arm64')], 'building check.c for arm64');
  const host = run(join(out, 'check-host'), [], 'check.c here').split('\n');
  const arm = run(qemu, [join(out, 'check-arm64')], 'check.c on arm64 (qemu)').split('\n');
  const cells = (lines) => lines.filter((l) => l.startsWith('cells '));
  const [h, a] = [cells(host), cells(arm)];
  const differ = h.map((l, i) => [l, a[i]]).filter(([x, y]) => x !== y);
  if (h.length === 0 || h.length !== a.length || differ.length) {
    throw new Failed(`cell kernels: arm64 differs from this machine (${differ.length} of ${h.length} cases), first: ${JSON.stringify(differ[0] ?? [h.length, a.length])}`);
  }
  const products = arm.filter((l) => l.startsWith('gemm ')).length;
  console.log(`kernels on arm64 (qemu): ${products} products within their bounds or with the bits they must have; ` +
    `${h.length} cell kernel cases with this machine's bits`);
} catch (err) {
  if (!(err instanceof Failed)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exitCode = 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
