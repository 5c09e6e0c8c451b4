/**
 * The reference workloads of WORKLOADS.md (shared/WORKLOADS.md) as data: model configs, the
 * training-FLOP count and synthetic batches. The one table and the one FLOP count, read by the
 * pool's benchmark (`runWorkload` in @weft/workers, `weft bench`), the single-thread profile
 * (packages/core/bench/step.mjs) and the combined benchmark (bench/src/run.mjs), which hands
 * `workloadShape` as JSON to its TensorFlow.js and PyTorch runners. Nothing here is a test.
 */
import { GATES, type CellKind } from '../params/layout.js';
import type { ModelConfig } from '../model/model.js';
import type { SequenceDataset } from '../data/dataset.js';

export type WorkloadName = 'bilstm' | 'charlm' | 'rnn-small' | 'bilstm-b256' | 'charlm-b128';

export interface Workload {
  name: WorkloadName;
  description: string;
  model: ModelConfig;
  /** Global batch B. */
  batch: number;
  /** Sequence length T. */
  steps: number;
}

const bilstm = (batch: number, name: WorkloadName): Workload => ({
  name,
  description: `2-layer bidirectional LSTM, H=128, one-hot V=64, T=64, B=${batch}, softmax cross-entropy per step`,
  model: {
    cell: 'lstm', hiddenSize: 128, numLayers: 2, bidirectional: true,
    input: { kind: 'tokens', vocabSize: 64 }, task: 'class-per-step', outputSize: 64, seed: 1,
  },
  batch,
  steps: 64,
});

const charlm = (batch: number, name: WorkloadName): Workload => ({
  name,
  description: `2-layer LSTM, H=256, one-hot V=96, T=100, B=${batch}, softmax cross-entropy per step`,
  model: {
    cell: 'lstm', hiddenSize: 256, numLayers: 2,
    input: { kind: 'tokens', vocabSize: 96 }, task: 'class-per-step', outputSize: 96, seed: 1,
  },
  batch,
  steps: 100,
});

export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = {
  bilstm: bilstm(64, 'bilstm'),
  charlm: charlm(32, 'charlm'),
  'rnn-small': {
    name: 'rnn-small',
    description: '1-layer tanh RNN, H=32, 1 scalar input, T=50, B=256, MSE per step',
    model: {
      cell: 'rnn', hiddenSize: 32, numLayers: 1,
      input: { kind: 'dense', size: 1 }, task: 'value-per-step', outputSize: 1, seed: 1,
    },
    batch: 256,
    steps: 50,
  },
  'bilstm-b256': bilstm(256, 'bilstm-b256'),
  'charlm-b128': charlm(128, 'charlm-b128'),
};

export function workload(name: string): Workload {
  const w = (WORKLOADS as Record<string, Workload>)[name];
  if (!w) throw new RangeError(`workload must be one of ${Object.keys(WORKLOADS).join(', ')}, got '${name}'`);
  return w;
}

/**
 * A workload in engine-neutral terms, plain JSON: what the TensorFlow.js and PyTorch runners of
 * the repository's bench/ build their models from (bench/src/run.mjs hands it to them), and the
 * FLOP count every engine's GFLOP/s is computed with. Derived from the table above, so a shape
 * or the count is written once.
 */
export interface WorkloadShape {
  name: WorkloadName;
  cell: CellKind;
  /** Recurrent layers. */
  layers: number;
  /** H per direction. */
  hidden: number;
  bidirectional: boolean;
  /** Width of layer 0's input: the one-hot vocabulary, or the dense input's size. */
  input: number;
  encoding: 'onehot' | 'dense';
  /** Head width O (classes, or values). */
  output: number;
  /** Softmax cross-entropy per step, or mean squared error per step. */
  loss: 'ce' | 'mse';
  /** Sequence length. */
  T: number;
  /** Global batch. */
  B: number;
  /**
   * Training FLOPs per token, WORKLOADS.md's count: for each recurrent layer and direction
   * 6·G·H·(I+H), I the layer's input width; plus 6·I·O for the head (2 FLOPs per multiply-add,
   * backward twice the forward). Biases and the elementwise gate work are left out.
   */
  flopsPerToken: number;
  /** flopsPerToken · B · T. */
  flopsPerStep: number;
}

export function workloadShape(name: WorkloadName | string): WorkloadShape {
  const w = workload(name);
  const m = w.model;
  if (m.input.kind === 'tokens' && m.input.embeddingDim !== undefined) {
    throw new RangeError(`workload '${w.name}' has an embedding, which the other engines' runners do not build`);
  }
  if (m.task !== 'class-per-step' && m.task !== 'value-per-step') {
    throw new RangeError(`workload '${w.name}' has task '${m.task}'; the other engines' runners build per-step heads only`);
  }
  const G = GATES[m.cell];
  const H = m.hiddenSize;
  const D = m.bidirectional ? 2 : 1;
  const L = m.numLayers ?? 1;
  const I0 = m.input.kind === 'tokens' ? m.input.vocabSize : m.input.size;
  let flopsPerToken = 0;
  for (let l = 0; l < L; l++) flopsPerToken += D * 6 * G * H * ((l === 0 ? I0 : D * H) + H);
  flopsPerToken += 6 * D * H * m.outputSize;
  return {
    name: w.name,
    cell: m.cell,
    layers: L,
    hidden: H,
    bidirectional: D === 2,
    input: I0,
    encoding: m.input.kind === 'tokens' ? 'onehot' : 'dense',
    output: m.outputSize,
    loss: m.task === 'class-per-step' ? 'ce' : 'mse',
    T: w.steps,
    B: w.batch,
    flopsPerToken,
    flopsPerStep: flopsPerToken * w.batch * w.steps,
  };
}

/** Training FLOPs of one step: `workloadShape(name).flopsPerStep`. */
export function workloadFlops(name: WorkloadName | string): number {
  return workloadShape(name).flopsPerStep;
}

/** One batch of random data of the workload's shape: one-hot tokens and classes, or normal scalars. */
export function synthesizeWorkload(name: WorkloadName | string, seed = 1): SequenceDataset {
  const w = workload(name);
  const B = w.batch;
  const T = w.steps;
  const m = w.model;
  let s = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: data only needs to be arbitrary and repeatable.
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const lengths = new Int32Array(B).fill(T);
  if (m.input.kind === 'tokens') {
    const V = m.input.vocabSize;
    const inputs = new Int32Array(B * T).map(() => Math.floor(next() * V));
    const targets = new Int32Array(B * T).map(() => Math.floor(next() * m.outputSize));
    return { inputKind: 'tokens', inputSize: V, targetKind: 'class-per-step', outputSize: m.outputSize, count: B, maxSteps: T, lengths, inputs, targets };
  }
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const inputs = new Float32Array(B * T).map(normal);
  const targets = new Float32Array(B * T).map(normal);
  return { inputKind: 'dense', inputSize: 1, targetKind: 'value-per-step', outputSize: 1, count: B, maxSteps: T, lengths, inputs, targets };
}

