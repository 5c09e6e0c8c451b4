/**
 * The memory the fast kernels work on (DESIGN.md, "one shared arena per training run").
 *
 * `allocF32(n)` is the ONE function weft code uses for big buffers (parameters, gradients,
 * optimizer state, scratch). With no arena attached it returns an ordinary Float32Array; once a
 * thread has attached an arena (`useWasmKernels()` does so, a worker calls `attachMemory` or
 * `useWasmKernels(memory)` with the coordinator's memory) it returns views into that shared
 * `WebAssembly.Memory`, which the WebAssembly kernels read and write in place.
 *
 * An arena is a shared WebAssembly.Memory whose first HEADER_BYTES hold a header:
 *
 *   word 0      MAGIC ('weft')
 *   words 1..4  a random 128-bit identity, so that any thread can tell whether a
 *               SharedArrayBuffer it has never seen is a view of this memory
 *   word 5      bump pointer: byte address of the next free byte (advanced atomically)
 *   word 6      maximum size in pages (WebAssembly.Memory does not expose its maximum)
 *
 * Allocation is a lock-free bump pointer in the memory itself, so every thread attached to the
 * arena allocates from the same space without overlap. Nothing is ever freed: a training run
 * sizes its buffers up front and keeps them.
 *
 * Growth: when an allocation passes the end, the allocating thread grows the memory. After a
 * grow, `memory.buffer` is a NEW SharedArrayBuffer object (older views stay valid and still
 * alias the same bytes, but `view.buffer !== memory.buffer`), so membership is decided by a
 * WeakSet of every buffer object seen for the arena, plus the header identity for buffers that
 * arrived from another thread.
 */

import { requireWasmApi, type WasmMemory } from './webassembly.js';

export type { WasmMemory } from './webassembly.js';

const MAGIC = 0x74666577; // 'weft' little-endian
const W_MAGIC = 0;
const W_ID = 1; // 4 words
const W_BUMP = 5;
const W_MAX_PAGES = 6;
const HEADER_WORDS = 8;
/** Bytes reserved at address 0 for the header (one cache line: allocations start aligned). */
export const HEADER_BYTES = 64;
/** Every allocation starts on a cache line, so threads writing neighbouring buffers never share one. */
export const ALLOC_ALIGN = 64;
export const PAGE_BYTES = 65536;
/** wasm32 limit: 4 GiB. */
export const MAX_PAGES = 65536;

/** The most a run's WebAssembly memory can hold: 4 GiB. */
export const MEMORY_LIMIT_BYTES = MAX_PAGES * PAGE_BYTES;

/** Bytes as people read them: 512 B, 1.5 MiB, 160 GiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let u = 0;
  let x = n;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  const digits = u === 0 || x >= 100 ? 0 : x >= 10 ? 1 : 2;
  return `${Number(x.toFixed(digits))} ${units[u]}`;
}

/**
 * An allocation the arena cannot serve: it would pass the memory's maximum (at most 4 GiB), or
 * the host refused to grow it. Not a fault of the thread that asked: asking again asks for the
 * same bytes, so callers report it instead of retrying (the worker pool does; isOutOfMemory).
 */
export class ArenaOutOfMemoryError extends RangeError {
  override name = 'ArenaOutOfMemoryError';
  constructor(readonly requested: number, readonly left: number, readonly maxBytes: number, why?: string) {
    super(`${OUT_OF_MEMORY}: ${requested} bytes requested, ${Math.max(0, left)} of ${maxBytes} left` +
      (why ? ` (${why})` : maxBytes < MAX_PAGES * PAGE_BYTES ? ' (createSharedMemory(initialPages, maxPages): raise maxPages)' : ' (4 GiB is the most WebAssembly memory can hold)'));
  }
}

const OUT_OF_MEMORY = 'out of WebAssembly memory';

/**
 * Whether an error, possibly posted from another thread (which keeps its message but not its
 * class), says that memory ran out: the arena's ArenaOutOfMemoryError, a typed array the host
 * could not allocate, or a worker stopped at its heap limit.
 */
export function isOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return err instanceof ArenaOutOfMemoryError || code === 'ERR_WORKER_OUT_OF_MEMORY' ||
    new RegExp(`^(${OUT_OF_MEMORY}|Array buffer allocation failed)|Invalid typed array length|reaching memory limit`).test(err.message);
}

interface Arena {
  memory: WasmMemory;
  /** Header words on the memory (a view stays valid across growth of shared memory). */
  header: Uint32Array;
  /** The 128-bit identity, read once. */
  id: [number, number, number, number];
  /** Every buffer object known to view this memory. */
  buffers: WeakSet<ArrayBufferLike>;
  maxBytes: number;
}

const arenas = new WeakMap<WasmMemory, Arena>();
let attached: Arena | null = null;

function pagesArg(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_PAGES) {
    throw new RangeError(`createSharedMemory: ${name} must be an integer in 1..${MAX_PAGES} (64 KiB pages), got ${String(v)}`);
  }
  return v;
}

/**
 * A new shared WebAssembly.Memory set up as an arena (header written, bump pointer after it).
 * `maxPages` bounds growth; shared memory reserves its maximum as address space up front, which
 * is cheap on 64-bit hosts, so the default is the wasm32 limit.
 */
export function createSharedMemory(initialPages = 256, maxPages = MAX_PAGES): WasmMemory {
  pagesArg('initialPages', initialPages);
  pagesArg('maxPages', maxPages);
  if (initialPages > maxPages) {
    throw new RangeError(`createSharedMemory: initialPages (${initialPages}) must not exceed maxPages (${maxPages})`);
  }
  const memory = new (requireWasmApi().Memory)({ initial: initialPages, maximum: maxPages, shared: true });
  const header = new Uint32Array(memory.buffer, 0, HEADER_WORDS);
  const id = new Uint32Array(4);
  crypto.getRandomValues(id);
  header.set(id, W_ID);
  header[W_MAX_PAGES] = maxPages;
  Atomics.store(header, W_BUMP, HEADER_BYTES);
  // Written last: a thread that sees the magic sees a complete header.
  Atomics.store(header, W_MAGIC, MAGIC);
  return memory;
}

/** The arena state of `memory` in this thread (created on first use). */
function arenaOf(memory: WasmMemory): Arena {
  let a = arenas.get(memory);
  if (a) return a;
  if (!(memory instanceof requireWasmApi().Memory)) {
    throw new TypeError('memory must be a WebAssembly.Memory created by createSharedMemory');
  }
  const buffer = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer)) {
    throw new TypeError('memory must be shared (created by createSharedMemory): growing an unshared memory detaches every view of it');
  }
  const header = new Uint32Array(buffer, 0, HEADER_WORDS);
  if (Atomics.load(header, W_MAGIC) !== MAGIC) {
    throw new TypeError('memory is not a weft arena: create it with createSharedMemory');
  }
  a = {
    memory,
    header,
    id: [header[W_ID]!, header[W_ID + 1]!, header[W_ID + 2]!, header[W_ID + 3]!],
    buffers: new WeakSet([buffer]),
    maxBytes: header[W_MAX_PAGES]! * PAGE_BYTES,
  };
  arenas.set(memory, a);
  return a;
}

/**
 * Makes `memory` (an arena from createSharedMemory, possibly created by another thread) the one
 * that `allocF32` allocates from in this thread.
 */
export function attachMemory(memory: WasmMemory): void {
  attached = arenaOf(memory);
}

/** Back to ordinary heap arrays for new allocations (arrays already allocated stay valid). */
export function detachMemory(): void {
  attached = null;
}

/** The arena `allocF32` allocates from in this thread, or null (heap). */
export function attachedMemory(): WasmMemory | null {
  return attached ? attached.memory : null;
}

/** The memory's current buffer, remembered as one of its views. */
function currentBuffer(a: Arena): SharedArrayBuffer {
  const buf = a.memory.buffer as unknown as SharedArrayBuffer;
  a.buffers.add(buf);
  return buf;
}

/**
 * Reserves `byteLength` bytes of `memory` (an arena), 64-byte aligned, growing the memory if
 * needed; returns the byte address. Safe to call from any number of threads at once.
 */
export function arenaAlloc(memory: WasmMemory, byteLength: number): number {
  if (!Number.isInteger(byteLength) || byteLength < 0) {
    throw new RangeError(`arenaAlloc: byteLength must be a non-negative integer, got ${String(byteLength)}`);
  }
  const a = arenaOf(memory);
  const size = Math.ceil(byteLength / ALLOC_ALIGN) * ALLOC_ALIGN;
  // compareExchange rather than add: a failed request must leave the pointer unchanged (an
  // add past 4 GiB would wrap and hand out addresses that are already in use).
  let start: number;
  let end: number;
  for (;;) {
    start = Atomics.load(a.header, W_BUMP);
    end = start + size;
    if (end > a.maxBytes) throw new ArenaOutOfMemoryError(byteLength, a.maxBytes - start, a.maxBytes);
    if (Atomics.compareExchange(a.header, W_BUMP, start, end) === start) break;
  }
  // Another thread may grow at the same time; both grows succeed or one finds enough room.
  while (a.memory.buffer.byteLength < end) {
    const have = a.memory.buffer.byteLength;
    try {
      a.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
    } catch (err) {
      if (a.memory.buffer.byteLength >= end) break;
      throw new ArenaOutOfMemoryError(byteLength, a.maxBytes - start, a.maxBytes, `the memory could not grow to ${end} bytes: ${(err as Error).message}`);
    }
  }
  return start;
}

/**
 * A Float32Array of n zeros: in the attached arena if this thread has one (so the WebAssembly
 * kernels work on it in place), else on the ordinary heap. Use it for every big buffer.
 */
export function allocF32(n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`allocF32: n must be a non-negative integer, got ${String(n)}`);
  }
  if (!attached) return new Float32Array(n);
  return allocF32In(attached.memory, n);
}

/** Like allocF32, for int32 data the kernels read (token ids): in the attached arena if any. */
export function allocI32(n: number): Int32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`allocI32: n must be a non-negative integer, got ${String(n)}`);
  }
  if (!attached) return new Int32Array(n);
  const a = attached;
  const ptr = arenaAlloc(a.memory, 4 * n);
  return new Int32Array(currentBuffer(a), ptr, n);
}

/** allocF32 in a given arena, whatever this thread has attached. */
export function allocF32In(memory: WasmMemory, n: number): Float32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`allocF32: n must be a non-negative integer, got ${String(n)}`);
  }
  const a = arenaOf(memory);
  const ptr = arenaAlloc(memory, 4 * n);
  // Zeros already: the bump pointer never hands out a byte twice, wasm memory starts (and
  // grows) zeroed, and the kernel module has no data segments.
  return new Float32Array(currentBuffer(a), ptr, n);
}

/**
 * n zeroed uint32 in `memory` (the native addon's argument blocks): allocF32In's bytes as
 * uint32, so the view is made after the allocation, of the buffer it may have grown.
 */
export function allocU32In(memory: WasmMemory, n: number): Uint32Array {
  const f = allocF32In(memory, n);
  return new Uint32Array(f.buffer, f.byteOffset, n);
}

/**
 * Whether `array` views `memory`, whichever of its buffer objects (before or after growth, from
 * this thread or posted from another) it was made on.
 */
export function isInMemory(array: ArrayBufferView, memory: WasmMemory): boolean {
  const a = arenaOf(memory);
  const buf = array.buffer;
  if (a.buffers.has(buf)) return true;
  if (!(buf instanceof SharedArrayBuffer) || buf.byteLength < HEADER_BYTES) return false;
  // A buffer object this thread has not seen: the same memory iff it carries the same identity.
  const h = new Uint32Array(buf, 0, HEADER_WORDS);
  if (h[W_MAGIC] !== MAGIC || h[W_ID] !== a.id[0] || h[W_ID + 1] !== a.id[1] ||
    h[W_ID + 2] !== a.id[2] || h[W_ID + 3] !== a.id[3]) return false;
  a.buffers.add(buf);
  return true;
}

/**
 * `isInMemory` bound to one memory, for hot paths: the common case (a buffer object this thread
 * has seen) is one WeakSet lookup.
 */
export function memoryTest(memory: WasmMemory): (array: ArrayBufferView) => boolean {
  const buffers = arenaOf(memory).buffers;
  return (array) => buffers.has(array.buffer) || isInMemory(array, memory);
}

/**
 * For hot paths: the byte address in `memory` of each array's first element, or -1 for an array
 * outside it, cached per array (both are fixed for the array's life). Reading `.buffer` and
 * `.byteOffset` of a view on a growable shared buffer costs ~100 ns each; with five to seven
 * arrays a cell kernel call spent ~1 µs on them, ~8 ms of a bilstm step's 8,192 calls.
 */
export function arenaAddresses(memory: WasmMemory): (array: ArrayBufferView) => number {
  let lookup = addressLookups.get(memory);
  if (lookup) return lookup;
  const inMemory = memoryTest(memory);
  const addresses = new WeakMap<ArrayBufferView, number>();
  lookup = (x) => {
    let a = addresses.get(x);
    if (a === undefined) {
      a = inMemory(x) ? x.byteOffset : -1;
      addresses.set(x, a);
    }
    return a;
  };
  addressLookups.set(memory, lookup);
  return lookup;
}

/** arenaAddresses' lookup of each memory, one per memory and thread (the WebAssembly and native kernels share it). */
const addressLookups = new WeakMap<WasmMemory, (array: ArrayBufferView) => number>();

/** Bytes handed out so far (header included) and the memory's current size. */
export function arenaUsage(memory: WasmMemory): { used: number; byteLength: number; maxBytes: number } {
  const a = arenaOf(memory);
  return { used: Atomics.load(a.header, W_BUMP), byteLength: a.memory.buffer.byteLength, maxBytes: a.maxBytes };
}
