/**
 * Losses for values: `mse` (nn.MSELoss(), the squared-error kernel of the kernel table) and
 * `huber` {delta?} (nn.HuberLoss(delta): ½e² where |e| < δ, else δ(|e| - ½δ); gradient e
 * clipped to ±δ). Both the mean over every counted element.
 */
import { kernels } from '../kernels/index.js';
import { keysOf, positiveNumber } from '../options/validate.js';
import type { LossDef } from './types.js';
import { forEachCountedRow, valueTerms } from './terms.js';

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
  compute({ delta }, x) {
    const { output, dOutput, targets, size, scale } = x;
    let sum = 0;
    const count = forEachCountedRow(x, (o0) => {
      for (let j = 0; j < size; j++) {
        const e = output[o0 + j]! - targets[o0 + j]!;
        const a = Math.abs(e);
        sum += a < delta ? 0.5 * e * e : delta * (a - 0.5 * delta);
        dOutput[o0 + j] = (a < delta ? e : e > 0 ? delta : -delta) * scale;
      }
    });
    return { sum, count, correct: 0, weight: count };
  },
};
