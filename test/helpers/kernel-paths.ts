/**
 * Declares a group of tests once per kernel path: the TypeScript reference, the WebAssembly
 * kernels, and the native path (the addon's product and cells, WebAssembly for the rest), with every
 * buffer allocated in their memory. On a fast path the group ends by checking that no operand
 * fell back to the reference, so the fast path really ran. `pnpm test` builds the WebAssembly
 * module and the native addon first; a missing build fails here rather than skipping, except
 * that WEFT_NATIVE=0 leaves the native group out on purpose (a machine without a compiler).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachMemory, createSharedMemory, detachMemory, loadNativeKernels, loadWasmKernels, nativeTurnedOff, setKernels,
  useReferenceKernels, type NativeKernels, type WasmKernels, type WasmMemory,
} from '@weft/core';

export function forEachKernelPath(title: string, body: () => void): void {
  describe(`${title} (reference kernels)`, body);
  fastPath(`${title} (WebAssembly kernels)`, (memory) => loadWasmKernels(memory), body);
  if (!nativeTurnedOff()) fastPath(`${title} (native kernels)`, (memory) => loadNativeKernels(memory), body);
}

function fastPath(title: string, load: (memory: WasmMemory) => WasmKernels | NativeKernels, body: () => void): void {
  describe(title, () => {
    let fast: WasmKernels | NativeKernels;
    beforeAll(() => {
      fast = load(createSharedMemory(64)); // throws, saying why, where the path is not built
      attachMemory(fast.memory);
      setKernels(fast);
    });
    afterAll(() => {
      useReferenceKernels();
      detachMemory();
    });
    body();
    it('ran everything on the fast path (no operand fell back to the reference)', () => {
      const calls = fast.calls as { wasm: number; reference: number; native?: number };
      expect(calls.wasm).toBeGreaterThan(0);
      if (fast.name === 'native') expect(calls.native).toBeGreaterThan(0);
      expect(calls.reference).toBe(0);
    });
  });
}
