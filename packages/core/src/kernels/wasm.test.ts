// The WebAssembly kernels against the TypeScript reference (the oracle): the gemm over random
// and awkward shapes (testkit.ts), the gate nonlinearities against float64 Math. The same file
// runs again in a child vitest whose engine has relaxed SIMD (the relaxed-SIMD build then loads),
// with threads.test.ts (the same bits in worker threads).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { gemmReference } from './gemm.js';
import { kernels, referenceKernels, setKernels } from './index.js';
import { allocF32In, createSharedMemory, detachMemory } from './memory.js';
import { gemmAgreesWithReference, gemmOneColumnAndOneK } from './testkit.js';
import { activeKernels } from './choose.js';
import { loadWasmKernels, useReferenceKernels, useWasmKernels, wasmRelaxedSimd, wasmSimdSupported } from './wasm.js';

/** Set in the child run below, whose engine was given --experimental-wasm-relaxed-simd. */
const relaxedChild = process.env.WEFT_RELAXED_CHILD === '1';

const U = 2 ** -24; // unit roundoff of float32

afterAll(() => {
  setKernels(referenceKernels);
  detachMemory();
});

const memory = createSharedMemory(64);
const wasm = loadWasmKernels(memory);

describe('wasm gemm vs reference', () => {
  it('loads: SIMD is available here and the module is built', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(wasm.name).toBe('wasm-simd');
    if (relaxedChild) expect(wasmRelaxedSimd()).toBe(true);
    expect(wasm.detail).toBe(wasmRelaxedSimd() ? 'WebAssembly SIMD, relaxed fused multiply-add' : 'WebAssembly SIMD');
  });

  // Node 20 validates relaxed SIMD only behind a flag; Node 22 has it by default (then the
  // build under test above was already the relaxed one, and the child runs the plain one).
  it.skipIf(relaxedChild)('the other build of the module (relaxed SIMD or plain) passes these tests and the worker ones too', () => {
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const here = fileURLToPath(new URL('.', import.meta.url));
    const flagged = !wasmRelaxedSimd();
    const r = spawnSync(process.execPath, [
      vitest, 'run', `${here}wasm.test.ts`, `${here}threads.test.ts`,
      ...(flagged ? ['--execArgv=--experimental-wasm-relaxed-simd'] : []),
    ], {
      encoding: 'utf8', timeout: 600_000,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...(flagged ? { WEFT_RELAXED_CHILD: '1' } : { WEFT_WASM_RELAXED: '0', WEFT_RELAXED_CHILD: '' }) },
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/Test Files\s+2 passed/);
  });

  gemmAgreesWithReference({
    memory,
    gemm: wasm.gemm,
    ran: () => wasm.calls.wasm,
    fellBack: () => wasm.calls.reference,
    // The cache blocks of asm/gemm.ts: K > 256, N > 512, K > 2048 for M ≤ 3.
    blockShapes: [[13, 520, 300], [70, 33, 530], [6, 515, 260], [130, 70, 40], [2, 9, 2100], [1, 600, 40], [3, 21, 9]],
  });
  gemmOneColumnAndOneK({ memory, gemm: wasm.gemm });
});

/** One unit in the last place of float32 at |v| (normal range). */
function ulp32(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

describe('wasm sigmoid and tanh vs float64 Math', () => {
  const cases: Array<['sigmoid' | 'tanh', (x: number) => number]> = [
    ['sigmoid', (x) => 1 / (1 + Math.exp(-x))],
    ['tanh', Math.tanh],
  ];

  it.each(cases)('%s is within 4 ulp of the exact value over many magnitudes, and keeps NaN, ±Infinity, ±0', (name, exact) => {
    const rng = new Rng(8);
    const n = 20000;
    const x = allocF32In(memory, n);
    for (let i = 0; i < n; i++) {
      // Magnitudes from 1e-9 to ~100, both signs: the small-|x| and saturating regimes included.
      x[i] = (rng.uniform() < 0.5 ? -1 : 1) * 10 ** rng.range(-9, 2);
    }
    x.set([NaN, Infinity, -Infinity, 0, -0, 0.625, -0.625, 88, -88, 87.5, -87.5, 9.5, -9.5], 0);
    const src = x.slice();
    const before = wasm.calls.wasm;
    wasm[name](x, 0, n);
    expect(wasm.calls.wasm).toBe(before + 1);
    for (let i = 0; i < n; i++) {
      const want = exact(src[i]!);
      if (Number.isNaN(want)) {
        expect(x[i]).toBeNaN();
        continue;
      }
      if (name === 'tanh' && want === 0) expect(Object.is(x[i], want)).toBe(true); // tanh(±0) = ±0
      const err = Math.abs(x[i]! - want);
      if (!(err <= 4 * ulp32(want) || err < 2e-38)) {
        throw new Error(`${name}(${src[i]}) = ${x[i]}, exact ${want}: ${(err / ulp32(want)).toFixed(2)} ulp`);
      }
    }
  });

  it.each(cases)('%s works on [off, off+n) only, for every tail length, and falls back on heap arrays', (name) => {
    const rng = new Rng(9);
    for (let n = 0; n <= 9; n++) {
      for (const off of [0, 1, 3]) {
        const x = allocF32In(memory, off + n + 2);
        for (let i = 0; i < x.length; i++) x[i] = rng.range(-4, 4);
        const want = x.slice();
        referenceKernels[name](want, off, n);
        const heap = x.slice();
        wasm[name](x, off, n);
        wasm[name](heap, off, n); // not in the memory: the reference itself
        expect(Array.from(heap)).toEqual(Array.from(want));
        for (let i = 0; i < x.length; i++) {
          if (i < off || i >= off + n) expect(x[i]).toBe(want[i]); // untouched
          else expect(Math.abs(x[i]! - want[i]!)).toBeLessThanOrEqual(8 * ulp32(want[i]!));
        }
      }
    }
    const x = allocF32In(memory, 4);
    expect(() => wasm[name](x, 2, 3)).toThrow(new RegExp(`${name}: \\[2, 2\\+3\\) must lie inside the array's 4 floats`));
  });
});

describe('choosing the kernels', () => {
  it('useWasmKernels switches kernels.name and allocF32; useReferenceKernels switches back', () => {
    expect(useWasmKernels(memory)).toBe(true);
    expect(kernels.name).toBe('wasm-simd');
    expect(activeKernels()).toBe('wasm-simd');
    const before = wasm.calls.wasm;
    const x = allocF32In(memory, 4);
    x.set([1, 2, 3, 4]);
    const y = allocF32In(memory, 1);
    kernels.gemm(false, false, 1, 1, 4, x, 0, 4, x, 0, 1, y, 0, 1, false);
    expect(y[0]).toBe(30);
    expect(wasm.calls.wasm).toBe(before + 1);
    useReferenceKernels();
    expect(activeKernels()).toBe('reference');
    expect(kernels.gemm).toBe(gemmReference);
  });
});
