/**
 * A StepRunner's groups: shards computed together (computeShards, their recurrent layers in
 * lockstep) give each slot and each shard's statistics exactly the bits of the shard computed
 * alone, whatever the grouping, on each fast path.
 *
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
import { LocalTrainer, trainArenaLayout } from './local.js';
import type { SequenceDataset } from '../data/dataset.js';
import { resolveTrainConfig } from './config.js';
import { createOptimizer } from '../optim/index.js';
import { allocF32In } from '../kernels/memory.js';
import { STATS_WIDTH } from './arena.js';
import { MAX_GROUP, StepRunner, groupSize, lossScale } from './step.js';
import { SequenceModel } from '../model/model.js';

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

describe.each(paths)('shards computed in groups (%s kernels)', (_name, load) => {
  it('give every slot and statistic the bits of each shard computed alone, whatever the grouping', () => {
    // Room for every run without growing: the fast paths take only views of the memory's current buffer.
    const memory = createSharedMemory(2048);
    setKernels(load(memory));
    attachMemory(memory);
    // Two recurrent layers (each run in lockstep) with every kind of dropout, a layer between
    // them, ragged lengths: 19 rows in shards of 2 (the last shard shorter), groups of up to 19
    // rows (past the products' few-row paths).
    const cfg = resolveTrainConfig({
      model: {
        input: { kind: 'tokens', vocabSize: V },
        layers: [
          { type: 'embedding', dim: 6 },
          { type: 'recurrent', cell: 'gru', hiddenSize: 32, numLayers: 2, bidirectional: true, dropout: 0.3, inputDropout: 0.2, recurrentDropout: 0.2 },
          { type: 'dropout', p: 0.25 },
          { type: 'recurrent', cell: 'lstm', hiddenSize: 36 },
          { type: 'linear', outputSize: V },
        ],
        loss: { kind: 'crossEntropy' },
        seed: 3,
      },
      optimizer: { name: 'sgd', lr: 0.1 },
      batchSize: 19,
      shardSize: 2,
      seed: 9,
    });
    const d = data();
    d.lengths.set([3, 9, 1, 17, 5, 40, 2, 8]);
    const rows = [6, 1, 3, 0, 5, 2, 7, 4, 1, 0, 3, 5, 6, 2, 7, 4, 0, 1, 2];
    const scale = lossScale(d, rows);
    const K = 10;
    const run = (groups: [number, number][]) => {
      const optimizer = createOptimizer(cfg.optimizer);
      const layout = trainArenaLayout(cfg, optimizer, { undo: false });
      const arena = allocF32In(memory, layout.size);
      const runner = new StepRunner(cfg.model, arena, layout, optimizer, cfg);
      runner.params.set(new SequenceModel(cfg.model).paramBuffer); // the arena starts zeroed: initialise as a trainer does
      for (const [k0, k1] of groups) runner.computeShards(d, rows, k0, k1, cfg.shardSize, 5, scale);
      const slots = layout.slots.map((off) => arena.slice(off, off + layout.paramCount));
      const stats = new Float64Array(arena.buffer, arena.byteOffset + 4 * layout.stats, K * STATS_WIDTH).slice();
      return { slots, stats };
    };
    const alone = run(Array.from({ length: K }, (_, k) => [k, k + 1] as [number, number]));
    expect(alone.slots[1]!.some((v) => v !== 0)).toBe(true);
    for (const groups of [[[0, 10]], [[0, 3], [3, 10]], [[4, 10], [0, 4]], [[0, 5], [5, 9], [9, 10]]] as [number, number][][]) {
      const got = run(groups);
      for (let k = 0; k < K; k++) {
        const bad = alone.slots[k]!.findIndex((v, i) => !Object.is(v, got.slots[k]![i]));
        expect(bad, `groups ${JSON.stringify(groups)}: slot ${k}[${bad}]`).toBe(-1);
      }
      expect([...got.stats]).toEqual([...alone.stats]);
    }
  });
});

describe('group sizes', () => {
  it('share the batch evenly among the threads, one thread taking all, never more than MAX_GROUP shards', () => {
    expect(groupSize(16, 1)).toBe(16);
    expect(groupSize(16, 2)).toBe(8);
    expect(groupSize(16, 3)).toBe(6);
    expect(groupSize(3, 8)).toBe(1);
    expect(groupSize(4096, 1)).toBe(MAX_GROUP);
    expect(groupSize(4096, 16)).toBe(MAX_GROUP);
  });
});
