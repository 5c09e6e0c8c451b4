/**
 * Datasets in shared memory. A SequenceDataset is a handful of typed arrays (data/dataset.ts);
 * copied once into SharedArrayBuffers it crosses to every worker as views of the same memory
 * (structured clone shares a SharedArrayBuffer instead of copying it), so a step sends only row
 * indices, and those through the control block's rows array, not a message.
 */
import { hasTargets, type SequenceDataset, type SequenceInputs } from '@weft/core';

/** A dataset (or inputs alone, to predict) whose arrays live in SharedArrayBuffers, with the id the workers know it by. */
export interface SharedDataset {
  id: number;
  data: SequenceDataset | SequenceInputs;
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

function shareArray<T extends Int32Array | Float32Array>(a: T): T {
  if (isShared(a)) return a;
  const Ctor = a.constructor as { new (b: SharedArrayBuffer): T };
  const out = new Ctor(new SharedArrayBuffer(a.length * a.BYTES_PER_ELEMENT));
  out.set(a);
  return out;
}

/**
 * The dataset (or inputs alone) with its arrays in shared memory: arrays already on a
 * SharedArrayBuffer are used as they are (no copy), others are copied once. The result holds
 * only the dataset's fields.
 */
export function shareDataset<D extends SequenceInputs>(d: D): D extends SequenceDataset ? SequenceDataset : SequenceInputs;
export function shareDataset(d: SequenceInputs): SequenceInputs | SequenceDataset {
  if (d === null || typeof d !== 'object') throw new TypeError(`dataset must be a SequenceDataset object, got ${String(d)}`);
  const withTargets = hasTargets(d);
  for (const k of withTargets ? ['lengths', 'inputs', 'targets'] as const : ['lengths', 'inputs'] as const) {
    const a = (d as SequenceDataset)[k];
    if (!(a instanceof Int32Array || a instanceof Float32Array)) {
      throw new TypeError(`dataset.${k} must be an Int32Array or Float32Array, got ${Object.prototype.toString.call(a)}`);
    }
  }
  const inputs: SequenceInputs = {
    inputKind: d.inputKind,
    inputSize: d.inputSize,
    count: d.count,
    maxSteps: d.maxSteps,
    lengths: shareArray(d.lengths),
    inputs: shareArray(d.inputs),
  };
  // Inputs alone (predict) stay without targets.
  return withTargets ? { ...inputs, targetKind: d.targetKind, outputSize: d.outputSize, targets: shareArray(d.targets) } : inputs;
}
