/**
 * Turning a PyTorch `model_*` / `trajectory_*` golden into weft objects: the model config and
 * a token dataset whose rows are the golden's sequences, so the REAL training loop
 * (LocalTrainer / the pool's Trainer, both built on train/step.ts) can be run on it.
 */
import type { ModelConfig, SequenceDataset } from '@weft/core';
import { listGoldens } from './compare.js';

export interface GoldenModelCase {
  kind: 'rnn' | 'lstm' | 'gru';
  vocab: number;
  hidden_size: number;
  num_layers: number;
  bidirectional: boolean;
  batch: number;
  params_before: Record<string, { shape: number[]; value: number[] } | number[]>;
  params_after: Record<string, { shape: number[]; value: number[] } | number[]>;
}

export function goldenModelConfig(g: GoldenModelCase): ModelConfig {
  return {
    cell: g.kind, hiddenSize: g.hidden_size, numLayers: g.num_layers, bidirectional: g.bidirectional,
    input: { kind: 'tokens', vocabSize: g.vocab }, task: 'class-per-step', outputSize: g.vocab, seed: 1,
  };
}

/**
 * Names of the recurrent-tagger trajectory goldens (`trajectory_*`), without the model-spec
 * trajectories (`trajectory_spec_*`), which have another format (test/goldens/README.md).
 */
export function taggerTrajectoryGoldens(): string[] {
  return listGoldens('trajectory_').filter((n) => !n.startsWith('trajectory_spec_'));
}

/** Values of a golden tensor entry, whether stored as {shape, value} or as a bare list. */
export function values(v: { value: number[] } | number[]): number[] {
  return Array.isArray(v) ? v : v.value;
}

export function stateDict(p: GoldenModelCase['params_before']): Map<string, number[]> {
  return new Map(Object.entries(p).map(([k, v]) => [k, values(v)]));
}

/** Sequences `[batch, steps]` of token ids (inputs, targets) appended as dataset rows. */
export function tokenDataset(vocab: number, steps: number, batches: { inputs: number[]; targets: number[] }[]): SequenceDataset {
  const rows = batches.reduce((n, b) => n + b.inputs.length / steps, 0);
  const inputs = new Int32Array(rows * steps);
  const targets = new Int32Array(rows * steps);
  let o = 0;
  for (const b of batches) {
    inputs.set(b.inputs, o);
    targets.set(b.targets, o);
    o += b.inputs.length;
  }
  return {
    inputKind: 'tokens', inputSize: vocab, targetKind: 'class-per-step', outputSize: vocab,
    count: rows, maxSteps: steps, lengths: new Int32Array(rows).fill(steps), inputs, targets,
  };
}

export interface TrajectoryGolden extends GoldenModelCase {
  steps_per_sequence: number;
  batches: { inputs: number[]; targets: number[] }[];
  losses: number[];
  grad_norms_before_clip: number[];
}

/** The rows of the dataset (all batches appended) that make up step k's batch. */
export function trajectoryRows(g: TrajectoryGolden, k: number): Int32Array {
  const b = k % g.batches.length;
  return Int32Array.from({ length: g.batch }, (_, i) => b * g.batch + i);
}


export interface ModelGolden extends GoldenModelCase {
  steps: number;
  inputs: number[];
  targets: number[];
  loss: number;
  grads: Record<string, number[] | { value: number[] }>;
}
