/**
 * The in-memory form every training path consumes: padded, flat, typed arrays, so that a batch
 * is a set of row indices and a shard is a contiguous range of those rows — nothing to
 * serialise when the data lives in shared memory.
 *
 *   inputs   tokens: Int32Array  [count, maxSteps]            token ids (padding: 0)
 *            dense:  Float32Array [count, maxSteps, inputSize] feature vectors
 *   lengths  Int32Array [count]   true length of each sequence, 1..maxSteps
 *   targets  'class-per-sequence'   Int32Array  [count]
 *            'class-per-step'       Int32Array  [count, maxSteps]      (padding: -1, ignored)
 *            'value-per-sequence'   Float32Array [count, outputSize]
 *            'value-per-step'       Float32Array [count, maxSteps, outputSize]
 *            'multilabel-per-sequence'  Float32Array [count, outputSize]           0/1 per label
 *            'multilabel-per-step'      Float32Array [count, maxSteps, outputSize] 0/1 per label
 */
export const INPUT_KINDS = ['tokens', 'dense'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
export const TARGET_KINDS = [
  'class-per-sequence', 'class-per-step', 'value-per-sequence', 'value-per-step', 'multilabel-per-sequence', 'multilabel-per-step',
] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/** Targets are class ids (one Int32 per target), not floats (outputSize per target). */
export function targetIsClass(k: TargetKind): boolean {
  return k.startsWith('class');
}

/** Targets with an accuracy (class and multi-label targets; values have only a loss). */
export function targetHasAccuracy(k: TargetKind): boolean {
  return targetIsClass(k) || k.startsWith('multilabel');
}

/** One target per step t < length, not one per sequence. */
export function targetPerStep(k: TargetKind): boolean {
  return k.endsWith('per-step');
}

/** Inputs alone (what predict takes): a dataset without targets. */
export interface SequenceInputs {
  inputKind: InputKind;
  /** Vocabulary size for tokens, features per step for dense inputs. */
  inputSize: number;
  count: number;
  maxSteps: number;
  lengths: Int32Array;
  inputs: Int32Array | Float32Array;
}

export interface SequenceDataset extends SequenceInputs {
  targetKind: TargetKind;
  /** Number of classes, or values per target. */
  outputSize: number;
  targets: Int32Array | Float32Array;
}

/** Whether the data carries targets (a SequenceDataset), not inputs alone. */
export function hasTargets(d: SequenceInputs): d is SequenceDataset {
  return (d as Partial<SequenceDataset>).targets !== undefined;
}

/** Tokens (sequence steps) in the given rows: what tokens per second count. */
export function batchTokens(d: SequenceDataset, rows: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < rows.length; i++) n += d.lengths[rows[i]!]!;
  return n;
}

/** Checks the shapes of inputs (a dataset's, or inputs alone); the message names the field and what was expected. */
export function validateInputs(d: SequenceInputs, where = 'dataset'): void {
  const fail = (msg: string): never => {
    throw new RangeError(`${where}: ${msg}`);
  };
  if (!(d.count >= 1)) fail(`count must be at least 1, got ${d.count}`);
  if (!(d.maxSteps >= 1)) fail(`maxSteps must be at least 1, got ${d.maxSteps}`);
  if (d.lengths.length !== d.count) fail(`lengths has ${d.lengths.length} entries, expected count = ${d.count}`);
  for (let i = 0; i < d.count; i++) {
    const L = d.lengths[i]!;
    if (!(L >= 1 && L <= d.maxSteps)) fail(`lengths[${i}] = ${L} is outside 1..${d.maxSteps}`);
  }
  const inSize = d.inputKind === 'tokens' ? d.count * d.maxSteps : d.count * d.maxSteps * d.inputSize;
  if (d.inputs.length !== inSize) fail(`inputs has ${d.inputs.length} values, expected ${inSize}`);
  if (d.inputKind === 'tokens') {
    for (let i = 0; i < d.inputs.length; i++) {
      const v = d.inputs[i]!;
      if (!(v >= 0 && v < d.inputSize)) fail(`inputs[${i}] = ${v} is not a token id in 0..${d.inputSize - 1}`);
    }
  }
}

/** Checks the shapes of a dataset, inputs and targets; the message names the field and what was expected. */
export function validateDataset(d: SequenceDataset, where = 'dataset'): void {
  validateInputs(d, where);
  const fail = (msg: string): never => {
    throw new RangeError(`${where}: ${msg}`);
  };
  if (!hasTargets(d)) fail('has no targets: training and evaluating need them (targetKind, outputSize, targets); predict takes inputs alone');
  if (!(TARGET_KINDS as readonly unknown[]).includes(d.targetKind)) fail(`targetKind must be one of ${TARGET_KINDS.join(', ')}, got ${JSON.stringify(d.targetKind)}`);
  const perSeq = !targetPerStep(d.targetKind);
  const isClass = targetIsClass(d.targetKind);
  const tSize = d.count * (perSeq ? 1 : d.maxSteps) * (isClass ? 1 : d.outputSize);
  if (d.targets.length !== tSize) fail(`targets has ${d.targets.length} values, expected ${tSize}`);
  if (isClass) {
    for (let i = 0; i < d.targets.length; i++) {
      const v = d.targets[i]!;
      if (!(v >= -1 && v < d.outputSize)) fail(`targets[${i}] = ${v} is not a class in 0..${d.outputSize - 1} (or -1 for padding)`);
    }
  }
  if (d.targetKind.startsWith('multilabel')) {
    for (let i = 0; i < d.targets.length; i++) {
      const v = d.targets[i]!;
      if (!(v >= 0 && v <= 1)) fail(`targets[${i}] = ${v} is not a label value in [0, 1]`);
    }
  }
}
