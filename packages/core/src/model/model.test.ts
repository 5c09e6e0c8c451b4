/**
 * SequenceModel.forwardBackward on padded batches, per-step tasks (which train with the head's
 * rows in the stack's time-major order and the targets reordered to match): the loss against
 * evaluate (batch-first rows, the oracle for the value), the gradient of every tensor against
 * finite differences of evaluate's loss. Token and dense inputs, class and value targets, per
 * step and per sequence (final states or mean output; concat, sum and mean merges).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { SequenceModel, type Batch, type ModelConfig } from './model.js';
import { expectGradMatches, sampleIndices } from '../../../../test/helpers/gradcheck.js';

function batchFor(c: ModelConfig, rng: Rng): Batch {
  const B = 3, T = 5;
  const lengths = Int32Array.from([5, 2, 4]);
  const V = c.input.kind === 'tokens' ? c.input.vocabSize : 0;
  const I = c.input.kind === 'dense' ? c.input.size : 1;
  const inputs = V ? Int32Array.from({ length: B * T }, () => rng.int(V)) : Float32Array.from({ length: B * T * I }, () => rng.range(-1, 1));
  let targets: Int32Array | Float32Array;
  if (c.task === 'class-per-step') {
    targets = Int32Array.from({ length: B * T }, (_, r) => ((r % T) < lengths[Math.floor(r / T)]! ? rng.int(c.outputSize) : -1));
  } else if (c.task === 'class-per-sequence') {
    targets = Int32Array.from({ length: B }, () => rng.int(c.outputSize));
  } else if (c.task === 'value-per-sequence') {
    targets = Float32Array.from({ length: B * c.outputSize }, () => rng.range(-1, 1));
  } else {
    targets = Float32Array.from({ length: B * T * c.outputSize }, () => rng.range(-1, 1));
  }
  return { batch: B, steps: T, lengths, inputs, targets };
}

const CONFIGS: Array<[string, ModelConfig]> = [
  ['one-hot LSTM, bidirectional, class per step', {
    cell: 'lstm', hiddenSize: 4, numLayers: 2, bidirectional: true, input: { kind: 'tokens', vocabSize: 6 },
    task: 'class-per-step', outputSize: 5, seed: 3,
  }],
  ['dense GRU, value per step (2 values)', {
    cell: 'gru', hiddenSize: 4, numLayers: 1, input: { kind: 'dense', size: 2 }, task: 'value-per-step', outputSize: 2, seed: 4,
  }],
  ['embedded RNN, merge sum, class per step', {
    cell: 'rnn', hiddenSize: 4, numLayers: 2, bidirectional: true, merge: 'sum', input: { kind: 'tokens', vocabSize: 5, embeddingDim: 3 },
    task: 'class-per-step', outputSize: 3, seed: 5,
  }],
  // Per-sequence heads: the default names model's kind (embedding, bidirectional, final states).
  ['embedded LSTM, bidirectional, class per sequence from the final states', {
    cell: 'lstm', hiddenSize: 4, numLayers: 2, bidirectional: true, input: { kind: 'tokens', vocabSize: 6, embeddingDim: 3 },
    task: 'class-per-sequence', outputSize: 2, pooling: 'last', seed: 6,
  }],
  ['one-hot GRU, bidirectional merge mean, class per sequence from the mean output', {
    cell: 'gru', hiddenSize: 4, numLayers: 1, bidirectional: true, merge: 'mean', input: { kind: 'tokens', vocabSize: 5 },
    task: 'class-per-sequence', outputSize: 3, pooling: 'mean', seed: 7,
  }],
  ['dense RNN, bidirectional merge sum, value per sequence from the final states', {
    cell: 'rnn', hiddenSize: 4, numLayers: 2, bidirectional: true, merge: 'sum', input: { kind: 'dense', size: 2 },
    task: 'value-per-sequence', outputSize: 2, pooling: 'last', seed: 8,
  }],
  ['one-hot LSTM without biases (bias false), class per step', {
    cell: 'lstm', hiddenSize: 4, numLayers: 2, bias: false, input: { kind: 'tokens', vocabSize: 5 },
    task: 'class-per-step', outputSize: 3, seed: 9,
  }],
];

describe('forwardBackward on padded batches', () => {
  for (const [label, config] of CONFIGS) {
    it(`${label}: loss = evaluate's, gradients = finite differences`, () => {
      const rng = new Rng(11);
      const m = new SequenceModel(config);
      const b = batchFor(config, rng);
      const ev = m.evaluate(b);
      m.zeroGrad();
      const r = m.forwardBackward(b, 1);
      expect(r.count).toBe(ev.count);
      expect(r.correct).toBe(ev.correct);
      expect(Math.abs(r.sum - ev.sum)).toBeLessThanOrEqual(1e-6 * Math.abs(ev.sum));
      const grads = m.gradBuffer.slice(0, m.size);
      const idx: number[] = [];
      for (const e of m.layout.entries) for (const i of sampleIndices(rng, e.size, 4)) idx.push(e.offset + i);
      expectGradMatches(() => m.evaluate(b).sum, m.paramBuffer, grads, { name: label, indices: idx, eps: 1e-2, atol: 2e-3, rtol: 2e-2 });
    });
  }
});

describe('a group of replicas (forwardBackwardGroup)', () => {
  const c: ModelConfig = { cell: 'gru', hiddenSize: 6, input: { kind: 'tokens', vocabSize: 7 }, task: 'class-per-step', outputSize: 7, seed: 2 };
  it('refuses models that are not replicas of one model over one parameter buffer', () => {
    const a = new SequenceModel(c);
    const b = batchFor(c, new Rng(1));
    expect(() => SequenceModel.forwardBackwardGroup([a, new SequenceModel(c)], [b, b], 1, [undefined, undefined]))
      .toThrow(/replicas of one model over one parameter buffer/);
    const other = new SequenceModel({ ...c, task: 'class-per-sequence', pooling: 'mean' } as ModelConfig, { params: new Float32Array(a.paramBuffer.buffer, a.paramBuffer.byteOffset) });
    expect(() => SequenceModel.forwardBackwardGroup([a, other], [b, b], 1, [undefined, undefined])).toThrow(/replicas of one model/);
  });
});
