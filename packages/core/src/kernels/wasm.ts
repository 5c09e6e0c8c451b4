/**
 * The WebAssembly SIMD fast path (gemm, sigmoid, tanh, row and cell kernels, losses, optimizer
 * updates; built from packages/core/asm by
 * `pnpm build` into packages/core/wasm/kernels.wasm), with the TypeScript reference as fallback.
 *
 * One module instance per (thread, memory): every worker instantiates the module on the same
 * shared arena, so the kernels read and write parameters and gradients in place. A call whose
 * operands do not all live in that memory (an ordinary heap array, say) runs the reference
 * instead: where the fast path runs changes speed and rounding, never what is computed.
 *
 *   useWasmKernels()         main thread: creates an arena if none is attached, attaches it,
 *                            switches `kernels` to the wasm path; false where unavailable
 *   useWasmKernels(memory)   worker: the same on the coordinator's arena
 */
import { readFileSync } from 'node:fs';
import { checkGemm, gemmReference } from './gemm.js';
import { gemmRowsBy } from './group-product.js';
import { referenceKernels, setKernels, type Gemm, type Kernels } from './index.js';
import { arenaAlloc, attachMemory, attachedMemory, createSharedMemory, arenaAddresses } from './memory.js';
import { checkTarget, type LossResult } from './loss.js';
import { requireWasmApi, wasmApi, type WasmMemory, type WasmModule } from './webassembly.js';

/** Where the build puts the module; resolves the same from src/kernels and dist/kernels. */
export const WASM_KERNELS_URL = new URL('../../wasm/kernels.wasm', import.meta.url);
/**
 * The same module built with relaxed SIMD (asm/asconfig.json's `relaxed` target): the product's
 * inner loops use f32x4.relaxed_madd, a fused multiply-add on CPUs that have one (measured about
 * 1.4× the plain module's product on this project's AVX2 machine: BENCHMARKS.md). Loaded instead
 * of the plain one where the engine validates relaxed SIMD (Node 22 and later; Node 20 with
 * --experimental-wasm-relaxed-simd), unless WEFT_WASM_RELAXED=0. It rounds the product
 * differently from the plain module (one rounding per multiply-add), and every worker of a
 * process loads the same one.
 */
export const WASM_RELAXED_KERNELS_URL = new URL('../../wasm/kernels-relaxed.wasm', import.meta.url);

export interface WasmKernels extends Kernels {
  /** The arena this instance works on. */
  readonly memory: WasmMemory;
  /** Calls run by WebAssembly, and by the reference because an operand was outside `memory`. */
  readonly calls: { wasm: number; reference: number };
  /** The module's exp and log (tests compare them with Math.exp and Math.log). */
  readonly math: WasmMath;
}

/** What asm/index.ts exports (addresses in bytes, sizes and leading dimensions in floats). */
export interface KernelExports {
  gemm(
    transA: number, transB: number, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
    accumulate: number, scratch: number,
  ): void;
  scratchBytes(): number;
  sigmoid(x: number, n: number): void;
  tanh(x: number, n: number): void;
  fillRows(x: number, rows: number, n: number, b: number, b2: number, hasB2: number): void;
  sumRows(db: number, dz: number, rows: number, n: number, ld: number): void;
  gatherRows(x: number, rows: number, n: number, table: number, ids: number): void;
  scatterAddRows(table: number, n: number, ids: number, rows: number, src: number): void;
  zero(dst: number, n: number): void;
  accumulate(dst: number, src: number, n: number): void;
  transpose(dst: number, ldd: number, src: number, rows: number, cols: number): void;
  lstmForward(rows: number, H: number, g: number, cp: number, c: number, h: number, out: number, ldo: number): void;
  lstmBackward(
    rows: number, H: number, g: number, cp: number, c: number, dOut: number, ldd: number, dh: number, dc: number, dz: number,
  ): void;
  rnnForward(relu: number, rows: number, H: number, z: number, h: number, out: number, ldo: number): void;
  rnnBackward(relu: number, rows: number, H: number, h: number, dOut: number, ldd: number, dh: number, dz: number): void;
  gruForward(rows: number, H: number, gx: number, gh: number, hn: number, hp: number, h: number, out: number, ldo: number): void;
  gruBackward(
    rows: number, H: number, g: number, hn: number, hp: number, dOut: number, ldd: number, dh: number, dzx: number, dzh: number,
  ): void;
  softmaxCrossEntropy(d: number, x: number, targets: number, rows: number, classes: number, scale: number, e: number, out: number): number;
  meanSquaredError(
    d: number, p: number, targets: number, rows: number, size: number, scale: number, mask: number, hasMask: number, out: number,
  ): number;
  adamUpdate(
    p: number, g: number, m: number, v: number, n: number, flags: number,
    shrink: number, l2: number, w1: number, beta2: number, w2: number, stepSize: number, bc2Sqrt: number, eps: number,
  ): void;
  sgdUpdate(p: number, g: number, buf: number, n: number, flags: number, lr: number, wd: number, mu: number, keep: number): void;
  rmspropUpdate(
    p: number, g: number, sq: number, buf: number, ga: number, n: number, flags: number,
    lr: number, alpha: number, w: number, eps: number, wd: number, mu: number,
  ): void;
}

/** The fdlibm ports behind the loss kernels (asm/fdlibm.ts), exported for their tests. */
export interface WasmMath {
  expF64(x: number): number;
  logF64(x: number): number;
  /** x[i] = exp(x[i]) over n float64s at byte address x, two lanes at a time. */
  expF64Array(x: number, n: number): void;
}

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): compiles only where SIMD does.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
]);

/** Whether this engine runs WebAssembly 128-bit SIMD and shared memory (threads). */
export function wasmSimdSupported(): boolean {
  return wasmApi !== undefined && typeof SharedArrayBuffer === 'function' && wasmApi.validate(SIMD_PROBE);
}

// (module (func (result v128) (f32x4.relaxed_madd (v128.const 0) (v128.const 0) (v128.const 0)))).
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x3d, 0x01, 0x3b, 0x00,
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]),
  0xfd, 0x85, 0x02, 0x0b,
]);

/** Whether the WebAssembly path loads its relaxed-SIMD build (WASM_RELAXED_KERNELS_URL) here. */
export function wasmRelaxedSimd(): boolean {
  return process.env.WEFT_WASM_RELAXED !== '0' && wasmSimdSupported() && wasmApi!.validate(RELAXED_PROBE);
}

let compiled: { module: WasmModule; relaxed: boolean } | null = null;
const instances = new WeakMap<WasmMemory, WasmKernels>();

function kernelModule(): { module: WasmModule; relaxed: boolean } {
  if (compiled) return compiled;
  if (!wasmSimdSupported()) {
    throw new Error('WebAssembly SIMD or shared memory is not available in this engine');
  }
  let bytes: Buffer | null = null;
  let relaxed = false;
  if (wasmRelaxedSimd()) {
    try {
      bytes = readFileSync(WASM_RELAXED_KERNELS_URL);
      relaxed = true;
    } catch { /* an older build without it: the plain module below */ }
  }
  try {
    bytes ??= readFileSync(WASM_KERNELS_URL);
  } catch (err) {
    throw new Error(
      `cannot read ${WASM_KERNELS_URL.pathname} (${(err as Error).message}): build it with \`pnpm --filter @weft/core build\``,
    );
  }
  compiled = { module: new (requireWasmApi().Module)(bytes), relaxed };
  return compiled;
}

/**
 * The wasm kernels on `memory` (an arena from createSharedMemory; default: the attached one,
 * else a new arena), instantiated once per memory and thread. Throws where the module cannot
 * be loaded (no SIMD, not built).
 */
export function loadWasmKernels(memory?: WasmMemory): WasmKernels {
  const mem = memory ?? attachedMemory() ?? createSharedMemory();
  const cached = instances.get(mem);
  if (cached) return cached;
  const k = wasmKernelsWith(mem, {});
  instances.set(mem, k);
  return k;
}

/**
 * A new instance of the wasm kernels on arena `mem` (not cached), with some of the module's
 * functions replaced by others of the same contract (byte addresses in `mem`): how the native
 * path (native.ts) runs its own cell kernels behind the same argument checks and fallbacks.
 */
export function wasmKernelsWith(mem: WasmMemory, replace: Partial<KernelExports>): WasmKernels {
  const addressOf = arenaAddresses(mem); // also checks that mem is an arena
  const inMemory = (x: ArrayBufferView): boolean => addressOf(x) >= 0;
  const { module, relaxed } = kernelModule();
  const instance = new (requireWasmApi().Instance)(module, {
    env: {
      memory: mem,
      abort: () => { throw new Error('wasm kernels aborted'); },
    },
  });
  const ex = { ...(instance.exports as unknown as KernelExports & WasmMath), ...replace };
  const wasmGemm = ex.gemm;
  // Packing buffers, private to this thread (the memory is shared, the instance is not).
  const scratch = arenaAlloc(mem, ex.scratchBytes());
  const calls = { wasm: 0, reference: 0 };

  const gemm: Gemm = (transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate) => {
    if (!inMemory(A) || !inMemory(B) || !inMemory(C)) {
      calls.reference++;
      gemmReference(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
      return;
    }
    if (!checkGemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc)) return;
    calls.wasm++;
    wasmGemm(
      transA ? 1 : 0, transB ? 1 : 0, M, N, K,
      addressOf(A) + 4 * aOff, lda, addressOf(B) + 4 * bOff, ldb, addressOf(C) + 4 * cOff, ldc,
      accumulate ? 1 : 0, scratch,
    );
  };

  /** An in-place elementwise kernel over a[off..off+n), with its reference as fallback. */
  const elementwise = (name: string, fast: (x: number, n: number) => void, reference: Kernels['sigmoid']) =>
    (a: Float32Array, off: number, n: number): void => {
      if (!inMemory(a)) {
        calls.reference++;
        reference(a, off, n);
        return;
      }
      if (!Number.isInteger(off) || !Number.isInteger(n) || off < 0 || n < 0 || off + n > a.length) {
        throw new RangeError(`${name}: [${off}, ${off}+${n}) must lie inside the array's ${a.length} floats`);
      }
      calls.wasm++;
      fast(addressOf(a) + 4 * off, n);
    };

  // The row and cell kernels: every operand must be in the arena (else the reference runs) and
  // every window inside its array, checked before any pointer reaches WebAssembly (a stray
  // write there would land in some other buffer of the shared memory).
  type View = Float32Array | Int32Array;
  const all = (...xs: View[]): boolean => {
    for (const x of xs) if (!inMemory(x)) return false;
    return true;
  };
  /** Byte address of x[off], after checking that n floats from off lie inside x. */
  const at = (kernel: string, name: string, x: View, off: number, n: number): number => {
    if (!Number.isInteger(off) || off < 0 || off + n > x.length) {
      throw new RangeError(`${kernel}: ${name} needs [${off}, ${off}+${n}) inside its ${x.length} values`);
    }
    return addressOf(x) + 4 * off;
  };
  /** Floats spanned by `rows` rows of `w` floats, `ld` apart. */
  const rowsSpan = (rows: number, w: number, ld: number): number => (rows > 0 ? (rows - 1) * ld + w : 0);
  const sizes = (kernel: string, rows: number, H: number): boolean => {
    if (!Number.isInteger(rows) || !Number.isInteger(H) || rows < 0 || H < 0) {
      throw new RangeError(`${kernel}: rows and widths must be non-negative integers, got ${rows}, ${H}`);
    }
    return rows > 0 && H > 0;
  };
  const ref = referenceKernels;

  // Scratch in the arena for the loss kernels (results, one row of exponentials, targets or a
  // mask copied in), private to this thread's instance; grown by doubling (an arena never frees),
  // or sized up front by reserveLoss (SequenceModel.reserve).
  let lossScratch = 0;
  let lossScratchBytes = 0;
  const lossArea = (bytes: number): number => {
    if (bytes > lossScratchBytes) {
      lossScratchBytes = Math.max(bytes, 2 * lossScratchBytes, 4096);
      lossScratch = arenaAlloc(mem, lossScratchBytes);
    }
    return lossScratch;
  };
  /** Byte address of x[start], after checking [start, end) against x (an optimizer slice). */
  const slice = (kernel: string, name: string, x: Float32Array, start: number, end: number): number =>
    at(kernel, name, x, start, end - start);
  const sliceLength = (kernel: string, start: number, end: number): number => {
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new RangeError(`${kernel}: the slice must satisfy 0 <= start <= end (integers), got ${start}, ${end}`);
    }
    return end - start;
  };

  const k: WasmKernels = {
    name: 'wasm-simd',
    detail: relaxed ? 'WebAssembly SIMD, relaxed fused multiply-add' : 'WebAssembly SIMD',
    gemm,
    // Cut into products of 8 rows: the WebAssembly product runs few rows fastest (8 rows at
    // 29–30 GFLOP/s, 64 at 21–24, W_hhᵀ in cache).
    gemmRows: gemmRowsBy(gemm, 8),
    sigmoid: elementwise('sigmoid', ex.sigmoid, referenceKernels.sigmoid),
    tanh: elementwise('tanh', ex.tanh, referenceKernels.tanh),
    fillRows(x, xOff, rows, n, b, bOff, b2, b2Off) {
      if (!sizes('fillRows', rows, n)) return;
      if (!all(x, b) || (b2 && !inMemory(b2))) {
        calls.reference++;
        ref.fillRows(x, xOff, rows, n, b, bOff, b2, b2Off);
        return;
      }
      const px = at('fillRows', 'x', x, xOff, rows * n);
      const pb = at('fillRows', 'b', b, bOff, n);
      const pb2 = b2 ? at('fillRows', 'b2', b2, b2Off, n) : 0;
      calls.wasm++;
      ex.fillRows(px, rows, n, pb, pb2, b2 ? 1 : 0);
    },
    sumRows(db, dbOff, dz, dzOff, rows, n, ld = n) {
      if (!sizes('sumRows', rows, n)) return;
      if (!Number.isInteger(ld) || ld < n) throw new RangeError(`sumRows: ld must be an integer >= n = ${n}, got ${ld}`);
      if (!all(db, dz)) {
        calls.reference++;
        ref.sumRows(db, dbOff, dz, dzOff, rows, n, ld);
        return;
      }
      const pdb = at('sumRows', 'db', db, dbOff, n);
      const pdz = at('sumRows', 'dz', dz, dzOff, rowsSpan(rows, n, ld));
      calls.wasm++;
      ex.sumRows(pdb, pdz, rows, n, ld);
    },
    gatherRows(x, xOff, rows, n, table, tOff, ids, idsOff) {
      if (!sizes('gatherRows', rows, n)) return;
      if (!all(x, table, ids)) {
        calls.reference++;
        ref.gatherRows(x, xOff, rows, n, table, tOff, ids, idsOff);
        return;
      }
      const px = at('gatherRows', 'x', x, xOff, rows * n);
      const pi = at('gatherRows', 'ids', ids, idsOff, rows);
      const tRows = Math.floor((table.length - tOff) / n);
      for (let r = 0; r < rows; r++) {
        const id = ids[idsOff + r]!;
        if (!(id >= 0 && id < tRows)) throw new RangeError(`gatherRows: ids[${idsOff + r}] = ${id} is not a row of the ${tRows}-row table`);
      }
      const pt = at('gatherRows', 'table', table, tOff, tRows * n);
      calls.wasm++;
      ex.gatherRows(px, rows, n, pt, pi);
    },
    scatterAddRows(table, tOff, n, ids, idsOff, rows, src, sOff) {
      if (!sizes('scatterAddRows', rows, n)) return;
      if (!all(table, ids, src)) {
        calls.reference++;
        ref.scatterAddRows(table, tOff, n, ids, idsOff, rows, src, sOff);
        return;
      }
      const pi = at('scatterAddRows', 'ids', ids, idsOff, rows);
      const ps = at('scatterAddRows', 'src', src, sOff, rows * n);
      const tRows = Math.floor((table.length - tOff) / n);
      for (let r = 0; r < rows; r++) {
        const id = ids[idsOff + r]!;
        if (!(id >= 0 && id < tRows)) throw new RangeError(`scatterAddRows: ids[${idsOff + r}] = ${id} is not a row of the ${tRows}-row table`);
      }
      const pt = at('scatterAddRows', 'table', table, tOff, tRows * n);
      calls.wasm++;
      ex.scatterAddRows(pt, n, pi, rows, ps);
    },
    zero(dst, off, n) {
      if (!sizes('zero', 1, n)) return;
      if (!all(dst)) {
        calls.reference++;
        ref.zero(dst, off, n);
        return;
      }
      const pd = at('zero', 'dst', dst, off, n);
      calls.wasm++;
      ex.zero(pd, n);
    },
    accumulate(dst, dOff, src, sOff, n) {
      if (!sizes('accumulate', 1, n)) return;
      if (!all(dst, src)) {
        calls.reference++;
        ref.accumulate(dst, dOff, src, sOff, n);
        return;
      }
      const pd = at('accumulate', 'dst', dst, dOff, n);
      const ps = at('accumulate', 'src', src, sOff, n);
      calls.wasm++;
      ex.accumulate(pd, ps, n);
    },
    transpose(dst, dOff, ldd, src, sOff, rows, cols) {
      if (!sizes('transpose', rows, cols)) return;
      if (!Number.isInteger(ldd) || ldd < rows) throw new RangeError(`transpose: ldd (${ldd}) must be an integer ≥ rows (${rows})`);
      if (!all(dst, src)) {
        calls.reference++;
        ref.transpose(dst, dOff, ldd, src, sOff, rows, cols);
        return;
      }
      const dn = rowsSpan(cols, rows, ldd);
      const pd = at('transpose', 'dst', dst, dOff, dn);
      const ps = at('transpose', 'src', src, sOff, rows * cols);
      if (pd < ps + 4 * rows * cols && ps < pd + 4 * dn) { // both in the arena: addresses compare, whatever the buffer objects
        throw new RangeError('transpose: dst must not overlap src');
      }
      calls.wasm++;
      ex.transpose(pd, ldd, ps, rows, cols);
    },
    lstmForward(rows, H, g, gOff, cp, cpOff, c, cOff, h, hOff, out, oOff, ldo) {
      if (!sizes('lstmForward', rows, H)) return;
      if (!all(g, cp, c, h, out)) {
        calls.reference++;
        ref.lstmForward(rows, H, g, gOff, cp, cpOff, c, cOff, h, hOff, out, oOff, ldo);
        return;
      }
      const K = 'lstmForward';
      const n = rows * H;
      calls.wasm++;
      ex.lstmForward(rows, H, at(K, 'gates', g, gOff, 4 * n), at(K, 'cPrev', cp, cpOff, n), at(K, 'c', c, cOff, n),
        at(K, 'h', h, hOff, n), at(K, 'out', out, oOff, rowsSpan(rows, H, ldo)), ldo);
    },
    lstmBackward(rows, H, g, gOff, cp, cpOff, c, cOff, dOut, dOff, ldd, dh, dhOff, dc, dcOff, dz, dzOff) {
      if (!sizes('lstmBackward', rows, H)) return;
      if (!all(g, cp, c, dOut, dh, dc, dz)) {
        calls.reference++;
        ref.lstmBackward(rows, H, g, gOff, cp, cpOff, c, cOff, dOut, dOff, ldd, dh, dhOff, dc, dcOff, dz, dzOff);
        return;
      }
      const K = 'lstmBackward';
      const n = rows * H;
      calls.wasm++;
      ex.lstmBackward(rows, H, at(K, 'gates', g, gOff, 4 * n), at(K, 'cPrev', cp, cpOff, n), at(K, 'c', c, cOff, n),
        at(K, 'dOut', dOut, dOff, rowsSpan(rows, H, ldd)), ldd, at(K, 'dh', dh, dhOff, n), at(K, 'dc', dc, dcOff, n),
        at(K, 'dz', dz, dzOff, 4 * n));
    },
    rnnForward(relu, rows, H, z, zOff, h, hOff, out, oOff, ldo) {
      if (!sizes('rnnForward', rows, H)) return;
      if (!all(z, h, out)) {
        calls.reference++;
        ref.rnnForward(relu, rows, H, z, zOff, h, hOff, out, oOff, ldo);
        return;
      }
      const K = 'rnnForward';
      const n = rows * H;
      calls.wasm++;
      ex.rnnForward(relu ? 1 : 0, rows, H, at(K, 'z', z, zOff, n), at(K, 'h', h, hOff, n),
        at(K, 'out', out, oOff, rowsSpan(rows, H, ldo)), ldo);
    },
    rnnBackward(relu, rows, H, h, hOff, dOut, dOff, ldd, dh, dhOff, dz, dzOff) {
      if (!sizes('rnnBackward', rows, H)) return;
      if (!all(h, dOut, dh, dz)) {
        calls.reference++;
        ref.rnnBackward(relu, rows, H, h, hOff, dOut, dOff, ldd, dh, dhOff, dz, dzOff);
        return;
      }
      const K = 'rnnBackward';
      const n = rows * H;
      calls.wasm++;
      ex.rnnBackward(relu ? 1 : 0, rows, H, at(K, 'h', h, hOff, n), at(K, 'dOut', dOut, dOff, rowsSpan(rows, H, ldd)), ldd,
        at(K, 'dh', dh, dhOff, n), at(K, 'dz', dz, dzOff, n));
    },
    gruForward(rows, H, gx, gxOff, gh, ghOff, hn, hnOff, hp, hpOff, h, hOff, out, oOff, ldo) {
      if (!sizes('gruForward', rows, H)) return;
      if (!all(gx, gh, hn, hp, h, out)) {
        calls.reference++;
        ref.gruForward(rows, H, gx, gxOff, gh, ghOff, hn, hnOff, hp, hpOff, h, hOff, out, oOff, ldo);
        return;
      }
      const K = 'gruForward';
      const n = rows * H;
      calls.wasm++;
      ex.gruForward(rows, H, at(K, 'gx', gx, gxOff, 3 * n), at(K, 'gh', gh, ghOff, 3 * n), at(K, 'hn', hn, hnOff, n),
        at(K, 'hPrev', hp, hpOff, n), at(K, 'h', h, hOff, n), at(K, 'out', out, oOff, rowsSpan(rows, H, ldo)), ldo);
    },
    gruBackward(rows, H, g, gOff, hn, hnOff, hp, hpOff, dOut, dOff, ldd, dh, dhOff, dzx, dzxOff, dzh, dzhOff) {
      if (!sizes('gruBackward', rows, H)) return;
      if (!all(g, hn, hp, dOut, dh, dzx, dzh)) {
        calls.reference++;
        ref.gruBackward(rows, H, g, gOff, hn, hnOff, hp, hpOff, dOut, dOff, ldd, dh, dhOff, dzx, dzxOff, dzh, dzhOff);
        return;
      }
      const K = 'gruBackward';
      const n = rows * H;
      calls.wasm++;
      ex.gruBackward(rows, H, at(K, 'gates', g, gOff, 3 * n), at(K, 'hn', hn, hnOff, n), at(K, 'hPrev', hp, hpOff, n),
        at(K, 'dOut', dOut, dOff, rowsSpan(rows, H, ldd)), ldd, at(K, 'dh', dh, dhOff, n), at(K, 'dzx', dzx, dzxOff, 3 * n),
        at(K, 'dzh', dzh, dzhOff, 3 * n));
    },
    softmaxCrossEntropy(dLogits, logits, targets, rows, classes, scale): LossResult {
      const K = 'softmaxCrossEntropy';
      if (!sizes(K, rows, classes) || !all(dLogits, logits)) {
        calls.reference++;
        return ref.softmaxCrossEntropy(dLogits, logits, targets, rows, classes, scale);
      }
      const n = rows * classes;
      const pd = at(K, 'dLogits', dLogits, 0, n);
      const px = at(K, 'logits', logits, 0, n);
      if (targets.length < rows) throw new RangeError(`${K}: targets has ${targets.length} values, expected ${rows} (one per row)`);
      // [results 16 B][exponentials: classes float64][targets: rows int32]
      const base = lossArea(16 + 8 * classes + 4 * rows);
      const pt = base + 16 + 8 * classes;
      const tg = new Int32Array(mem.buffer, pt, rows);
      for (let r = 0; r < rows; r++) {
        const t = targets[r]!;
        if (t < 0) {
          tg[r] = -1;
        } else {
          checkTarget(t, r, classes); // an index past the row would read and write other buffers
          tg[r] = t;
        }
      }
      calls.wasm++;
      const sum = ex.softmaxCrossEntropy(pd, px, pt, rows, classes, scale, base + 16, base);
      const res = new Int32Array(mem.buffer, base, 2);
      return { sum, count: res[0]!, correct: res[1]! };
    },
    meanSquaredError(dPred, pred, targets, rows, size, scale, mask): LossResult {
      const K = 'meanSquaredError';
      // Targets must be float32 and a mask bytes for the fast path to mean the same thing.
      if (!sizes(K, rows, size) || !all(dPred, pred) || !(targets instanceof Float32Array) ||
        (mask !== undefined && !(mask instanceof Uint8Array))) {
        calls.reference++;
        return ref.meanSquaredError(dPred, pred, targets, rows, size, scale, mask);
      }
      const n = rows * size;
      const pd = at(K, 'dPred', dPred, 0, n);
      const pp = at(K, 'pred', pred, 0, n);
      if (targets.length < n) throw new RangeError(`${K}: targets has ${targets.length} floats, expected ${n}`);
      if (mask && mask.length < rows) throw new RangeError(`${K}: mask has ${mask.length} values, expected ${rows}`);
      // [results 16 B][targets: n float32, unless already in the arena][mask: rows bytes]
      const here = inMemory(targets);
      const base = lossArea(16 + (here ? 0 : 4 * n) + (mask ? rows : 0));
      let pt = base + 16;
      if (here) pt = addressOf(targets);
      else new Float32Array(mem.buffer, pt, n).set(targets.subarray(0, n));
      const pm = base + 16 + (here ? 0 : 4 * n);
      if (mask) new Uint8Array(mem.buffer, pm, rows).set(mask.subarray(0, rows));
      calls.wasm++;
      const sum = ex.meanSquaredError(pd, pp, pt, rows, size, scale, pm, mask ? 1 : 0, base);
      return { sum, count: new Int32Array(mem.buffer, base, 1)[0]!, correct: 0 };
    },
    reserveLoss(rows, width) {
      if (!sizes('reserveLoss', rows, width)) return;
      // The larger of the two layouts above: cross-entropy's, and squared error's with its targets copied in and a mask.
      lossArea(Math.max(16 + 8 * width + 4 * rows, 16 + 4 * rows * width + rows));
    },
    adamUpdate(params, grads, m, v, start, end, s) {
      const K = 'adamUpdate';
      const n = sliceLength(K, start, end);
      if (n === 0) return;
      if (!all(params, grads, m, v)) {
        calls.reference++;
        ref.adamUpdate(params, grads, m, v, start, end, s);
        return;
      }
      const flags = (s.decay ? 1 : 0) | (s.l2 !== 0 ? 2 : 0);
      calls.wasm++;
      ex.adamUpdate(
        slice(K, 'params', params, start, end), slice(K, 'grads', grads, start, end), slice(K, 'exp_avg', m, start, end),
        slice(K, 'exp_avg_sq', v, start, end), n, flags, s.shrink, s.l2, s.w1, s.beta2, s.w2, s.stepSize, s.bc2Sqrt, s.eps,
      );
    },
    sgdUpdate(params, grads, buf, start, end, s) {
      const K = 'sgdUpdate';
      const n = sliceLength(K, start, end);
      if (n === 0) return;
      if (!all(params, grads) || (buf && !inMemory(buf))) {
        calls.reference++;
        ref.sgdUpdate(params, grads, buf, start, end, s);
        return;
      }
      const flags = (buf ? 1 : 0) | (s.first ? 2 : 0) | (s.nesterov ? 4 : 0) | (s.weightDecay !== 0 ? 8 : 0);
      calls.wasm++;
      ex.sgdUpdate(
        slice(K, 'params', params, start, end), slice(K, 'grads', grads, start, end),
        buf ? slice(K, 'momentum_buffer', buf, start, end) : 0, n, flags, s.lr, s.weightDecay, s.momentum, s.keep,
      );
    },
    rmspropUpdate(params, grads, sq, buf, ga, start, end, s) {
      const K = 'rmspropUpdate';
      const n = sliceLength(K, start, end);
      if (n === 0) return;
      if (!all(params, grads, sq) || (buf && !inMemory(buf)) || (ga && !inMemory(ga))) {
        calls.reference++;
        ref.rmspropUpdate(params, grads, sq, buf, ga, start, end, s);
        return;
      }
      const flags = (buf ? 1 : 0) | (ga ? 2 : 0) | (s.weightDecay !== 0 ? 4 : 0);
      calls.wasm++;
      ex.rmspropUpdate(
        slice(K, 'params', params, start, end), slice(K, 'grads', grads, start, end), slice(K, 'square_avg', sq, start, end),
        buf ? slice(K, 'momentum_buffer', buf, start, end) : 0, ga ? slice(K, 'grad_avg', ga, start, end) : 0,
        n, flags, s.lr, s.alpha, s.w, s.eps, s.weightDecay, s.momentum,
      );
    },
    memory: mem,
    calls,
    math: { expF64: ex.expF64, logF64: ex.logF64, expF64Array: ex.expF64Array },
  };
  return k;
}

/**
 * Switches `kernels` to WebAssembly SIMD on `memory` (default: the attached arena, else a new
 * one) and makes `allocF32` allocate there. Returns false, leaving everything as it was, where
 * the module cannot be loaded (no SIMD in this engine, or not built).
 */
export function useWasmKernels(memory?: WasmMemory): boolean {
  try {
    kernelModule();
  } catch {
    return false;
  }
  const mem = memory ?? attachedMemory() ?? createSharedMemory();
  const k = loadWasmKernels(mem);
  attachMemory(mem);
  setKernels(k);
  return true;
}

/** Switches `kernels` back to the TypeScript reference (allocation is left as it is). */
export function useReferenceKernels(): void {
  setKernels(referenceKernels);
}
