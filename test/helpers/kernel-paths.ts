/**
 * Declares a group of tests once per kernel path: the TypeScript reference, then the WebAssembly
 * kernels with every buffer allocated in their memory. On the WebAssembly path the group ends by
 * checking that no operand fell back to the reference, so the fast path really ran. `pnpm test`
 * builds the WebAssembly module first; a missing build fails here rather than skipping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachMemory, createSharedMemory, detachMemory, loadWasmKernels, setKernels, useReferenceKernels, type WasmKernels } from '@weft/core';

export function forEachKernelPath(title: string, body: () => void): void {
  describe(`${title} (reference kernels)`, body);
  describe(`${title} (WebAssembly kernels)`, () => {
    let wasm: WasmKernels;
    beforeAll(() => {
      wasm = loadWasmKernels(createSharedMemory(64));
      attachMemory(wasm.memory);
      setKernels(wasm);
    });
    afterAll(() => {
      useReferenceKernels();
      detachMemory();
    });
    body();
    it('ran everything in WebAssembly (no operand fell back to the reference)', () => {
      expect(wasm.calls.wasm).toBeGreaterThan(0);
      expect(wasm.calls.reference).toBe(0);
    });
  });
}
