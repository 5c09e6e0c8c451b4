// The arena allocator: no overlap, growth, recognising views of the memory, errors.
import { afterEach, describe, expect, it } from 'vitest';
import { requireWasmApi } from './webassembly.js';
import { Rng } from '../rng.js';
import { gemmReference } from './gemm.js';
import {
  ArenaOutOfMemoryError, isOutOfMemory,
  ALLOC_ALIGN, HEADER_BYTES, PAGE_BYTES, allocF32, allocF32In, arenaAddresses, arenaAlloc, arenaUsage, attachMemory,
  attachedMemory, createSharedMemory, detachMemory, isInMemory,
} from './memory.js';
import { loadWasmKernels } from './wasm.js';

afterEach(() => detachMemory());

describe('allocF32', () => {
  it('returns ordinary zeroed heap arrays when no arena is attached', () => {
    expect(attachedMemory()).toBeNull();
    const x = allocF32(10);
    expect(x.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Array.from(x)).toEqual(new Array(10).fill(0));
  });

  it('allocates from the attached arena, zeroed, and never overlapping', () => {
    const memory = createSharedMemory(1);
    attachMemory(memory);
    expect(attachedMemory()).toBe(memory);
    const rng = new Rng(5);
    const arrays: Float32Array[] = [];
    for (let n = 0; n < 300; n++) {
      const a = allocF32(rng.int(3) === 0 ? 0 : 1 + rng.int(700));
      expect(isInMemory(a, memory)).toBe(true);
      expect(a.byteOffset % ALLOC_ALIGN).toBe(0);
      expect(a.byteOffset).toBeGreaterThanOrEqual(HEADER_BYTES);
      expect(a.every((v) => v === 0)).toBe(true);
      a.fill(n + 1);
      arrays.push(a);
    }
    // Each keeps its own fill: no other allocation wrote over it.
    arrays.forEach((a, n) => expect(a.every((v) => v === n + 1)).toBe(true));
    const spans = arrays.map((a) => [a.byteOffset, a.byteOffset + a.byteLength] as const).sort((p, q) => p[0] - q[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it('grows the memory; arrays made before a grow keep their contents and are still recognised', () => {
    const memory = createSharedMemory(1, 64);
    attachMemory(memory);
    const first = allocF32(1000);
    first.fill(3);
    const buffer0 = memory.buffer;
    const big = allocF32(3 * PAGE_BYTES / 4); // 3 pages: must grow
    expect(memory.buffer.byteLength).toBeGreaterThanOrEqual(big.byteOffset + big.byteLength);
    expect(memory.buffer).not.toBe(buffer0);
    expect(first.buffer).not.toBe(memory.buffer);
    expect(isInMemory(first, memory)).toBe(true);
    expect(isInMemory(big, memory)).toBe(true);
    expect(first.every((v) => v === 3)).toBe(true);
    // Old and new views alias the same bytes.
    new Float32Array(memory.buffer, first.byteOffset, 1)[0] = 42;
    expect(first[0]).toBe(42);
    expect(arenaUsage(memory).used).toBeGreaterThan(big.byteOffset);
  });

  it('arrays allocated before a grow still go through the wasm fast path', () => {
    const memory = createSharedMemory(1, 256);
    const wasm = loadWasmKernels(memory);
    const rng = new Rng(6);
    const M = 20, N = 24, K = 16;
    const A = allocF32In(memory, M * K);
    for (let i = 0; i < A.length; i++) A[i] = rng.normal();
    const grownFrom = memory.buffer.byteLength;
    allocF32In(memory, 4 * PAGE_BYTES); // grow
    expect(memory.buffer.byteLength).toBeGreaterThan(grownFrom);
    const B = allocF32In(memory, K * N), C = allocF32In(memory, M * N);
    for (let i = 0; i < B.length; i++) B[i] = rng.normal();
    expect(A.buffer).not.toBe(B.buffer);
    const before = wasm.calls.wasm;
    wasm.gemm(false, false, M, N, K, A, 0, K, B, 0, N, C, 0, N, false);
    expect(wasm.calls.wasm).toBe(before + 1);
    const R = new Float32Array(M * N);
    gemmReference(false, false, M, N, K, A, 0, K, B, 0, N, R, 0, N, false);
    for (let i = 0; i < R.length; i++) expect(C[i]).toBeCloseTo(R[i]!, 4);
  });

  it('recognises a buffer object it has never seen (as a worker receives it) by the arena identity', () => {
    const memory = createSharedMemory(1);
    const other = createSharedMemory(1);
    const a = allocF32In(memory, 8);
    const cloned = new Float32Array(structuredClone(a.buffer as SharedArrayBuffer), a.byteOffset, 8);
    expect(cloned.buffer).not.toBe(a.buffer);
    expect(isInMemory(cloned, memory)).toBe(true);
    expect(isInMemory(cloned, other)).toBe(false);
    expect(isInMemory(allocF32In(other, 8), memory)).toBe(false);
    expect(isInMemory(new Float32Array(8), memory)).toBe(false);
    expect(isInMemory(new Float32Array(new SharedArrayBuffer(1024)), memory)).toBe(false);
  });

  it('arenaAddresses: the byte address of an arena array (before and after a grow, a view seen first in a clone), -1 outside, the same on every lookup', () => {
    const memory = createSharedMemory(1, 256);
    const other = createSharedMemory(1);
    const addressOf = arenaAddresses(memory);
    const a = allocF32In(memory, 8);
    const sub = a.subarray(3);
    allocF32In(memory, 4 * PAGE_BYTES); // grow: later arrays view a new buffer object
    const b = allocF32In(memory, 8);
    const cloned = new Float32Array(structuredClone(a.buffer as SharedArrayBuffer), a.byteOffset, 8);
    for (let pass = 0; pass < 2; pass++) {
      expect(addressOf(a)).toBe(a.byteOffset);
      expect(addressOf(sub)).toBe(a.byteOffset + 12);
      expect(addressOf(b)).toBe(b.byteOffset);
      expect(addressOf(cloned)).toBe(a.byteOffset);
      expect(addressOf(allocF32In(other, 8))).toBe(-1);
      expect(addressOf(new Float32Array(8))).toBe(-1);
      expect(addressOf(new Float32Array(new SharedArrayBuffer(1024), 64))).toBe(-1);
    }
    expect(arenaAddresses(memory)).toBe(addressOf); // one lookup (one cache) per memory
    expect(arenaAddresses(other)).not.toBe(addressOf);
    expect(() => arenaAddresses(new (requireWasmApi().Memory)({ initial: 1 }))).toThrow(/createSharedMemory/);
  });

  it('rejects bad sizes, a full arena, and memories that are not arenas, naming what was expected', () => {
    expect(() => allocF32(-1)).toThrow(/allocF32: n must be a non-negative integer, got -1/);
    expect(() => allocF32(2.5)).toThrow(RangeError);
    expect(() => createSharedMemory(0)).toThrow(/initialPages must be an integer in 1\.\.65536/);
    expect(() => createSharedMemory(4, 2)).toThrow(/initialPages \(4\) must not exceed maxPages \(2\)/);
    const small = createSharedMemory(1, 2);
    expect(() => arenaAlloc(small, 2 * PAGE_BYTES)).toThrow(ArenaOutOfMemoryError);
    expect(() => arenaAlloc(small, 2 * PAGE_BYTES)).toThrow(/out of WebAssembly memory: 131072 bytes requested, 131008 of 131072 left \(createSharedMemory\(initialPages, maxPages\): raise maxPages\)/);
    // What a thread posts keeps the message, not the class: still recognised as memory, not a fault.
    let posted: unknown;
    try { arenaAlloc(small, 2 * PAGE_BYTES); } catch (e) { posted = structuredClone(e); }
    expect(posted).not.toBeInstanceOf(ArenaOutOfMemoryError);
    expect(isOutOfMemory(posted)).toBe(true);
    expect(isOutOfMemory(new Error('worker 0 failed'))).toBe(false);
    // A failed request leaves the arena usable.
    expect(arenaAlloc(small, 100)).toBe(HEADER_BYTES);
    const plain = new (requireWasmApi().Memory)({ initial: 1, maximum: 2, shared: true });
    expect(() => attachMemory(plain)).toThrow(/not a weft arena: create it with createSharedMemory/);
    const unshared = new (requireWasmApi().Memory)({ initial: 1 });
    expect(() => attachMemory(unshared)).toThrow(/must be shared/);
  });
});
