/**
 * Checkpoints of spec models: the training config a checkpoint stores holds the spec resolved
 * (plain data that msgpack round-trips and that resolves to itself), and a model rebuilt from the
 * stored config, with the stored parameters, continues exactly like the one that was saved. A
 * checkpoint whose config holds a model config (weft before specs) loads the same way: the
 * config converts to its spec, with the same parameter names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTrainer } from './local.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { decodeCheckpoint, encodeCheckpoint, paramsFromLayout, paramsIntoLayout } from '../io/checkpoint.js';
import { specFromConfig, type ModelConfig, type ModelSpec } from '../model/model.js';
import { loadModelSync } from './trained.js';
import type { SequenceDataset } from '../data/dataset.js';

const spec: ModelSpec = {
  input: { kind: 'tokens', vocabSize: 5 },
  layers: [
    { type: 'embedding', dim: 4 },
    { type: 'recurrent', cell: 'lstm', hiddenSize: 4, bidirectional: true, dropout: 0 },
    { type: 'layerNorm' },
    { type: 'pool', mode: 'attention' },
    { type: 'dropout', p: 0.2 },
    { type: 'linear', name: 'head', outputSize: 3 },
  ],
  loss: { kind: 'crossEntropy', classWeights: [1, 0.5, 2], labelSmoothing: 0.05 },
  seed: 4,
};

function data(): SequenceDataset {
  const count = 12;
  const T = 5;
  const lengths = Int32Array.from({ length: count }, (_, i) => 1 + (i % T));
  const inputs = Int32Array.from({ length: count * T }, (_, i) => (i * 3) % 5);
  const targets = Int32Array.from({ length: count }, (_, i) => i % 3);
  return { inputKind: 'tokens', inputSize: 5, targetKind: 'class-per-sequence', outputSize: 3, count, maxSteps: T, lengths, inputs, targets };
}

function roundTrip(t: LocalTrainer): { config: TrainConfig; params: Float32Array } {
  const bytes = encodeCheckpoint({ config: t.config, step: t.step, ...paramsFromLayout(t.model.layout, t.runner.params) });
  const ck = decodeCheckpoint(bytes);
  const config = ck.config as TrainConfig;
  const params = new Float32Array(t.model.layout.size);
  paramsIntoLayout(ck, new LocalTrainer(config).model.layout, params);
  return { config, params };
}

describe('checkpoints of spec models', () => {
  it('store the resolved spec; the rebuilt model continues exactly', () => {
    const d = data();
    const cfg: TrainConfig = { model: spec, batchSize: 6, shardSize: 2, optimizer: { name: 'sgd', lr: 0.1 } };
    const a = new LocalTrainer(cfg);
    a.fit(d, { epochs: 1 });
    expect(a.config.model).toEqual(a.spec);
    expect(a.spec.layers.map((l) => l.name)).toEqual(['embedding', 'recurrent', 'layerNorm', 'pool', 'dropout', 'head']);
    const { config, params } = roundTrip(a);
    expect(config.model).toEqual(a.spec);
    expect(resolveTrainConfig(config).model).toEqual(a.spec);
    const b = new LocalTrainer(config);
    b.runner.params.set(params);
    b.step = a.step;
    // Plain SGD: no optimizer state to carry, so both continue from the same point.
    a.fit(d, { epochs: 2, startEpoch: 1 });
    b.fit(d, { epochs: 2, startEpoch: 1 });
    expect(Buffer.from(b.runner.params.buffer, b.runner.params.byteOffset, b.runner.params.byteLength))
      .toEqual(Buffer.from(a.runner.params.buffer, a.runner.params.byteOffset, a.runner.params.byteLength));
  });

  it('a spec model saved as a model file (TrainedModel) loads with its spec and predicts the same outputs', async () => {
    const d = data();
    const a = new LocalTrainer({ model: spec, batchSize: 6, optimizer: { name: 'adam', lr: 0.01 } });
    a.fit(d, { epochs: 1 });
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-spec-'));
    try {
      const file = path.join(dir, 'spec.weft');
      await a.save(file);
      const m = loadModelSync(file);
      expect(m.train.model).toEqual(a.spec);
      expect(m.net.spec).toEqual(a.spec);
      expect(m.params).toEqual(a.runner.params);
      expect(m.outputs(d)).toEqual(a.toModel().outputs(d));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a checkpoint holding a model config loads as the spec it stands for', () => {
    const config: ModelConfig = { cell: 'gru', hiddenSize: 4, input: { kind: 'tokens', vocabSize: 5, embeddingDim: 3 }, task: 'class-per-sequence', outputSize: 3, pooling: 'mean', seed: 2 };
    const a = new LocalTrainer({ model: config, batchSize: 4, optimizer: { name: 'sgd', lr: 0.1 } });
    a.fit(data(), { epochs: 1 });
    expect(a.config.model).toEqual(config); // kept as given: a preset
    const loaded = roundTrip(a);
    const fromSpec = new LocalTrainer({ ...loaded.config, model: specFromConfig(loaded.config.model as ModelConfig) });
    expect(fromSpec.model.layout.names()).toEqual(['embedding.weight', 'rnn.weight_ih_l0', 'rnn.weight_hh_l0', 'rnn.bias_ih_l0', 'rnn.bias_hh_l0', 'head.weight', 'head.bias']);
    expect(fromSpec.model.layout.names()).toEqual(a.model.layout.names());
    fromSpec.runner.params.set(loaded.params);
    expect(fromSpec.evaluate(data())).toEqual(a.evaluate(data()));
  });
});
