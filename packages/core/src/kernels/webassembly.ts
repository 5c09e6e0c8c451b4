/**
 * The part of the WebAssembly JavaScript API that weft uses, typed here as ordinary module
 * types. TypeScript declares `WebAssembly` only in its DOM library, which this Node project does
 * not load; declaring the global ourselves would clash with lib.dom.d.ts in any application that
 * loads both (a second `declare var WebAssembly`), so weft's published typings never declare a
 * global: they name these interfaces, and a DOM `WebAssembly.Memory` fits `WasmMemory`.
 */

/** A WebAssembly.Memory (structurally the same as lib.dom.d.ts's, as far as weft uses it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

interface WasmMemoryDescriptor { initial: number; maximum?: number; shared?: boolean }

/** A compiled WebAssembly.Module. */
export interface WasmModule { readonly __wasmModule?: never }

/** An instantiated WebAssembly.Instance. */
export interface WasmInstance { readonly exports: Record<string, unknown> }

/** The constructors and functions of the global `WebAssembly` namespace weft calls. */
interface WasmApi {
  Memory: new (descriptor: WasmMemoryDescriptor) => WasmMemory;
  Module: new (bytes: ArrayBufferView | ArrayBuffer) => WasmModule;
  Instance: new (module: WasmModule, importObject?: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}

/** The engine's `WebAssembly` namespace, or undefined where there is none. */
export const wasmApi: WasmApi | undefined = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** The engine's `WebAssembly` namespace; throws where there is none. */
export function requireWasmApi(): WasmApi {
  if (!wasmApi) throw new Error('this JavaScript engine has no WebAssembly');
  return wasmApi;
}
