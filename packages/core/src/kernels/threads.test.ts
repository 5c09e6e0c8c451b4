// Two worker threads instantiate the wasm kernels on one shared arena (through the built
// package: see fixtures/gemm-worker.mjs): they allocate concurrently without overlap, and each
// sees what the other (and the main thread) wrote.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { gemmReference } from './gemm.js';
import { allocF32In, createSharedMemory, isInMemory } from './memory.js';
import { spawnKernelWorker as spawn } from './testkit.js';

const built = new URL('../../dist/kernels/wasm.js', import.meta.url);

const workers: Worker[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.terminate()));
});

describe('wasm kernels on one shared memory across worker threads', () => {
  it('needs the built package (pnpm --filter @weft/core build)', () => {
    expect(existsSync(fileURLToPath(built))).toBe(true);
  });

  it('allocate concurrently without overlap and see each other\'s writes', async () => {
    // One page: the workers' own packing scratch already makes the memory grow, concurrently.
    const memory = createSharedMemory(1);
    const w1 = spawn(memory), w2 = spawn(memory);
    workers.push(w1.worker, w2.worker);
    for (const w of [w1, w2]) expect(await w.next()).toEqual({ ready: true, name: 'wasm-simd' });

    // Concurrent allocation: both at once.
    w1.worker.postMessage({ op: 'alloc', count: 200, tag: 1 });
    w2.worker.postMessage({ op: 'alloc', count: 200, tag: 2 });
    const [r1, r2] = await Promise.all([w1.next(), w2.next()]);
    const mine = allocF32In(memory, 100).fill(3);
    const all: Array<[Float32Array, number]> = [
      ...(r1.arrays as Float32Array[]).map((a) => [a, 1] as [Float32Array, number]),
      ...(r2.arrays as Float32Array[]).map((a) => [a, 2] as [Float32Array, number]),
      [mine, 3],
    ];
    for (const [a, tag] of all) {
      expect(isInMemory(a, memory)).toBe(true);
      expect(a.every((v) => v === tag)).toBe(true); // nobody else wrote over it
    }
    const spans = all.map(([a]) => [a.byteOffset, a.byteOffset + a.byteLength]).sort((p, q) => p[0]! - q[0]!);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]!);

    // Worker 1 computes C = A·B, worker 2 then D = C·Eᵀ from worker 1's C.
    const rng = new Rng(7);
    const M = 19, K = 23, N = 17, P = 13;
    const A = allocF32In(memory, M * K), B = allocF32In(memory, K * N), E = allocF32In(memory, P * N);
    const C = allocF32In(memory, M * N), D = allocF32In(memory, M * P);
    for (const x of [A, B, E]) for (let i = 0; i < x.length; i++) x[i] = rng.range(-1, 1);
    w1.worker.postMessage({ op: 'gemm', tA: false, tB: false, M, N, K, A, lda: K, B, ldb: N, C, ldc: N });
    expect(await w1.next()).toEqual({ inMemory: true, calls: { wasm: 1, reference: 0 } });
    w2.worker.postMessage({ op: 'gemm', tA: false, tB: true, M, N: P, K: N, A: C, lda: N, B: E, ldb: N, C: D, ldc: P });
    expect(await w2.next()).toEqual({ inMemory: true, calls: { wasm: 1, reference: 0 } });

    const refC = new Float32Array(M * N), refD = new Float32Array(M * P);
    gemmReference(false, false, M, N, K, A, 0, K, B, 0, N, refC, 0, N, false);
    gemmReference(false, true, M, P, N, refC, 0, N, E, 0, N, refD, 0, P, false);
    for (let i = 0; i < refC.length; i++) expect(C[i]).toBeCloseTo(refC[i]!, 4);
    for (let i = 0; i < refD.length; i++) expect(D[i]).toBeCloseTo(refD[i]!, 3);
    expect(D.some((v) => v !== 0)).toBe(true);
  });
});
