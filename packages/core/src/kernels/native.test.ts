// The native kernels (packages/core/native): the addon's gemm in every variant this CPU runs (and
// the test-only AVX-512 code compiled for AVX2) against the reference; its cell kernels and gate
// nonlinearities against the WebAssembly ones (the same bits, by design: cells_impl.h); the same
// bits wherever the operands lie in the arena and on whichever thread (what keeps workers
// deterministic); the arena never moving under the addon; and choosing the path (useKernels,
// WEFT_KERNELS).
//
// Where the addon is not built these tests FAIL, saying why, unless WEFT_NATIVE=0 says the native
// path is off on purpose (then they are skipped).
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OptionError } from '../options/errors.js';
import { Rng } from '../rng.js';
import { activeKernels, describeKernels, resolveKernels, useKernels } from './choose.js';
import { gemmReference } from './gemm.js';
import { kernels, referenceKernels, setKernels } from './index.js';
import { allocF32, allocF32In, arenaAlloc, arenaUsage, createSharedMemory, detachMemory, PAGE_BYTES } from './memory.js';
import { loadWasmKernels } from './wasm.js';
import { loadNativeKernels, nativeAddon, nativeTurnedOff, nativeUnavailableReason } from './native.js';
import {
  TRANSPOSE_PAIRS, checkGemmCase, gemmAgreesWithReference, gemmOneColumnAndOneK, gemmOperands, randomGemmCase, spawnKernelWorker, transparentHugePagesOn, vmFlagsAt,
  type GemmCase,
} from './testkit.js';

const off = nativeTurnedOff();
const addon = off ? null : nativeAddon();
const variants = addon ? [...addon.variants, ...addon.testVariants] : [];

afterAll(() => {
  setKernels(referenceKernels);
  detachMemory();
});

describe('the native addon', () => {
  it.skipIf(off)('is built and loads (WEFT_NATIVE=0 turns the native path off on purpose)', () => {
    expect(nativeUnavailableReason(), 'the native addon is unavailable').toBeNull();
    expect(addon!.variants.length).toBeGreaterThan(0);
    expect(addon!.variants).toContain('generic');
  });

  it.skipIf(off)('offers the variants this CPU runs, best first', () => {
    const order = ['avx512', 'avx2', 'generic'];
    const idx = addon!.variants.map((v) => order.indexOf(v));
    expect(idx.every((i) => i >= 0)).toBe(true);
    expect([...idx].sort((a, b) => a - b)).toEqual(idx);
    expect(loadNativeKernels(createSharedMemory(1)).variant).toBe(addon!.variants[0]);
    expect(() => loadNativeKernels(createSharedMemory(1), 'sse9')).toThrow(/native variant 'sse9' does not run on this CPU/);
  });
});

// Blocks of gemm_impl.h: K > 256 (KC), M > 240 (MC: three blocks at 487), N > 1024 (NC); M ≤ 3 reads op(B) in place
// (row after row where B's rows are 256 floats apart or more: N > 1024 is two column blocks there, K % 4 a remainder);
// op(B) = B with rows 1024 floats apart or more is read in place unless they are a multiple of 1024 apart (N = 1024
// with no padding: packed).
const BLOCK_SHAPES: Array<[number, number, number]> = [
  [13, 300, 530], [250, 37, 260], [487, 40, 20], [7, 1030, 20], [2, 9, 2100], [1, 600, 40], [3, 21, 9], [4, 1100, 3],
  [2, 1030, 7], [3, 301, 258], [2, 257, 1025], [32, 1024, 40], [30, 1040, 40],
];

for (const variant of variants) {
  describe(`native gemm (${variant}) vs reference`, () => {
    const memory = createSharedMemory(64);
    const k = loadNativeKernels(memory, variant);
    gemmAgreesWithReference({
      memory, gemm: k.gemm, ran: () => k.calls.native, fellBack: () => k.calls.reference, blockShapes: BLOCK_SHAPES,
    });
    gemmOneColumnAndOneK({ memory, gemm: k.gemm });

    it('gives the same bits wherever the operands lie in the arena (any alignment), and each call the same', () => {
      const rng = new Rng(11);
      const shapes: Array<[number, number, number]> = [[64, 96, 72], [2, 45, 33], [17, 250, 260], [250, 19, 7]];
      for (const [M, N, K] of shapes) {
        for (const [tA, tB] of TRANSPOSE_PAIRS) {
          const c: GemmCase = { ...randomGemmCase(rng, M, N, K), tA, tB };
          const first = gemmOperands(memory, c, rng);
          const C0 = first.C.slice();
          k.gemm(tA, tB, M, N, K, first.A, c.offA, first.lda, first.B, c.offB, first.ldb, first.C, c.offC, first.ldc, c.acc);
          // The same numbers again, shifted by 1..15 floats in fresh buffers, computed twice.
          for (const shift of [1 + rng.int(15), 1 + rng.int(15)]) {
            const o = { A: allocF32In(memory, first.A.length + shift), B: allocF32In(memory, first.B.length + shift), C: allocF32In(memory, first.C.length + shift) };
            o.A.set(first.A.slice(), shift);
            o.B.set(first.B.slice(), shift);
            o.C.set(C0, shift);
            k.gemm(tA, tB, M, N, K, o.A, shift + c.offA, first.lda, o.B, shift + c.offB, first.ldb, o.C, shift + c.offC, first.ldc, c.acc);
            expect(Array.from(o.C.subarray(shift))).toEqual(Array.from(first.C));
          }
        }
      }
    });
  });
}

/** A call of a cell kernel: its name and arguments (arrays in the arena, numbers, flags). */
interface CellCall {
  name: 'sigmoid' | 'tanh' | 'lstmForward' | 'lstmBackward' | 'rnnForward' | 'rnnBackward' | 'gruForward' | 'gruBackward';
  args: Array<Float32Array | number | boolean>;
}

/**
 * Random calls of every cell kernel in the arena: widths around every vector width (1, odd,
 * 4, 8, 16 and past them), 1 to 5 rows, strided output rows, arrays starting at any float
 * (alignment) and windows at an offset into them. Values up to ±12 (both sides of every clamp
 * and branch of exp and tanh) with a few NaN, ±0 and ±Infinity mixed in.
 */
function cellCalls(memory: ReturnType<typeof createSharedMemory>, rng: Rng): CellCall[] {
  const arr = (n: number): Float32Array => {
    const shift = rng.int(16); // a random start: any alignment
    const a = allocF32In(memory, n + shift).subarray(shift);
    const specials = [NaN, 0, -0, Infinity, -Infinity, 40, -40];
    for (let i = 0; i < a.length; i++) a[i] = rng.uniform() < 0.02 ? specials[rng.int(specials.length)]! : rng.range(-12, 12);
    return a;
  };
  const calls: CellCall[] = [];
  for (const H of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100]) {
    const rows = 1 + rng.int(5), n = rows * H, o = rng.int(5), ld = H + rng.int(3);
    const span = (rows - 1) * ld + H;
    calls.push({ name: 'sigmoid', args: [arr(o + n), o, n] }, { name: 'tanh', args: [arr(o + n), o, n] });
    calls.push({ name: 'lstmForward', args: [rows, H, arr(o + 4 * n), o, arr(o + n), o, arr(o + n), o, arr(o + n), o, arr(o + span), o, ld] });
    // Backward sees activations (gates in (0, 1) and (−1, 1)), as forward leaves them.
    const gates = arr(o + 4 * n);
    for (let i = 0; i < gates.length; i++) gates[i] = Math.tanh(gates[i]!);
    calls.push({
      name: 'lstmBackward',
      args: [rows, H, gates, o, arr(o + n), o, arr(o + n), o, arr(o + span), o, ld, arr(o + n), o, arr(o + n), o, arr(o + 4 * n), o],
    });
    for (const relu of [false, true]) {
      calls.push({ name: 'rnnForward', args: [relu, rows, H, arr(o + n), o, arr(o + n), o, arr(o + span), o, ld] });
      calls.push({ name: 'rnnBackward', args: [relu, rows, H, arr(o + n), o, arr(o + span), o, ld, arr(o + n), o, arr(o + n), o] });
    }
    calls.push({
      name: 'gruForward',
      args: [rows, H, arr(o + 3 * n), o, arr(o + 3 * n), o, arr(o + n), o, arr(o + n), o, arr(o + n), o, arr(o + span), o, ld],
    });
    calls.push({
      name: 'gruBackward',
      args: [rows, H, gates, o, arr(o + n), o, arr(o + n), o, arr(o + span), o, ld, arr(o + n), o, arr(o + 3 * n), o, arr(o + 3 * n), o],
    });
  }
  return calls;
}

/** The call on fresh copies of its arrays (in the arena, at a new alignment), and those copies. */
function copyCall(memory: ReturnType<typeof createSharedMemory>, call: CellCall, rng: Rng): CellCall {
  const copies = new Map<Float32Array, Float32Array>();
  const args = call.args.map((x) => {
    if (!(x instanceof Float32Array)) return x;
    let c = copies.get(x);
    if (!c) {
      const shift = rng.int(16);
      c = allocF32In(memory, x.length + shift).subarray(shift);
      c.set(x);
      copies.set(x, c);
    }
    return c;
  });
  return { name: call.name, args };
}

function runCall(k: { [K in CellCall['name']]: (...a: never[]) => void }, call: CellCall): void {
  (k[call.name] as (...a: CellCall['args']) => void)(...call.args);
}

/** Every array of `a` equal bit for bit (NaN as NaN) to the same array of `b`. */
function expectSameArrays(a: CellCall, b: CellCall, what: string): void {
  for (let i = 0; i < a.args.length; i++) {
    const x = a.args[i], y = b.args[i];
    if (!(x instanceof Float32Array) || !(y instanceof Float32Array)) continue;
    for (let j = 0; j < x.length; j++) {
      if (!Object.is(x[j], y[j])) throw new Error(`${what}: ${a.name} argument ${i}, float ${j}: ${x[j]} vs ${y[j]}`);
    }
  }
}

for (const variant of variants) {
  describe(`native gemm (${variant}): a few rows of C from a wide B`, () => {
    it('gives the same bits whether B\'s rows are close (read down strips) or far apart (read row after row)', () => {
      const memory = createSharedMemory(16);
      const k = loadNativeKernels(memory, variant);
      const rng = new Rng(23);
      for (const [M, N, K, acc] of [[1, 40, 37, false], [2, 33, 64, true], [3, 250, 9, false], [2, 129, 130, true]] as const) {
        const A = allocF32In(memory, M * K), near = allocF32In(memory, K * N), far = allocF32In(memory, K * 300);
        for (let i = 0; i < A.length; i++) A[i] = rng.range(-1, 1);
        for (let r = 0; r < K; r++) {
          for (let j = 0; j < N; j++) far[r * 300 + j] = near[r * N + j] = rng.range(-1, 1);
        }
        const C1 = allocF32In(memory, M * N), C2 = allocF32In(memory, M * N);
        for (let i = 0; i < C1.length; i++) C1[i] = C2[i] = rng.range(-1, 1);
        k.gemm(false, false, M, N, K, A, 0, K, near, 0, N, C1, 0, N, acc);
        k.gemm(false, false, M, N, K, A, 0, K, far, 0, 300, C2, 0, N, acc);
        expect(Array.from(C2)).toEqual(Array.from(C1));
      }
    });
  });

  describe(`native cell kernels (${variant}) vs WebAssembly`, () => {
    it('give the WebAssembly bits on every shape, row stride and alignment, NaN and infinities included', () => {
      const memory = createSharedMemory(64);
      const k = loadNativeKernels(memory, variant);
      const wasm = loadWasmKernels(memory);
      const rng = new Rng(21);
      for (const call of cellCalls(memory, rng)) {
        const mine = copyCall(memory, call, rng), theirs = copyCall(memory, call, rng);
        const before = { native: k.calls.native, wasm: wasm.calls.wasm };
        runCall(k, mine);
        runCall(wasm, theirs);
        expect(k.calls.native).toBe(before.native + 1);
        expect(wasm.calls.wasm).toBe(before.wasm + 1);
        expectSameArrays(mine, theirs, `${variant}`);
      }
    });
  });
}

describe.skipIf(off)('native cell kernels, checks and fallbacks', () => {
  it('check every window before running, and run the reference for arrays outside the arena', () => {
    const memory = createSharedMemory(4);
    const k = loadNativeKernels(memory);
    const g = allocF32In(memory, 8), s = allocF32In(memory, 2), out = allocF32In(memory, 4);
    expect(() => k.lstmForward(2, 2, g, 0, s, 0, s, 0, s, 0, out, 0, 8)).toThrow(/lstmForward: gates needs \[0, 0\+16\) inside its 8 values/);
    expect(() => k.tanh(out, 2, 3)).toThrow(/tanh: \[2, 2\+3\) must lie inside the array's 4 floats/);
    const heap = new Float32Array([0.5, -0.5]);
    const ref = heap.slice();
    referenceKernels.tanh(ref, 0, 2);
    const before = k.calls.reference;
    k.tanh(heap, 0, 2);
    expect(k.calls.reference).toBe(before + 1);
    expect(Array.from(heap)).toEqual(Array.from(ref));
  });
});

describe.skipIf(off)('the arena under the addon', () => {
  it('never moves when it grows, and a gemm bound before growth works on memory allocated after it', () => {
    const memory = createSharedMemory(1);
    const k = loadNativeKernels(memory);
    const before = addon!.address(new Uint8Array(memory.buffer, 64, 1));
    arenaAlloc(memory, 40 * PAGE_BYTES); // grows the memory: a new buffer object
    expect(addon!.address(new Uint8Array(memory.buffer, 64, 1))).toBe(before);
    const rng = new Rng(12);
    checkGemmCase({ memory, gemm: k.gemm, ran: () => k.calls.native, fellBack: () => k.calls.reference, blockShapes: [] },
      { ...randomGemmCase(rng, 30, 40, 50), tA: false, tB: true }, rng);
  });

  it('loads on a memory that its own argument block must grow (a worker starting when the arena is full)', () => {
    const memory = createSharedMemory(1);
    loadWasmKernels(memory); // (its scratch first: the native kernels' own allocation must be the one that grows)
    const full = memory.buffer.byteLength;
    arenaAlloc(memory, full - arenaUsage(memory).used); // every byte taken
    const k = loadNativeKernels(memory);
    expect(memory.buffer.byteLength).toBeGreaterThan(full);
    const rng = new Rng(13);
    checkGemmCase({ memory, gemm: k.gemm, ran: () => k.calls.native, fellBack: () => k.calls.reference, blockShapes: [] },
      { ...randomGemmCase(rng, 7, 9, 11), tA: false, tB: false }, rng);
  });
});

const thp = transparentHugePagesOn();

describe.skipIf(off || !thp)('huge pages under the arena (Linux with transparent huge pages)', () => {
  const saved = process.env.WEFT_HUGE_PAGES;
  afterEach(() => {
    if (saved === undefined) delete process.env.WEFT_HUGE_PAGES;
    else process.env.WEFT_HUGE_PAGES = saved;
  });
  // "hg" is VM_HUGEPAGE, what madvise(MADV_HUGEPAGE) sets on a mapping; whether the kernel then
  // finds free 2 MiB pages is up to it, so the test reads the advice, not AnonHugePages.
  const flagsOf = (memory: ReturnType<typeof createSharedMemory>): string[] => {
    arenaAlloc(memory, 8 << 20); // grows the memory: the advice covers growth too
    return vmFlagsAt(addon!.address(new Uint8Array(memory.buffer, memory.buffer.byteLength - 4096, 1)));
  };

  it('the kernels ask for them when they bind to a memory, and say so', () => {
    delete process.env.WEFT_HUGE_PAGES;
    const memory = createSharedMemory(1);
    expect(flagsOf(createSharedMemory(1))).not.toContain('hg'); // a memory the addon never saw
    const k = loadNativeKernels(memory);
    expect(k.detail).toContain('arena on huge pages');
    expect(flagsOf(memory)).toContain('hg');
  });

  it('WEFT_HUGE_PAGES=0 declines them', () => {
    process.env.WEFT_HUGE_PAGES = '0';
    const memory = createSharedMemory(1);
    const k = loadNativeKernels(memory);
    expect(k.detail).not.toContain('huge pages');
    expect(flagsOf(memory)).not.toContain('hg');
  });
});

describe.skipIf(off)('native gemm in worker threads', () => {
  const workers: Array<{ terminate(): Promise<number> }> = [];
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('each worker binds the addon to the shared arena and gets the bits the main thread gets', async () => {
    const memory = createSharedMemory(16);
    const main = loadNativeKernels(memory);
    const w1 = spawnKernelWorker(memory, 'native'), w2 = spawnKernelWorker(memory, 'native');
    workers.push(w1.worker, w2.worker);
    for (const w of [w1, w2]) expect(await w.next()).toEqual({ ready: true, name: 'native', variant: main.variant });

    const rng = new Rng(13);
    for (const [M, N, K, tA, tB] of [[64, 80, 48, false, true], [48, 32, 64, false, false], [80, 24, 33, true, false], [2, 70, 90, false, true]] as const) {
      const A = allocF32In(memory, M * K), B = allocF32In(memory, K * N);
      for (const x of [A, B]) for (let i = 0; i < x.length; i++) x[i] = rng.range(-1, 1);
      const lda = tA ? M : K, ldb = tB ? K : N;
      const mine = allocF32In(memory, M * N), c1 = allocF32In(memory, M * N), c2 = allocF32In(memory, M * N);
      main.gemm(tA, tB, M, N, K, A, 0, lda, B, 0, ldb, mine, 0, N, false);
      w1.worker.postMessage({ op: 'gemm', tA, tB, M, N, K, A, lda, B, ldb, C: c1, ldc: N });
      w2.worker.postMessage({ op: 'gemm', tA, tB, M, N, K, A, lda, B, ldb, C: c2, ldc: N });
      const [r1, r2] = await Promise.all([w1.next(), w2.next()]);
      for (const r of [r1, r2]) {
        expect(r.inMemory).toBe(true);
        expect((r.calls as { reference: number }).reference).toBe(0);
      }
      expect(Array.from(c1)).toEqual(Array.from(mine));
      expect(Array.from(c2)).toEqual(Array.from(mine));
      const ref = new Float32Array(M * N);
      gemmReference(tA, tB, M, N, K, A, 0, lda, B, 0, ldb, ref, 0, N, false);
      for (let i = 0; i < ref.length; i++) expect(Math.abs(mine[i]! - ref[i]!)).toBeLessThan(1e-4 * K);
    }
  });

  it('each worker runs the cell kernels natively on the shared arena, with the bits of the main thread', async () => {
    const memory = createSharedMemory(16);
    const main = loadNativeKernels(memory);
    const w = spawnKernelWorker(memory, 'native');
    workers.push(w.worker);
    expect(await w.next()).toMatchObject({ ready: true, name: 'native' });
    const rng = new Rng(22);
    for (const call of cellCalls(memory, rng).filter((_, i) => i % 3 === 0)) {
      const mine = copyCall(memory, call, rng), theirs = copyCall(memory, call, rng);
      runCall(main, mine);
      w.worker.postMessage({ op: 'call', name: theirs.name, args: theirs.args });
      const r = await w.next();
      expect(r.calls).toMatchObject({ reference: 0 });
      expect((r.calls as { native: number }).native).toBeGreaterThan(0);
      expectSameArrays(mine, theirs, 'worker');
    }
  });
});

describe.skipIf(off)('choosing the native path', () => {
  const saved = process.env.WEFT_KERNELS;
  afterEach(() => {
    if (saved === undefined) delete process.env.WEFT_KERNELS;
    else process.env.WEFT_KERNELS = saved;
    setKernels(referenceKernels);
    detachMemory();
  });

  it("useKernels('native') runs the product natively and the rest in WebAssembly, allocating in the arena", () => {
    delete process.env.WEFT_KERNELS;
    expect(useKernels('native')).toBe('native');
    expect(activeKernels()).toBe('native');
    const huge = thp && process.env.WEFT_HUGE_PAGES !== '0' ? ', arena on huge pages' : '';
    expect(describeKernels()).toBe(`native (${addon!.variants[0]} product and cells${huge}; WebAssembly SIMD for the rest)`);
    const x = allocF32(4), y = allocF32(1);
    x.set([1, 2, 3, 4]);
    kernels.gemm(false, false, 1, 1, 4, x, 0, 4, x, 0, 1, y, 0, 1, false);
    expect(y[0]).toBe(30);
    kernels.sigmoid(x, 0, 1);
    expect(x[0]).toBeCloseTo(1 / (1 + Math.exp(-1)), 6);
  });

  it("'auto' picks native; WEFT_KERNELS sets what 'auto' means; an explicit choice wins over it", () => {
    delete process.env.WEFT_KERNELS;
    expect(resolveKernels('auto')).toBe('native');
    expect(useKernels('auto')).toBe('native');
    process.env.WEFT_KERNELS = 'wasm';
    expect(useKernels('auto')).toBe('wasm-simd');
    expect(useKernels('native')).toBe('native');
    process.env.WEFT_KERNELS = 'reference';
    expect(useKernels()).toBe('reference');
    process.env.WEFT_KERNELS = 'auto';
    expect(resolveKernels()).toBe('native');
  });

  it('rejects an unknown path, naming where it came from and what was meant', () => {
    process.env.WEFT_KERNELS = 'nativ';
    expect(() => resolveKernels()).toThrow(OptionError);
    expect(() => resolveKernels()).toThrow(/WEFT_KERNELS must be one of native, wasm, reference \(or auto\), got 'nativ' \(did you mean 'native'\?\)/);
    delete process.env.WEFT_KERNELS;
    expect(() => useKernels('wsam' as 'wasm')).toThrow(/kernels must be one of auto, native, wasm, reference, got wsam \(did you mean 'wasm'\?\)/);
  });
});
