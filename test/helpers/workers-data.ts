/**
 * Small datasets and configs for the worker-pool tests (test/workers-*.test.ts): variable
 * lengths, padding, a bidirectional 2-layer LSTM with dropout, all small enough for a 2-core
 * machine. Data come from a fixed integer recipe, so every test sees the same numbers.
 */
import type { SequenceDataset, TrainConfig } from '@weft/core';

export const V = 7;
export const T = 6;

/** Token sequences of lengths 2..6 with per-step classes (padding -1 past each length). */
export function tokenData(count = 24, seed = 1): SequenceDataset {
  let s = seed >>> 0 || 1;
  const next = (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
  const lengths = Int32Array.from({ length: count }, () => 2 + next(T - 1));
  const inputs = new Int32Array(count * T);
  const targets = new Int32Array(count * T).fill(-1);
  for (let r = 0; r < count; r++) {
    for (let t = 0; t < lengths[r]!; t++) {
      inputs[r * T + t] = next(V);
      // Learnable: the class is the previous token (or 0 at the start).
      targets[r * T + t] = t > 0 ? inputs[r * T + t - 1]! : 0;
    }
  }
  return { inputKind: 'tokens', inputSize: V, targetKind: 'class-per-step', outputSize: V, count, maxSteps: T, lengths, inputs, targets };
}

/** Dense scalar sequences with per-step values (the rnn-small shape), for regression tests. */
export function denseData(count = 16, seed = 2): SequenceDataset {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) / 16777216 - 0.5;
  };
  const lengths = new Int32Array(count).fill(T);
  const inputs = Float32Array.from({ length: count * T }, next);
  const targets = Float32Array.from(inputs, (x, i) => (i % T ? inputs[i - 1]! : 0) + 0.5 * x);
  return { inputKind: 'dense', inputSize: 1, targetKind: 'value-per-step', outputSize: 1, count, maxSteps: T, lengths, inputs, targets };
}

/**
 * A bidirectional 2-layer LSTM with dropout between layers, trained with Adam and clipping.
 * About 21k parameters: six norm chunks of 4096, so 2 and 3 workers cut the reduce and the
 * update differently.
 */
export function bilstmConfig(extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: {
      cell: 'lstm', hiddenSize: 24, numLayers: 2, bidirectional: true, dropout: 0.25,
      input: { kind: 'tokens', vocabSize: V }, task: 'class-per-step', outputSize: V, seed: 11,
    },
    optimizer: { name: 'adam', lr: 0.01 },
    batchSize: 8,
    shardSize: 3, // shards of 3, 3, 2: uneven on purpose
    clipNorm: 0.1,
    seed: 7,
    ...extra,
  };
}

export function rnnConfig(extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: { cell: 'rnn', hiddenSize: 5, input: { kind: 'dense', size: 1 }, task: 'value-per-step', outputSize: 1, seed: 3 },
    optimizer: { name: 'sgd', lr: 0.05 },
    batchSize: 8,
    shardSize: 2,
    seed: 1,
    ...extra,
  };
}

/** Bitwise equality of two float arrays; the first differing index, or -1. */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}
