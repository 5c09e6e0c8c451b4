/**
 * The kernel table: every hot loop of weft is called through `kernels`, so the fast
 * WebAssembly SIMD implementation and the TypeScript reference are interchangeable and can be
 * tested against each other. `useKernels('reference' | 'wasm' | 'auto')` picks the path;
 * `kernels.name` says which one runs (the CLI prints it).
 *
 * Arrays are addressed by (array, offset): a fast path whose memory is a WebAssembly.Memory
 * checks `array.buffer === memory.buffer` and uses `array.byteOffset + 4 * offset` as the
 * pointer; anything else falls back to the reference for that call.
 */
import { gemmReference } from './gemm.js';

export type Gemm = typeof gemmReference;

export interface Kernels {
  /** 'reference' (TypeScript) or 'wasm-simd'. */
  name: string;
  gemm: Gemm;
}

export const referenceKernels: Kernels = { name: 'reference', gemm: gemmReference };

/** The active kernels. Mutated in place by `setKernels` so hot code can hold a reference. */
export const kernels: Kernels = { ...referenceKernels };

export function setKernels(k: Kernels): void {
  kernels.name = k.name;
  kernels.gemm = k.gemm;
}

export { gemmReference };
