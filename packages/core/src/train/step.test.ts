/**
 * What a StepRunner allocates in the arena (which never frees) must not depend on which shards it
 * happened to compute: in a worker pool that is decided by timing, and a thread that first met a
 * long shard after a restart grew the run's memory (test/workers-lifecycle.test.ts, "parked
 * trainer"). Here two trainers on one arena take shards of different lengths and must allocate
 * the same; then the short one meets the long shard and allocates nothing. Per fast path, with
 * sequences long enough that the loss kernels' scratch (WebAssembly) outgrows its first size.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { loadNativeKernels, nativeTurnedOff } from '../kernels/native.js';
import { loadWasmKernels, useReferenceKernels } from '../kernels/wasm.js';
import { attachMemory, arenaUsage, createSharedMemory, detachMemory, type WasmMemory } from '../kernels/memory.js';
import { setKernels, type Kernels } from '../kernels/index.js';
import { LocalTrainer } from './local.js';
import type { SequenceDataset } from '../data/dataset.js';

afterAll(() => {
  useReferenceKernels();
  detachMemory();
});

const V = 5;
const S = 400; // 4 rows x 400 steps: the cross-entropy's targets alone take 6400 bytes of loss scratch
/** Rows 0..3 have 3 steps, rows 4..7 all S. */
function data(): SequenceDataset {
  const count = 8;
  const lengths = Int32Array.from({ length: count }, (_, r) => (r < 4 ? 3 : S));
  const inputs = Int32Array.from({ length: count * S }, (_, i) => (i * 7) % V);
  const targets = new Int32Array(count * S).fill(-1);
  for (let r = 0; r < count; r++) for (let t = 0; t < lengths[r]!; t++) targets[r * S + t] = (r + t) % V;
  return { inputKind: 'tokens', inputSize: V, targetKind: 'class-per-step', outputSize: V, count, maxSteps: S, lengths, inputs, targets };
}

const paths: [string, (m: WasmMemory) => Kernels][] = [['WebAssembly', (m) => loadWasmKernels(m)]];
if (!nativeTurnedOff()) paths.push(['native', (m) => loadNativeKernels(m)]);

describe.each(paths)('a runner\'s scratch (%s kernels)', (_name, load) => {
  it('is the same whichever shards it computed, and a longer shard later allocates nothing', () => {
    const d = data();
    const config = {
      model: { cell: 'lstm' as const, hiddenSize: 4, input: { kind: 'tokens' as const, vocabSize: V }, task: 'class-per-step' as const, outputSize: V, seed: 1 },
      optimizer: { name: 'sgd' as const, lr: 0.01 },
      batchSize: 4,
      shardSize: 4,
    };
    // Each trainer in its own arena with its own kernel instance, as two worker threads are.
    const runs = [0, 1].map(() => {
      const memory = createSharedMemory(64);
      const k = load(memory);
      const on = () => {
        setKernels(k);
        attachMemory(memory);
      };
      on();
      return { memory, on, trainer: new LocalTrainer(config) };
    });
    const used = (i: number) => arenaUsage(runs[i]!.memory).used;
    const train = (i: number, rows: number[]) => {
      runs[i]!.on();
      runs[i]!.trainer.trainStep(d, rows);
    };
    const start = used(0);
    expect(used(1)).toBe(start);
    train(0, [0, 1, 2, 3]); // short sequences only
    train(1, [4, 5, 6, 7]); // the longest
    expect(used(1)).toBeGreaterThan(start);
    expect(used(0)).toBe(used(1));
    const after = used(0);
    train(0, [4, 5, 6, 7]);
    train(0, [0, 5, 2, 7]);
    expect(used(0)).toBe(after);
  });
});
