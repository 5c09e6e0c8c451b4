/**
 * No compiler, no problem: the install-time build of the native addon (packages/core/native/
 * build.mjs, @weft/core's `install` script) run on a copy of the native folder with a C compiler
 * that always fails (CC=false, CXX=false) exits 0 and says weft will run on WebAssembly; the real
 * CLI pointed at that failed build (WEFT_NATIVE_DIR) then trains on WebAssembly, saying once why
 * native is unavailable, and refuses `--kernels native` with the reason. And a build tuned for
 * Zen gives the default build's bits (below).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeAddon, nativeTurnedOff } from '@weft/core';
import { repoRoot } from './helpers/compare.js';
import { tempDir, weft } from './helpers/cli.js';

const NATIVE = path.join(repoRoot, 'packages/core/native');
const BENCH = ['bench', '--workload', 'rnn-small', '--workers', '1', '--steps', '1', '--warmup', '0', '--seconds', '0'];
const NOTICE = /^weft: native kernels unavailable \((.*)\); running WebAssembly SIMD kernels$/m;

/** The kernels column of `weft bench`'s one result row. */
function benchKernels(stdout: string): string | undefined {
  return stdout.split('\n').find((l) => l.startsWith('rnn-small'))?.trim().split(/\s+/).at(-1);
}

describe('a failed native build', () => {
  // What the package ships of its native folder (package.json "files"), without any build.
  const dir = tempDir('weft-native-');
  for (const f of ['binding.gyp', 'build.mjs', 'headers.mjs', 'csrc']) cpSync(path.join(NATIVE, f), path.join(dir, f), { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves the install script exiting 0, saying weft will run on WebAssembly, and no addon', () => {
    const r = spawnSync(process.execPath, [path.join(dir, 'build.mjs')], {
      cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CC: 'false', CXX: 'false', WEFT_NATIVE: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^weft native: not built: .*\(CC=false\); weft will run on its WebAssembly kernels/m);
    expect(existsSync(path.join(dir, 'build/Release/weft_native.node'))).toBe(false);
    expect(readFileSync(path.join(dir, 'build.log'), 'utf8')).toMatch(/^weft native: not built: /);
    // --strict (the build:native script) fails loudly instead.
    const strict = spawnSync(process.execPath, [path.join(dir, 'build.mjs'), '--strict'], {
      cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CC: 'false', CXX: 'false', WEFT_NATIVE: '' },
    });
    expect(strict.status).toBe(1);
  });

  it('leaves the CLI training on WebAssembly, with one line saying why native is unavailable', () => {
    const r = weft(BENCH, { env: { WEFT_NATIVE_DIR: dir, WEFT_NATIVE: '', WEFT_KERNELS: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(benchKernels(r.stdout)).toBe('wasm-simd');
    const notices = r.stderr.match(new RegExp(NOTICE.source, 'gm')) ?? [];
    expect(notices).toHaveLength(1);
    expect(r.stderr.match(NOTICE)![1]).toMatch(/^the addon is not built \(not built: .*\(CC=false\)\); build it with `pnpm --filter @weft\/core run build:native`$/);
  });

  it('makes --kernels native fail, naming the reason', () => {
    const r = weft([...BENCH, '--kernels', 'native'], { env: { WEFT_NATIVE_DIR: dir, WEFT_NATIVE: '', WEFT_KERNELS: '' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/native kernels are unavailable: the addon is not built \(not built: /);
  });

  it('says nothing when the native path is turned off on purpose (WEFT_NATIVE=0)', () => {
    const r = weft(BENCH, { env: { WEFT_NATIVE_DIR: dir, WEFT_NATIVE: '0', WEFT_KERNELS: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(benchKernels(r.stdout)).toBe('wasm-simd');
    expect(r.stderr).not.toMatch(/native/);
  });
});

describe.skipIf(nativeTurnedOff())('the native build of this checkout', () => {
  it("is what the CLI runs by default, and WEFT_KERNELS or --kernels choose another path", () => {
    expect(benchKernels(weft(BENCH, { env: { WEFT_KERNELS: '' } }).stdout)).toBe('native');
    expect(benchKernels(weft(BENCH, { env: { WEFT_KERNELS: 'wasm' } }).stdout)).toBe('wasm-simd');
    expect(benchKernels(weft([...BENCH, '--kernels', 'reference'], { env: { WEFT_KERNELS: 'wasm' } }).stdout)).toBe('reference');
  });
});

/**
 * The product's bits do not depend on how the compiler tunes: GCC tuned for Zen (-mtune=znver*,
 * what CFLAGS=-march=native gives on an AMD EPYC like this project's machines) leaves some chains
 * of multiply-adds unfused, and before gemm_impl.h wrote each one out (madd) its few-row and
 * one-column paths then differed from the packed path, and from a default build, by rounding.
 * A copy of the native folder built with CFLAGS=-mtune=znver3 must give every product of
 * helpers/product-bits.mjs the bits of this checkout's build, in every variant with FMA (the
 * portable variant's rounding follows the target, -mfma or not, not the tuning, and this
 * checkout may have been built for another target).
 */
const CC = (process.env.CC || 'cc').trim().split(/\s+/);
const tunesForZen = (() => {
  if (process.arch !== 'x64') return false;
  const v = spawnSync(CC[0]!, [...CC.slice(1), '--version'], { encoding: 'utf8' });
  if (v.status !== 0 || !/Free Software Foundation/.test(v.stdout) || /clang/i.test(v.stdout)) return false;
  return spawnSync(CC[0]!, [...CC.slice(1), '-mtune=znver3', '-E', '-x', 'c', '/dev/null'], { encoding: 'utf8' }).status === 0;
})();

const withFma = nativeTurnedOff() ? [] : (nativeAddon()?.variants ?? []).filter((v) => v !== 'generic');

describe.skipIf(withFma.length === 0 || !tunesForZen)(`a native build tuned for Zen (GCC, CFLAGS=-mtune=znver3; CC: ${CC.join(' ')})`, () => {
  let dir = '';
  beforeAll(() => {
    dir = tempDir('weft-native-tuned-');
    for (const f of ['binding.gyp', 'build.mjs', 'headers.mjs', 'csrc']) cpSync(path.join(NATIVE, f), path.join(dir, f), { recursive: true });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const bits = (nativeDir: string): Record<string, string> => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'test/helpers/product-bits.mjs')], {
      cwd: repoRoot, encoding: 'utf8', timeout: 120_000, env: { ...process.env, WEFT_NATIVE_DIR: nativeDir, WEFT_NATIVE: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const all = JSON.parse(r.stdout) as Record<string, string>;
    return Object.fromEntries(Object.entries(all).filter(([variant]) => variant !== 'generic'));
  };

  it('gives every product the bits of the default build, in every variant with FMA', () => {
    const build = spawnSync(process.execPath, [path.join(dir, 'build.mjs'), '--strict'], {
      cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CFLAGS: '-mtune=znver3', WEFT_NATIVE: '' },
    });
    expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
    const here = bits(NATIVE);
    for (const v of withFma) expect(Object.keys(here)).toContain(v);
    expect(bits(dir)).toEqual(here);
  }, 600_000);
});
