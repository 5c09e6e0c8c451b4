/**
 * Datasets in shared memory. A SequenceDataset is a handful of typed arrays (data/dataset.ts);
 * copied once into SharedArrayBuffers it crosses to every worker as views of the same memory
 * (structured clone shares a SharedArrayBuffer instead of copying it), so a step sends only row
 * indices, and those through the control block's rows array, not a message.
 */
import type { SequenceDataset } from '@weft/core';

/** A dataset whose arrays live in SharedArrayBuffers, with the id the workers know it by. */
export interface SharedDataset {
  id: number;
  data: SequenceDataset;
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
 * The dataset with its arrays in shared memory: arrays already on a SharedArrayBuffer are used
 * as they are (no copy), others are copied once. The result holds only the dataset's fields.
 */
export function shareDataset(d: SequenceDataset): SequenceDataset {
  if (d === null || typeof d !== 'object') throw new TypeError(`dataset must be a SequenceDataset object, got ${String(d)}`);
  for (const k of ['lengths', 'inputs', 'targets'] as const) {
    const a = d[k];
    if (!(a instanceof Int32Array || a instanceof Float32Array)) {
      throw new TypeError(`dataset.${k} must be an Int32Array or Float32Array, got ${Object.prototype.toString.call(a)}`);
    }
  }
  return {
    inputKind: d.inputKind,
    inputSize: d.inputSize,
    targetKind: d.targetKind,
    outputSize: d.outputSize,
    count: d.count,
    maxSteps: d.maxSteps,
    lengths: shareArray(d.lengths),
    inputs: shareArray(d.inputs),
    targets: shareArray(d.targets),
  };
}
