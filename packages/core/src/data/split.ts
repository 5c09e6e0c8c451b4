/**
 * Row selection on a SequenceDataset: `subset` copies chosen rows, `split` draws a seeded
 * validation part. Rows keep the dataset's maxSteps, so parts of one dataset have the same shape.
 */
import { Rng } from '../rng.js';
import type { SequenceDataset } from './dataset.js';

/** The rows `indices` (in that order, repeats allowed) as a new dataset with copied arrays. */
export function subset(d: SequenceDataset, indices: ArrayLike<number>): SequenceDataset {
  const n = indices.length;
  const inRow = d.maxSteps * (d.inputKind === 'dense' ? d.inputSize : 1);
  const perStep = d.targetKind.endsWith('per-step');
  const tRow = (perStep ? d.maxSteps : 1) * (d.targetKind.startsWith('class') ? 1 : d.outputSize);
  const lengths = new Int32Array(n); // [n]
  const inputs = d.inputs instanceof Int32Array ? new Int32Array(n * inRow) : new Float32Array(n * inRow);
  const targets = d.targets instanceof Int32Array ? new Int32Array(n * tRow) : new Float32Array(n * tRow);
  for (let j = 0; j < n; j++) {
    const i = indices[j]!;
    if (!Number.isInteger(i) || i < 0 || i >= d.count) throw new RangeError(`subset: indices[${j}] = ${i} is not a row in 0..${d.count - 1}`);
    lengths[j] = d.lengths[i]!;
    inputs.set(d.inputs.subarray(i * inRow, (i + 1) * inRow), j * inRow);
    targets.set(d.targets.subarray(i * tRow, (i + 1) * tRow), j * tRow);
  }
  return { ...d, count: n, lengths, inputs, targets };
}

export interface Split {
  train: SequenceDataset;
  valid: SequenceDataset;
  /** Row indices of each part in the original dataset, ascending. */
  trainRows: Int32Array;
  validRows: Int32Array;
}

/**
 * A seeded random split: about `fraction` of the rows (at least one) go to `valid`, the rest
 * (at least one) to `train`; each part keeps the original order. With `groups` (one integer per
 * row), rows of the same group always land on the same side (e.g. the two labels of a name that
 * is on both the female and the male list), and `fraction` counts groups, not rows.
 */
export function split(d: SequenceDataset, fraction: number, seed: number, groups?: ArrayLike<number>): Split {
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1)) throw new RangeError(`split: fraction must be a number in (0, 1), got ${JSON.stringify(fraction)}`);
  if (!Number.isInteger(seed)) throw new TypeError(`split: seed must be an integer, got ${JSON.stringify(seed)}`);
  if (groups !== undefined && groups.length !== d.count) throw new RangeError(`split: groups has ${groups.length} entries, expected count = ${d.count}`);
  const keys = groups === undefined ? Int32Array.from({ length: d.count }, (_, i) => i) : Int32Array.from(groups);
  const distinct = Int32Array.from(new Set(keys)).sort();
  if (distinct.length < 2) throw new RangeError(`split: needs at least 2 ${groups ? 'groups' : 'rows'} to make two non-empty parts, got ${distinct.length}`);
  new Rng(seed).shuffle(distinct);
  const nValid = Math.min(distinct.length - 1, Math.max(1, Math.round(fraction * distinct.length)));
  const validKeys = new Set(distinct.subarray(0, nValid));
  const trainRows: number[] = [];
  const validRows: number[] = [];
  for (let i = 0; i < d.count; i++) (validKeys.has(keys[i]!) ? validRows : trainRows).push(i);
  return {
    train: subset(d, trainRows),
    valid: subset(d, validRows),
    trainRows: Int32Array.from(trainRows),
    validRows: Int32Array.from(validRows),
  };
}
