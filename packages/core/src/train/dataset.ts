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
 */
export const INPUT_KINDS = ['tokens', 'dense'] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
export const TARGET_KINDS = ['class-per-sequence', 'class-per-step', 'value-per-sequence', 'value-per-step'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface SequenceDataset {
  inputKind: InputKind;
  /** Vocabulary size for tokens, features per step for dense inputs. */
  inputSize: number;
  targetKind: TargetKind;
  /** Number of classes, or values per target. */
  outputSize: number;
  count: number;
  maxSteps: number;
  lengths: Int32Array;
  inputs: Int32Array | Float32Array;
  targets: Int32Array | Float32Array;
}

/** Checks the shapes of a dataset; the message names the field and what was expected. */
export function validateDataset(d: SequenceDataset, where = 'dataset'): void {
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
  const perSeq = d.targetKind.endsWith('per-sequence');
  const isClass = d.targetKind.startsWith('class');
  const tSize = d.count * (perSeq ? 1 : d.maxSteps) * (isClass ? 1 : d.outputSize);
  if (d.targets.length !== tSize) fail(`targets has ${d.targets.length} values, expected ${tSize}`);
  if (d.inputKind === 'tokens') {
    for (let i = 0; i < d.inputs.length; i++) {
      const v = d.inputs[i]!;
      if (!(v >= 0 && v < d.inputSize)) fail(`inputs[${i}] = ${v} is not a token id in 0..${d.inputSize - 1}`);
    }
  }
  if (isClass) {
    for (let i = 0; i < d.targets.length; i++) {
      const v = d.targets[i]!;
      if (!(v >= -1 && v < d.outputSize)) fail(`targets[${i}] = ${v} is not a class in 0..${d.outputSize - 1} (or -1 for padding)`);
    }
  }
}
