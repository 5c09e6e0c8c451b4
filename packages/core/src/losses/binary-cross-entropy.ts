/**
 * `binaryCrossEntropy`: nn.BCEWithLogitsLoss() for multi-label targets, 0/1 (or soft, in [0, 1])
 * floats [rows, C]; the mean over every counted element. Per element, stably:
 *   max(x, 0) - x·y + log(1 + exp(-|x|)),  gradient σ(x) - y.
 * `correct` counts elements whose side of 0 agrees with the label (per-label accuracy).
 */
import type { LossDef } from './types.js';
import { forEachCountedRow, valueTerms } from './terms.js';

export const binaryCrossEntropy: LossDef<Record<string, never>> = {
  kind: 'binaryCrossEntropy',
  keys: [],
  targets: 'multilabel',
  resolve: () => ({}),
  terms: (_o, d, rows) => valueTerms(d, rows),
  compute(_o, x) {
    const { output, dOutput, targets, size: C, scale } = x;
    let sum = 0;
    let correct = 0;
    const count = forEachCountedRow(x, (o0) => {
      for (let j = 0; j < C; j++) {
        const v = output[o0 + j]!;
        const y = targets[o0 + j]!;
        const ex = Math.exp(-Math.abs(v)); // exp of a non-positive number only: no overflow
        sum += Math.max(v, 0) - v * y + Math.log1p(ex);
        dOutput[o0 + j] = ((v >= 0 ? 1 : ex) / (1 + ex) - y) * scale; // σ(v) - y
        if ((v > 0) === (y >= 0.5)) correct++;
      }
    });
    return { sum, count, correct, weight: count };
  },
};
