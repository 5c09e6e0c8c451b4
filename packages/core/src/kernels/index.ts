/**
 * The kernel table: every hot loop of weft is called through `kernels`, so the fast
 * WebAssembly SIMD implementation and the TypeScript reference are interchangeable and can be
 * tested against each other. `useKernels('reference' | 'wasm' | 'auto')` picks the path;
 * `kernels.name` says which one runs (the CLI prints it).
 *
 * Arrays are addressed by (array, offset): a fast path whose memory is a WebAssembly.Memory
 * checks that the array views that memory (memory.ts `isInMemory`: after growth the buffer
 * object changes) and uses `array.byteOffset + 4 * offset` as the pointer; anything else falls
 * back to the reference for that call.
 */
import { gemmReference } from './gemm.js';

export type Gemm = typeof gemmReference;

export interface Kernels {
  /** 'reference' (TypeScript) or 'wasm-simd'. */
  name: string;
  gemm: Gemm;
  /** a[off..off+n) = σ(a). The wasm version is within 3 ulp of the exact value. */
  sigmoid(a: Float32Array, off: number, n: number): void;
  /** a[off..off+n) = tanh(a). The wasm version is within 2 ulp of the exact value. */
  tanh(a: Float32Array, off: number, n: number): void;
}

export const referenceKernels: Kernels = {
  name: 'reference',
  gemm: gemmReference,
  sigmoid(a, off, n) {
    for (let i = off; i < off + n; i++) a[i] = 1 / (1 + Math.exp(-a[i]!));
  },
  tanh(a, off, n) {
    for (let i = off; i < off + n; i++) a[i] = Math.tanh(a[i]!);
  },
};

/** The active kernels. Mutated in place by `setKernels` so hot code can hold a reference. */
export const kernels: Kernels = { ...referenceKernels };

export function setKernels(k: Kernels): void {
  kernels.name = k.name;
  kernels.gemm = k.gemm;
  kernels.sigmoid = k.sigmoid;
  kernels.tanh = k.tanh;
}

export { gemmReference };
