/**
 * The native path: the matrix product, the fused cell kernels (LSTM, GRU, RNN forward and
 * backward) and the gate nonlinearities run in weft's Node-API addon (packages/core/native, C
 * with AVX-512, AVX2 + FMA or portable code chosen by CPUID); the other kernels of the table
 * (rows, losses, optimizers: a few percent of a step, BENCHMARKS.md) are the WebAssembly ones.
 * Both work on the same shared WebAssembly.Memory arena in place: the addon is bound to the
 * memory once per thread and takes byte addresses, like the WebAssembly module, through a small
 * argument block in the arena (twelve numbers passed as arguments cost ~160 ns of conversions
 * per call; read from memory, ~30 ns for the whole call). The cell kernels compute what the
 * WebAssembly ones do, operation for operation (native/csrc/cells_impl.h): the same bits, so
 * the two paths differ in the product's rounding only.
 *
 * The addon is built when @weft/core is installed (native/build.mjs); that build may fail (no
 * compiler, no Node headers) without failing the install, and then this path is unavailable
 * and `nativeUnavailableReason()` says why. WEFT_NATIVE=0 turns it off on purpose;
 * WEFT_NATIVE_DIR names another native folder to load from (its build/Release/weft_native.node
 * and build.log: tests build a copy there to stand in for a failed build).
 *
 * A call whose operands are not all in the arena runs the TypeScript reference, as on the
 * WebAssembly path. One variant per process (`nativeAddon().variants[0]`, the best this CPU
 * runs): variants round differently, and the workers of a run must not mix them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkGemm, gemmReference } from './gemm.js';
import { gemmRowsBy, productRows, type GemmRows } from './group-product.js';
import { setKernels, type Gemm, type Kernels } from './index.js';
import { allocU32In, arenaAddresses, arenaUsage, attachMemory, attachedMemory, createSharedMemory, type WasmMemory } from './memory.js';
import { wasmKernelsWith, wasmSimdSupported, type KernelExports } from './wasm.js';

/** This package's native folder (binding.gyp, build.mjs); resolves the same from src/kernels and dist/kernels. */
export const NATIVE_DIR = fileURLToPath(new URL('../../native', import.meta.url));

/** The addon's exports (native/src/addon.c). */
export interface NativeAddon {
  /** Variants this CPU runs, best first: 'avx512', 'avx2', 'generic'. */
  readonly variants: readonly string[];
  /** Variants for tests only ('wide-on-avx2': the AVX-512 code compiled for AVX2). */
  readonly testVariants: readonly string[];
  /**
   * `kernel` (default 'gemm') on the memory that `args` (12 values or more, private to this
   * thread) lies in; it reads its arguments from `args`. gemm: transA, transB, M, N, K, a, lda,
   * b, ldb, c, ldc, accumulate (addresses in bytes, flags 0 or 1); gemmRows: M, N, K, b, ldb,
   * lda, ldc, accumulate, count, then a, c, rows per segment (group-product.ts); the cell kernels and
   * sigmoid, tanh: those of the WebAssembly module's function of that name, in its order.
   * Twelve numbers passed as arguments would cost more than the call.
   */
  bind(args: Uint32Array, variant: string, kernel?: NativeCellKernel | 'gemm' | 'gemmRows'): () => void;
  /** Address of view's first byte. */
  address(view: ArrayBufferView): number;
  /**
   * Asks the OS to back the 2 MiB-aligned part of [start of view's buffer, + bytes) with
   * transparent huge pages (Linux madvise MADV_HUGEPAGE); whether it agreed (false elsewhere).
   */
  adviseHugePages(view: ArrayBufferView, bytes: number): boolean;
  /** CPU time of the calling thread in ms (-1 where the OS has no such clock): bench/step.mjs --clock cpu. */
  threadCpuMs(): number;
}

/** The WebAssembly module's functions that the addon also runs (same arguments, same bits). */
export const NATIVE_CELL_KERNELS = [
  'sigmoid', 'tanh', 'lstmForward', 'lstmBackward', 'rnnForward', 'rnnBackward', 'gruForward', 'gruBackward',
] as const;
export type NativeCellKernel = (typeof NATIVE_CELL_KERNELS)[number];

export interface NativeKernels extends Kernels {
  readonly memory: WasmMemory;
  /** The addon's variant that runs the product. */
  readonly variant: string;
  /** Calls run natively (products, cells); calls of the WebAssembly kernels; calls that fell back to the reference. */
  readonly calls: { readonly native: number; readonly wasm: number; readonly reference: number };
}

let loaded: { addon: NativeAddon } | { reason: string } | undefined;

/** What adviseHugePages answered for each memory, in this thread. */
const hugePageAdvice = new WeakMap<WasmMemory, boolean>();

/** Linux's transparent huge pages are built in and not turned off ("[never]"). */
function transparentHugePages(): boolean {
  try {
    return !readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').includes('[never]');
  } catch {
    return false;
  }
}

/**
 * The arena's whole reservation (its maximum, so every later grow too) on transparent huge
 * pages where Linux has them, unless WEFT_HUGE_PAGES=0: a step reads rows scattered over
 * ~100 MB of arena (each shard's gates, states and gradients), past what the TLB reaches with
 * 4 KiB pages (Zen 3: 2,048 entries, 8 MiB). Only pages first touched after the advice are
 * huge, so a memory is advised before it fills: by the kernels when they first bind to it, and
 * by the workers' Trainer as it creates its arena (`adviseArenaPages`). The same bits: only the
 * page size changes. The cost is memory: arena bytes allocated but never written become
 * resident along with their 2 MiB page (peak RSS of bilstm-b256 about 6% higher, BENCHMARKS.md).
 */
function adviseHugePages(addon: NativeAddon, mem: WasmMemory): boolean {
  let ok = hugePageAdvice.get(mem);
  if (ok === undefined) {
    // (An addon built before the advice existed has no adviseHugePages: it runs without.)
    ok = process.env.WEFT_HUGE_PAGES !== '0' && typeof addon.adviseHugePages === 'function' && transparentHugePages() &&
      addon.adviseHugePages(new Uint8Array(mem.buffer, 0, 1), arenaUsage(mem).maxBytes);
    hugePageAdvice.set(mem, ok);
  }
  return ok;
}

/** adviseHugePages where the addon is built (false elsewhere): for a memory about to be filled before any kernel binds to it. */
export function adviseArenaPages(memory: WasmMemory): boolean {
  const addon = nativeAddon();
  return addon ? adviseHugePages(addon, memory) : false;
}

/** Whether WEFT_NATIVE=0 turns the native path off on purpose. */
export function nativeTurnedOff(): boolean {
  return process.env.WEFT_NATIVE === '0';
}

function load(): { addon: NativeAddon } | { reason: string } {
  if (nativeTurnedOff()) return { reason: 'turned off by WEFT_NATIVE=0' };
  if (!wasmSimdSupported()) return { reason: 'it needs WebAssembly SIMD and shared memory for its other kernels' };
  const dir = process.env.WEFT_NATIVE_DIR || NATIVE_DIR;
  // Where native/build.mjs puts the addon, and what it says about its last run (why it failed, say).
  const file = join(dir, 'build', 'Release', 'weft_native.node');
  if (!existsSync(file)) {
    let said = '';
    try {
      said = readFileSync(join(dir, 'build.log'), 'utf8').split('\n')[0]!.replace(/^weft native: /, '');
    } catch { /* no log: never built */ }
    if (said.startsWith('built')) said = ''; // since removed
    return {
      reason: `the addon is not built (${said || `no ${file}`}); ` +
        'build it with `pnpm --filter @weft/core run build:native`',
    };
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    if (!addon.variants?.length) return { reason: `${file} offers no variant for this CPU` };
    return { addon };
  } catch (err) {
    return { reason: `cannot load ${file}: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** The addon, or null where it is unavailable (then `nativeUnavailableReason()` says why). */
export function nativeAddon(): NativeAddon | null {
  loaded ??= load();
  return 'addon' in loaded ? loaded.addon : null;
}

/** Why the native path cannot run here, or null where it can. */
export function nativeUnavailableReason(): string | null {
  loaded ??= load();
  return 'reason' in loaded ? loaded.reason : null;
}

const instances = new WeakMap<WasmMemory, Map<string, NativeKernels>>();

/**
 * The native kernels on `memory` (default: the attached arena, else a new one), once per memory,
 * variant and thread. `variant` defaults to the best this CPU runs. Throws where the addon is
 * unavailable.
 */
export function loadNativeKernels(memory?: WasmMemory, variant?: string): NativeKernels {
  const addon = nativeAddon();
  if (!addon) throw new Error(`native kernels are unavailable: ${nativeUnavailableReason()}`);
  const v = variant ?? addon.variants[0]!;
  if (![...addon.variants, ...addon.testVariants].includes(v)) {
    throw new RangeError(`native variant '${v}' does not run on this CPU (it runs ${addon.variants.join(', ')})`);
  }
  const mem = memory ?? attachedMemory() ?? createSharedMemory();
  const hugePages = adviseHugePages(addon, mem);
  let byVariant = instances.get(mem);
  if (!byVariant) instances.set(mem, (byVariant = new Map()));
  const cached = byVariant.get(v);
  if (cached) return cached;

  // The cell kernels: the addon's, behind the WebAssembly path's argument checks and fallbacks.
  const cellArgs = allocU32In(mem, 16);
  let cells = 0;
  const replace: Partial<KernelExports> = {};
  // Fixed parameters, not rest ones (an array per call, on the per-step path): a kernel takes at
  // most 10 arguments, and the slots past its own are not read.
  for (const name of NATIVE_CELL_KERNELS) {
    const run = addon.bind(cellArgs, v, name);
    (replace as Record<string, (...xs: number[]) => void>)[name] = (
      a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0, i = 0, j = 0,
    ): void => {
      cellArgs[0] = a; cellArgs[1] = b; cellArgs[2] = c; cellArgs[3] = d; cellArgs[4] = e;
      cellArgs[5] = f; cellArgs[6] = g; cellArgs[7] = h; cellArgs[8] = i; cellArgs[9] = j;
      cells++;
      run();
    };
  }
  const wasm = wasmKernelsWith(mem, replace); // every other kernel; also checks that mem is an arena
  const addressOf = arenaAddresses(mem); // byte address of an array's first float, -1 outside the arena
  const args = allocU32In(mem, 12);
  const nativeGemm = addon.bind(args, v);
  let native = 0;
  let reference = 0;

  const gemm: Gemm = (transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate) => {
    const a = addressOf(A), b = addressOf(B), c = addressOf(C);
    if (a < 0 || b < 0 || c < 0) {
      reference++;
      gemmReference(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc, accumulate);
      return;
    }
    if (!checkGemm(transA, transB, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc)) return;
    native++;
    args[0] = transA ? 1 : 0;
    args[1] = transB ? 1 : 0;
    args[2] = M;
    args[3] = N;
    args[4] = K;
    args[5] = a + 4 * aOff;
    args[6] = lda;
    args[7] = b + 4 * bOff;
    args[8] = ldb;
    args[9] = c + 4 * cOff;
    args[10] = ldc;
    args[11] = accumulate ? 1 : 0;
    nativeGemm();
  };

  // The per-step product over a group's rows: the rows go to the addon's product as row pointers,
  // one call per step; its argument block grows (a new block, bound again) with the segments of a step.
  const byProducts = gemmRowsBy(gemm, 0);
  let rowsArgs: Uint32Array = new Uint32Array(0);
  let nativeRows = (): void => {};
  const gemmRows: GemmRows = (s, N, K, lda, ldc, B, bOff, ldb, accumulate, rowsA, rowsC) => {
    if (9 + 3 * s.count > rowsArgs.length) {
      const n = 9 + 3 * Math.max(s.count, 2 * (rowsArgs.length - 9) / 3, 16);
      rowsArgs = allocU32In(mem, n);
      nativeRows = addon.bind(rowsArgs, v, 'gemmRows');
    }
    const b = addressOf(B);
    let inArena = b >= 0 && N > 0 && K > 0;
    for (let i = 0; i < s.count && inArena; i++) {
      const a = addressOf(s.a[i]!), c = addressOf(s.c[i]!);
      inArena = a >= 0 && c >= 0;
      rowsArgs[9 + 3 * i] = a + 4 * s.aOff[i]!;
      rowsArgs[10 + 3 * i] = c + 4 * s.cOff[i]!;
      rowsArgs[11 + 3 * i] = s.n[i]!;
    }
    if (!inArena) {
      byProducts(s, N, K, lda, ldc, B, bOff, ldb, accumulate, rowsA, rowsC); // counts its own calls
      return;
    }
    const M = productRows(s.rows);
    checkGemm(false, false, M, N, K, rowsA, 0, K, B, bOff, ldb, rowsC, 0, N); // sizes, B's window, the fallback's scratch
    for (let i = 0; i < s.count; i++) {
      checkGemm(false, false, s.n[i]!, N, K, s.a[i]!, s.aOff[i]!, lda, B, bOff, ldb, s.c[i]!, s.cOff[i]!, ldc);
    }
    native++;
    rowsArgs[0] = M;
    rowsArgs[1] = N;
    rowsArgs[2] = K;
    rowsArgs[3] = b + 4 * bOff;
    rowsArgs[4] = ldb;
    rowsArgs[5] = lda;
    rowsArgs[6] = ldc;
    rowsArgs[7] = accumulate ? 1 : 0;
    rowsArgs[8] = s.count;
    nativeRows();
  };

  const k: NativeKernels = {
    ...wasm,
    name: 'native',
    detail: `${v} product and cells${hugePages ? ', arena on huge pages' : ''}; WebAssembly SIMD for the rest`,
    gemm,
    gemmRows,
    memory: mem,
    variant: v,
    calls: {
      get native() { return native + cells; },
      get wasm() { return wasm.calls.wasm - cells; },
      get reference() { return reference + wasm.calls.reference; },
    },
  };
  byVariant.set(v, k);
  return k;
}

/**
 * Switches `kernels` to the native path on `memory` (default: the attached arena, else a new
 * one) and makes `allocF32` allocate there. Returns false, leaving everything as it was, where
 * the addon is unavailable.
 */
export function useNativeKernels(memory?: WasmMemory): boolean {
  if (!nativeAddon()) return false;
  const mem = memory ?? attachedMemory() ?? createSharedMemory();
  const k = loadNativeKernels(mem);
  attachMemory(mem);
  setKernels(k);
  return true;
}
