/**
 * Turning PyTorch's `spec_*` / `trajectory_spec_*` goldens (test/goldens/generate.py, the format
 * of docs/model-spec.md) into weft objects: the spec itself (it is plain JSON), and a dataset
 * whose rows are the golden's sequences with the targets the spec's loss needs, so the REAL
 * training loop (LocalTrainer, the pool's Trainer) runs on them.
 */
import { planModel, type ModelSpec, type SequenceDataset } from '@weft/core';

export interface SpecBatch {
  lengths: number[];
  inputs: number[];
  targets: number[];
}

export interface SpecGolden extends SpecBatch {
  spec: ModelSpec;
  batch: number;
  steps: number;
  params: Record<string, { shape: number[]; value: number[] }>;
  output: number[];
  loss: number;
  grads: Record<string, number[]>;
}

export interface SpecTrajectoryGolden {
  spec: ModelSpec;
  batch: number;
  steps: number;
  batches: SpecBatch[];
  params_before: Record<string, { shape: number[]; value: number[] }>;
  losses: number[];
  grad_norms_before_clip: number[];
  params_after: Record<string, number[] | { value: number[] }>;
}

/** The golden's batches appended as the rows of one dataset of the spec's input and targets. */
export function specDataset(spec: ModelSpec, steps: number, batches: SpecBatch[]): SequenceDataset {
  const plan = planModel(spec);
  const count = batches.reduce((n, b) => n + b.lengths.length, 0);
  const tokens = spec.input.kind === 'tokens';
  const isClass = plan.task.startsWith('class');
  const inputs = tokens ? new Int32Array(count * steps * 1) : new Float32Array(count * steps * plan.inputSize);
  const targets = isClass ? new Int32Array(batches.reduce((n, b) => n + b.targets.length, 0)) : new Float32Array(batches.reduce((n, b) => n + b.targets.length, 0));
  const lengths = new Int32Array(count);
  let r = 0;
  let i = 0;
  let t = 0;
  for (const b of batches) {
    lengths.set(b.lengths, r);
    inputs.set(b.inputs, i);
    targets.set(b.targets, t);
    r += b.lengths.length;
    i += b.inputs.length;
    t += b.targets.length;
  }
  if (targets.length !== count * (plan.task.endsWith('per-step') ? steps : 1) * (isClass ? 1 : plan.outputSize)) {
    throw new RangeError(`golden targets: ${targets.length} values for ${count} sequences of task ${plan.task}`);
  }
  return {
    inputKind: spec.input.kind, inputSize: plan.inputSize, targetKind: plan.task, outputSize: plan.outputSize,
    count, maxSteps: steps, lengths, inputs, targets,
  };
}

/** name → values of a golden's parameters. */
export function specStateDict(p: Record<string, { value: number[] } | number[]>): Map<string, number[]> {
  return new Map(Object.entries(p).map(([k, v]) => [k, Array.isArray(v) ? v : v.value]));
}
