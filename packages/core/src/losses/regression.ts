/**
 * Losses for values: `mse` (nn.MSELoss(), the squared-error kernel of the kernel table) and
 * `huber` {delta?} (nn.HuberLoss(delta): ½e² where |e| < δ, else δ(|e| - ½δ); gradient e
 * clipped to ±δ). Both the mean over every counted element.
 */
import { kernels } from '../kernels/index.js';
import { keysOf, positiveNumber } from '../options/validate.js';
import type { LossDef } from './types.js';
import { valueTerms } from './terms.js';

export const mse: LossDef<Record<string, never>> = {
  kind: 'mse',
  keys: [],
  targets: 'value',
  resolve: () => ({}),
  terms: (_o, d, rows) => valueTerms(d, rows),
  compute(_o, { output, dOutput, targets, rows, size, scale, mask }) {
    const r = kernels.meanSquaredError(dOutput, output, targets, rows, size, scale, mask);
    return { ...r, weight: r.count };
  },
};

export interface HuberOptions {
  /** Where the loss turns from quadratic to linear (default 1, PyTorch's). */
  delta?: number;
}

export const huber: LossDef<Required<HuberOptions>> = {
  kind: 'huber',
  keys: keysOf<HuberOptions>({ delta: true }),
  targets: 'value',
  resolve(o, where) {
    const delta = o.delta ?? 1;
    positiveNumber(delta, `${where}.delta`);
    return { delta };
  },
  terms: (_o, d, rows) => valueTerms(d, rows),
  compute({ delta }, { output, dOutput, targets, rows, size, scale, mask }) {
    let sum = 0;
    let count = 0;
    for (let r = 0; r < rows; r++) {
      const o0 = r * size;
      if (mask && mask[r] === 0) {
        dOutput.fill(0, o0, o0 + size);
        continue;
      }
      for (let j = 0; j < size; j++) {
        const e = output[o0 + j]! - targets[o0 + j]!;
        const a = Math.abs(e);
        if (a < delta) {
          sum += 0.5 * e * e;
          dOutput[o0 + j] = e * scale;
        } else {
          sum += delta * (a - 0.5 * delta);
          dOutput[o0 + j] = (e > 0 ? delta : -delta) * scale;
        }
      }
      count += size;
    }
    return { sum, count, correct: 0, weight: count };
  },
};
