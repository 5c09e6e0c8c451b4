/**
 * The memory limits: the bytes counted from a config match what a real run allocates in its
 * arena (so the refusals are not guesses), and a configuration past 4 GiB is refused at once
 * with the option that accounts for it, the memory it would need and the limit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { arenaUsage, attachMemory, createSharedMemory, detachMemory, allocF32In } from '../kernels/memory.js';
import { OptionError } from '../options/errors.js';
import { resolveStackOptions } from '../stack/config.js';
import { StackScratch } from '../stack/scratch.js';
import { createOptimizer } from '../optim/index.js';
import { SequenceModel, gatherBatch } from '../model/model.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import {
  MEMORY_LIMIT_BYTES, MemoryLimitError, checkInferenceMemory, checkTrainMemory, formatBytes, inferenceMemory, trainMemory,
} from './limits.js';
import { trainArenaLayout } from './local.js';
import { StepRunner, lossScale } from './step.js';
import type { SequenceDataset } from '../data/dataset.js';

afterEach(() => detachMemory());

const V = 30;
const base: TrainConfig = {
  model: { cell: 'lstm', hiddenSize: 16, numLayers: 2, bidirectional: true, dropout: 0.2, input: { kind: 'tokens', vocabSize: V, embeddingDim: 8 }, task: 'class-per-sequence', outputSize: 4 },
  batchSize: 8, shardSize: 4,
};

/** `count` sequences of exactly `T` tokens, one class each. */
function fixedLength(count: number, T: number): SequenceDataset {
  return {
    inputKind: 'tokens', inputSize: V, targetKind: 'class-per-sequence', outputSize: 4, count, maxSteps: T,
    lengths: new Int32Array(count).fill(T), inputs: Int32Array.from({ length: count * T }, (_, i) => 2 + (i % (V - 2))), targets: new Int32Array(count),
  };
}

/** Throws what `f` throws (or fails the test). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('what a configuration needs', () => {
  it('the stack scratch counted is the scratch allocated, byte for byte', () => {
    const memory = createSharedMemory(16);
    attachMemory(memory);
    const o = resolveStackOptions({ cell: 'gru', inputSize: 7, hiddenSize: 9, numLayers: 3, bidirectional: true, inputDropout: 0.1, recurrentDropout: 0.1, dropout: 0.1 });
    const before = arenaUsage(memory).used;
    new StackScratch(o, 11, 5);
    expect(arenaUsage(memory).used - before).toBe(StackScratch.bytes(o, 11, 5));
  });

  // The second: 8 shards of one short row and a wide W_hh, where what only a group's lead holds
  // (W_hhᵀ, 1 MiB a layer and direction) outweighs a replica's own scratch: counted once, made once.
  for (const [name, train, T, shards] of [
    ['both shards at once', base, 40, 2],
    ['8 one-row shards at once, a wide recurrent weight', { ...base, model: { ...base.model, hiddenSize: 256 }, shardSize: 1 }, 3, 8],
  ] as [string, TrainConfig, number, number][]) {
    it(`a training step on one thread (${name}) allocates what trainMemory counts (a lower bound, within 5%)`, () => {
      const cfg = resolveTrainConfig(train);
      const memory = createSharedMemory(16);
      attachMemory(memory);
      const optimizer = createOptimizer(cfg.optimizer);
      const layout = trainArenaLayout(cfg, optimizer, { undo: true });
      const arena = allocF32In(memory, layout.size);
      const runner = new StepRunner(cfg.model, arena, layout, optimizer, cfg);
      const d = fixedLength(8, T);
      const rows = Int32Array.from({ length: 8 }, (_, i) => i);
      runner.computeShards(d, rows, 0, shards, cfg.shardSize, 0, lossScale(d, rows));
      const used = arenaUsage(memory).used;
      const need = trainMemory(cfg, { steps: T });
      expect(need.total).toBeLessThanOrEqual(used);
      expect(need.total).toBeGreaterThan(0.95 * used);
      expect(need.model).toBe(4 * layout.size);
      expect(need.shards).toBe(shards);
    });
  }

  it('a model that predicts allocates what inferenceMemory counts (a lower bound, within 5%)', () => {
    const memory = createSharedMemory(16);
    attachMemory(memory);
    const start = arenaUsage(memory).used;
    const model = new SequenceModel(base.model);
    model.evaluate(gatherBatch(fixedLength(6, 25), [0, 1, 2, 3, 4, 5]));
    const used = arenaUsage(memory).used - start;
    const need = inferenceMemory(base.model, { steps: 25, batch: 6 });
    expect(need.total).toBeLessThanOrEqual(used);
    expect(need.total).toBeGreaterThan(0.95 * used);
  });

  it('grows with what it should: workers hold a scratch for each shard they take at once, the shards one gradient each', () => {
    const cfg = resolveTrainConfig(base);
    const one = trainMemory(cfg, { steps: 50 });
    const three = trainMemory(cfg, { steps: 50, workers: 3 });
    expect(three.model).toBe(one.model);
    expect(three.total - three.model).toBe(3 * three.perWorker);
    // One thread takes both shards at once (a replica each); of three, each takes one.
    expect(one.perWorker).toBeGreaterThan(1.5 * three.perWorker);
    expect(one.perWorker).toBeLessThan(2 * three.perWorker);
    const more = trainMemory(resolveTrainConfig({ ...base, shardSize: 1 }), { steps: 50 });
    expect(more.model - one.model).toBeGreaterThanOrEqual(6 * 4 * one.parameters); // 8 shards, not 2
    expect(trainMemory(cfg, { steps: 100 }).perWorker).toBeGreaterThan(1.9 * trainMemory(cfg, { steps: 50 }).perWorker);
  });
});

describe('a configuration past the limit is refused before anything is built', () => {
  const cases: [string, TrainConfig, string][] = [
    ['hidden size', { ...base, model: { ...base.model, hiddenSize: 100_000 } }, 'model.hiddenSize'],
    ['embedding', { ...base, model: { ...base.model, input: { kind: 'tokens', vocabSize: V, embeddingDim: 1e9 } } }, 'model.input.embeddingDim'],
    ['vocabulary', { ...base, model: { ...base.model, input: { kind: 'tokens', vocabSize: 1e9 } } }, 'model.input.vocabSize'],
    ['dense input', { ...base, model: { ...base.model, input: { kind: 'dense', size: 1e9 } } }, 'model.input.size'],
    ['head', { ...base, model: { ...base.model, outputSize: 1e9 } }, 'model.outputSize'],
    ['batch', { ...base, batchSize: 1e9 }, 'batchSize'],
    ['shards', { ...base, batchSize: 1e6, shardSize: 1 }, 'batchSize'],
  ];
  for (const [name, cfg, option] of cases) {
    it(`${name}: ${option} named, with the memory it needs and the limit, before anything is allocated`, () => {
      const e = thrown(() => resolveTrainConfig(cfg));
      expect(e).toBeInstanceOf(MemoryLimitError);
      expect(e).toBeInstanceOf(OptionError);
      const m = e as MemoryLimitError;
      expect(m.option).toBe(option);
      expect(m.need.total).toBeGreaterThan(MEMORY_LIMIT_BYTES);
      expect(m.message).toMatch(new RegExp(`^${option.replace(/\./g, '\\.')} \\d+: training would need [\\d.]+ [KMGTPE]iB: .*; the limit is 4 GiB of WebAssembly memory$`));
      expect(m.message).toContain(formatBytes(m.need.total));
    });
  }

  it('more layers than a stack may have: refused before its layout is built', () => {
    expect(() => resolveTrainConfig({ ...base, model: { ...base.model, numLayers: 10_000_000 } })).toThrow(
      'model.numLayers is 10000000, more than the 256 layers a stack may have',
    );
    expect((resolveTrainConfig({ ...base, model: { ...base.model, numLayers: 256, hiddenSize: 4 } }).model as { numLayers: number }).numLayers).toBe(256);
  });

  it('a model spec: the option of the layer that accounts for it, by its place', () => {
    const spec = {
      input: { kind: 'tokens' as const, vocabSize: V },
      layers: [
        { type: 'embedding', dim: 8 },
        { type: 'recurrent', cell: 'gru', hiddenSize: 8 },
        { type: 'pool', mode: 'attention', attentionSize: 100_000_000 },
        { type: 'linear', outputSize: 4 },
      ],
      loss: { kind: 'crossEntropy' },
    };
    const e = thrown(() => resolveTrainConfig({ model: spec, batchSize: 8 })) as MemoryLimitError;
    expect(e).toBeInstanceOf(MemoryLimitError);
    expect(e.option).toBe('model.layers[2].attentionSize');
    expect(e.message).toMatch(/^model\.layers\[2\]\.attentionSize 100000000: training would need [\d.]+ [GT]iB: /);
    const wide = thrown(() => resolveTrainConfig({ model: { ...spec, layers: spec.layers.map((l, i) => (i === 1 ? { ...l, hiddenSize: 100_000 } : i === 2 ? { ...l, attentionSize: 4 } : l)) } })) as MemoryLimitError;
    expect(wide.option).toBe('model.layers[1].hiddenSize');
  });

  it('long sequences: maxSteps named, with the longest that fits', () => {
    const cfg = resolveTrainConfig(base);
    const e = thrown(() => checkTrainMemory(cfg, { steps: 50_000_000, workers: 2, evalBatch: 8 })) as MemoryLimitError;
    expect(e.option).toBe('maxSteps');
    expect(e.message).toMatch(/^maxSteps 50000000: training would need .* \(2 workers × .*\) of activations for 8 sequences of 50,000,000 steps; the limit is 4 GiB/);
    const fit = e.stepsThatFit!;
    expect(fit).toBeGreaterThan(1000);
    expect(trainMemory(cfg, { steps: fit, workers: 2, evalBatch: 8 }).total).toBeLessThanOrEqual(MEMORY_LIMIT_BYTES);
    expect(trainMemory(cfg, { steps: fit + 1, workers: 2, evalBatch: 8 }).total).toBeGreaterThan(MEMORY_LIMIT_BYTES);
  });

  it('many workers: workers named', () => {
    const e = thrown(() => checkTrainMemory(resolveTrainConfig(base), { steps: 2000, workers: 100_000 })) as MemoryLimitError;
    expect(e.option).toBe('workers');
  });

  it('a model that predicts: the batch or the sequence length named', () => {
    const e = thrown(() => checkInferenceMemory(base.model, { steps: 40_000_000, batch: 64 }, 'evaluating')) as MemoryLimitError;
    expect(e.option).toBe('maxSteps');
    expect(e.message).toMatch(/^maxSteps 40000000: evaluating would need .* of activations for 64 sequences of 40,000,000 steps; the limit is 4 GiB/);
    expect(inferenceMemory(base.model, { steps: e.stepsThatFit!, batch: 64 }).total).toBeLessThanOrEqual(MEMORY_LIMIT_BYTES);
    expect(checkInferenceMemory(base.model, { steps: 100, batch: 64 }).total).toBeLessThan(MEMORY_LIMIT_BYTES);
  });

  it('what fits passes, whatever the path', () => {
    const cfg = resolveTrainConfig(base);
    expect(checkTrainMemory(cfg, { steps: 1000, workers: 16, evalBatch: 64 }).total).toBeLessThan(MEMORY_LIMIT_BYTES);
  });

  it('bytes are written the way people read them', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(MEMORY_LIMIT_BYTES)).toBe('4 GiB');
    expect(formatBytes(160 * 2 ** 30)).toBe('160 GiB');
  });
});
