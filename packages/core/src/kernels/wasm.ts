/**
 * The WebAssembly SIMD fast path (gemm, sigmoid, tanh; built from packages/core/asm by
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
import { gemmReference } from './gemm.js';
import { kernels, referenceKernels, setKernels, type Gemm, type Kernels } from './index.js';
import { arenaAlloc, attachMemory, attachedMemory, createSharedMemory, memoryTest } from './memory.js';

/** Where the build puts the module; resolves the same from src/kernels and dist/kernels. */
export const WASM_KERNELS_URL = new URL('../../wasm/kernels.wasm', import.meta.url);

export interface WasmKernels extends Kernels {
  /** The arena this instance works on. */
  readonly memory: WebAssembly.Memory;
  /** Calls run by WebAssembly, and by the reference because an operand was outside `memory`. */
  readonly calls: { wasm: number; reference: number };
}

/** What asm/index.ts exports (addresses in bytes, sizes and leading dimensions in floats). */
interface KernelExports {
  gemm(
    transA: number, transB: number, M: number, N: number, K: number,
    a: number, lda: number, b: number, ldb: number, c: number, ldc: number,
    accumulate: number, scratch: number,
  ): void;
  scratchBytes(): number;
  sigmoid(x: number, n: number): void;
  tanh(x: number, n: number): void;
}

// (module (func (result v128) (v128.const i32x4 0 0 0 0))): compiles only where SIMD does.
const SIMD_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00, 0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b,
]);

/** Whether this engine runs WebAssembly 128-bit SIMD and shared memory (threads). */
export function wasmSimdSupported(): boolean {
  return typeof WebAssembly === 'object' && typeof SharedArrayBuffer === 'function' &&
    WebAssembly.validate(SIMD_PROBE);
}

let compiled: WebAssembly.Module | null = null;
const instances = new WeakMap<WebAssembly.Memory, WasmKernels>();

function kernelModule(): WebAssembly.Module {
  if (compiled) return compiled;
  if (!wasmSimdSupported()) {
    throw new Error('WebAssembly SIMD or shared memory is not available in this engine');
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(WASM_KERNELS_URL);
  } catch (err) {
    throw new Error(
      `cannot read ${WASM_KERNELS_URL.pathname} (${(err as Error).message}): build it with \`pnpm --filter @weft/core build\``,
    );
  }
  compiled = new WebAssembly.Module(bytes);
  return compiled;
}

/** Throws a RangeError unless op(X)'s rows×cols window at (off, ld) lies inside X. */
function checkOperand(name: string, x: Float32Array, off: number, ld: number, rows: number, cols: number): void {
  if (rows === 0 || cols === 0) return;
  if (!Number.isInteger(off) || off < 0 || !Number.isInteger(ld) || ld < 0 ||
    off + (rows - 1) * ld + cols > x.length) {
    throw new RangeError(
      `gemm: ${name} is ${rows}×${cols} at offset ${off} with leading dimension ${ld}, ` +
      `which does not fit in its ${x.length} floats`,
    );
  }
}

/**
 * The wasm kernels on `memory` (an arena from createSharedMemory; default: the attached one,
 * else a new arena), instantiated once per memory and thread. Throws where the module cannot
 * be loaded (no SIMD, not built).
 */
export function loadWasmKernels(memory?: WebAssembly.Memory): WasmKernels {
  const mem = memory ?? attachedMemory() ?? createSharedMemory();
  const cached = instances.get(mem);
  if (cached) return cached;
  const inMemory = memoryTest(mem); // also checks that mem is an arena
  const instance = new WebAssembly.Instance(kernelModule(), {
    env: {
      memory: mem,
      abort: () => { throw new Error('wasm kernels aborted'); },
    },
  });
  const ex = instance.exports as unknown as KernelExports;
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
    if (!(Number.isInteger(M) && Number.isInteger(N) && Number.isInteger(K) && M >= 0 && N >= 0 && K >= 0)) {
      throw new RangeError(`gemm: M, N, K must be non-negative integers, got ${M}, ${N}, ${K}`);
    }
    if (M === 0 || N === 0) return;
    checkOperand(transA ? 'A (transposed)' : 'A', A, aOff, lda, transA ? K : M, transA ? M : K);
    checkOperand(transB ? 'B (transposed)' : 'B', B, bOff, ldb, transB ? N : K, transB ? K : N);
    checkOperand('C', C, cOff, ldc, M, N);
    if (ldc < N) throw new RangeError(`gemm: ldc (${ldc}) must be at least N (${N}): rows of C would overlap`);
    calls.wasm++;
    wasmGemm(
      transA ? 1 : 0, transB ? 1 : 0, M, N, K,
      A.byteOffset + 4 * aOff, lda, B.byteOffset + 4 * bOff, ldb, C.byteOffset + 4 * cOff, ldc,
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
      fast(a.byteOffset + 4 * off, n);
    };

  const k: WasmKernels = {
    name: 'wasm-simd',
    gemm,
    sigmoid: elementwise('sigmoid', ex.sigmoid, referenceKernels.sigmoid),
    tanh: elementwise('tanh', ex.tanh, referenceKernels.tanh),
    memory: mem,
    calls,
  };
  instances.set(mem, k);
  return k;
}

/**
 * Switches `kernels` to WebAssembly SIMD on `memory` (default: the attached arena, else a new
 * one) and makes `allocF32` allocate there. Returns false, leaving everything as it was, where
 * the module cannot be loaded (no SIMD in this engine, or not built).
 */
export function useWasmKernels(memory?: WebAssembly.Memory): boolean {
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

/**
 * Picks the kernels: 'wasm' (throws where unavailable), 'reference', or 'auto' (wasm where
 * available). Returns the name of the kernels now active.
 */
export function useKernels(choice: 'reference' | 'wasm' | 'auto'): string {
  if (choice === 'reference') {
    useReferenceKernels();
  } else if (choice === 'wasm') {
    kernelModule(); // throws with the reason
    useWasmKernels();
  } else if (choice === 'auto') {
    useWasmKernels();
  } else {
    throw new TypeError(`kernels must be 'reference', 'wasm' or 'auto', got ${String(choice)}`);
  }
  return kernels.name;
}

/** The name of the kernels now active: 'reference' or 'wasm-simd'. */
export function activeKernels(): string {
  return kernels.name;
}
