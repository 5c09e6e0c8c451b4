/**
 * `binaryCrossEntropy`: nn.BCEWithLogitsLoss() for multi-label targets, 0/1 (or soft, in [0, 1])
 * floats [rows, C]; the mean over every counted element. Per element, stably:
 *   max(x, 0) - x·y + log(1 + exp(-|x|)),  gradient σ(x) - y.
 * `correct` counts elements whose side of 0 agrees with the label (per-label accuracy).
 */
import type { LossDef } from './types.js';
import { valueTerms } from './terms.js';

export const binaryCrossEntropy: LossDef<Record<string, never>> = {
  kind: 'binaryCrossEntropy',
  keys: [],
  targets: 'multilabel',
  resolve: () => ({}),
  terms: (_o, d, rows) => valueTerms(d, rows),
  compute(_o, { output, dOutput, targets, rows, size: C, scale, mask }) {
    let sum = 0;
    let count = 0;
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      const o0 = r * C;
      if (mask && mask[r] === 0) {
        dOutput.fill(0, o0, o0 + C);
        continue;
      }
      for (let j = 0; j < C; j++) {
        const x = output[o0 + j]!;
        const y = targets[o0 + j]!;
        const ax = Math.abs(x);
        sum += Math.max(x, 0) - x * y + Math.log1p(Math.exp(-ax));
        // σ(x) without overflow: exp of a non-positive number only.
        const ex = Math.exp(-ax);
        const sig = x >= 0 ? 1 / (1 + ex) : ex / (1 + ex);
        dOutput[o0 + j] = (sig - y) * scale;
        if ((x > 0) === (y >= 0.5)) correct++;
      }
      count += C;
    }
    return { sum, count, correct, weight: count };
  },
};
