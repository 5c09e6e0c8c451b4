/**
 * Packing per-example arrays into the padded, flat SequenceDataset every training path consumes
 * (token inputs padded with 0 = Vocab.PAD, dense inputs with zeros, per-step class targets with
 * -1, which the loss ignores).
 */
import type { InputKind, SequenceDataset, TargetKind } from './dataset.js';

export interface PackSpec {
  inputKind: InputKind;
  inputSize: number;
  targetKind: TargetKind;
  outputSize: number;
  /** One per example: token ids [L], or dense features [L, inputSize] flattened row-major. */
  inputs: readonly ArrayLike<number>[];
  /**
   * One per example: a class id ('class-per-sequence'), class ids [L] ('class-per-step'),
   * values [outputSize] ('value-per-sequence') or [L, outputSize] ('value-per-step').
   */
  targets: readonly (number | ArrayLike<number>)[];
  /** Padded length; the longest example when left out. */
  maxSteps?: number;
}

export function packDataset(p: PackSpec): SequenceDataset {
  const count = p.inputs.length;
  if (p.targets.length !== count) throw new RangeError(`packDataset: ${count} inputs but ${p.targets.length} targets`);
  const width = p.inputKind === 'dense' ? p.inputSize : 1;
  const lengths = new Int32Array(count); // [count]
  let longest = 0;
  for (let i = 0; i < count; i++) {
    const L = p.inputs[i]!.length / width;
    lengths[i] = L;
    if (L > longest) longest = L;
  }
  const T = p.maxSteps ?? longest;
  if (longest > T) throw new RangeError(`packDataset: an example has ${longest} steps, more than maxSteps = ${T}`);
  const inputs = p.inputKind === 'tokens' ? new Int32Array(count * T) : new Float32Array(count * T * width); // [count, T(, inputSize)]
  for (let i = 0; i < count; i++) inputs.set(p.inputs[i]!, i * T * width);

  const perStep = p.targetKind.endsWith('per-step');
  const isClass = p.targetKind.startsWith('class');
  const rowSize = (perStep ? T : 1) * (isClass ? 1 : p.outputSize);
  const targets = isClass ? new Int32Array(count * rowSize) : new Float32Array(count * rowSize); // [count(, T)(, outputSize)]
  if (isClass && perStep) targets.fill(-1);
  for (let i = 0; i < count; i++) {
    const t = p.targets[i]!;
    if (typeof t === 'number') {
      if (perStep || !isClass) throw new RangeError(`packDataset: targets[${i}] is a number; ${p.targetKind} needs an array`);
      targets[i] = t;
    } else {
      const expected = (perStep ? lengths[i]! : 1) * (isClass ? 1 : p.outputSize);
      if (t.length !== expected) throw new RangeError(`packDataset: targets[${i}] has ${t.length} values, expected ${expected}`);
      targets.set(t, i * rowSize);
    }
  }
  return { inputKind: p.inputKind, inputSize: p.inputSize, targetKind: p.targetKind, outputSize: p.outputSize, count, maxSteps: T, lengths, inputs, targets };
}
