// The WebAssembly exp and log (asm/fdlibm.ts, behind the loss kernels) against JavaScript's
// Math.exp and Math.log, the oracle the TypeScript reference uses: the same bits on every
// input tried (both the scalar routine and the two-lane vector form of exp), so the loss
// kernels can be bit-identical to their reference.
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { arenaAlloc, createSharedMemory } from './memory.js';
import { loadWasmKernels } from './wasm.js';

// `pnpm test` builds the WebAssembly module first; without it this file fails rather than skipping.
const W: ReturnType<typeof loadWasmKernels> | null = loadWasmKernels(createSharedMemory(64));

/** Bits of a double, NaNs of any payload counted as one value. */
function same(a: number, b: number): boolean {
  return Object.is(a, b);
}

/** Inputs: the edges of every branch of both routines, then random values over many scales. */
function inputs(rng: Rng, n: number, lo: number, hi: number): Float64Array {
  const f = new Float64Array(2);
  const u = new Uint32Array(f.buffer);
  const special: number[] = [0, -0, 1, -1, Infinity, -Infinity, NaN, 2, 0.5, Math.LN2 / 2, -Math.LN2 / 2, 1.5 * Math.LN2,
    -1.5 * Math.LN2, 708, -708, 709.782712893384, 709.79, -745.1332191019411, -745.14, -720, -1000, 1e-300, 5e-324,
    2.2250738585072014e-308, 1e-310, 2 ** -28, -(2 ** -28), 2 ** -29, 1 + 2 ** -20, 1 - 2 ** -21, Math.SQRT2, Math.SQRT1_2,
    Number.MAX_VALUE, -Number.MAX_VALUE];
  // Both sides of each high-word threshold the routines branch on.
  for (const hw of [0x3FD62E42, 0x3FD62E43, 0x3FF0A2B1, 0x3FF0A2B2, 0x3E2FFFFF, 0x3E300000, 0x40862E41, 0x40862E42]) {
    for (const low of [0, 0xFFFFFFFF, 0x80000000]) {
      u[0] = low; u[1] = hw;
      special.push(f[0]!, -f[0]!);
    }
  }
  const out = new Float64Array(special.length + n);
  out.set(special);
  for (let i = special.length; i < out.length; i++) {
    switch (i % 3) {
      case 0: out[i] = rng.range(lo, hi); break;
      case 1: out[i] = (rng.uniform() < 0.5 ? -1 : 1) * 2 ** rng.range(-40, 10); break;
      default: out[i] = Math.fround(rng.range(-30, 0)) - Math.fround(rng.range(-1, 1)); // a logit minus a max
    }
  }
  return out;
}

describe('fdlibm ports in WebAssembly vs Math.exp / Math.log', () => {
  it('expF64 gives Math.exp\'s bits (scalar routine)', () => {
    const x = inputs(new Rng(1), 400_000, -750, 750);
    let bad = 0;
    for (const v of x) if (!same(W!.math.expF64(v), Math.exp(v)) && bad++ < 5) console.error(`exp(${v})`);
    expect(bad).toBe(0);
  });

  it('the two-lane exp gives Math.exp\'s bits, including lanes sent to the scalar routine', () => {
    const x = inputs(new Rng(2), 600_001, -720, 720);
    const mem = W!.memory;
    const ptr = arenaAlloc(mem, 8 * x.length);
    const a = new Float64Array(mem.buffer, ptr, x.length);
    a.set(x);
    W!.math.expF64Array(ptr, x.length);
    let bad = 0;
    for (let i = 0; i < x.length; i++) {
      if (!same(a[i]!, Math.exp(x[i]!)) && bad++ < 5) console.error(`exp(${x[i]}) = ${a[i]}, Math.exp ${Math.exp(x[i]!)}`);
    }
    expect(bad).toBe(0);
  });

  it('logF64 gives Math.log\'s bits (positive, subnormal, zero, negative, inf, NaN)', () => {
    const rng = new Rng(3);
    const x = inputs(rng, 400_000, 0, 1000);
    let bad = 0;
    for (const v0 of x) {
      // Sums of exponentials are ≥ 1; cover them densely, and everything else.
      for (const v of [v0, Math.abs(v0), 1 + Math.abs(v0) * rng.uniform()]) {
        if (!same(W!.math.logF64(v), Math.log(v)) && bad++ < 5) console.error(`log(${v})`);
      }
    }
    expect(bad).toBe(0);
  });
});
