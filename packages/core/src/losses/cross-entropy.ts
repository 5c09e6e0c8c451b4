/**
 * `crossEntropy` {classWeights?, labelSmoothing?}: nn.CrossEntropyLoss(weight, label_smoothing,
 * reduction='mean'), targets -1 ignored. With weights w and smoothing s over C classes, a row
 * with target y and log-probabilities l costs
 *   (1 - s) · w_y · (-l_y) + (s / C) · Σ_c w_c · (-l_c)
 * and the mean divides the sum by Σ w_y over the counted rows (by their number without weights),
 * exactly as PyTorch 1.13. Its gradient: p_j ((1-s) w_y + (s/C) Σ_c w_c) - (1-s) w_y [j = y] - (s/C) w_j.
 * Plain cross-entropy (no weights, no smoothing) runs the softmax-CE kernel of the kernel table;
 * the general form is the loop below (float64 between float32 loads and stores).
 */
import { kernels } from '../kernels/index.js';
import { checkTarget, expRow, rowExp, type RowExp } from '../kernels/loss.js';
import { badOption, keysOf, unitInterval } from '../options/validate.js';
import type { LossDef } from './types.js';
import { forEachTarget } from './terms.js';

export interface CrossEntropyOptions {
  /** One weight per class (PyTorch's `weight`). */
  classWeights?: number[];
  /** PyTorch's `label_smoothing`, in [0, 1). */
  labelSmoothing?: number;
}

export interface ResolvedCrossEntropy {
  classWeights?: number[];
  labelSmoothing: number;
}


export const crossEntropy: LossDef<ResolvedCrossEntropy> = {
  kind: 'crossEntropy',
  keys: keysOf<CrossEntropyOptions>({ classWeights: true, labelSmoothing: true }),
  targets: 'class',
  resolve(o, where, C) {
    const s = o.labelSmoothing ?? 0;
    unitInterval(s, `${where}.labelSmoothing`);
    const w = o.classWeights;
    if (w === undefined) return { labelSmoothing: s };
    if (!Array.isArray(w) && !ArrayBuffer.isView(w)) badOption(`${where}.classWeights`, `an array of ${C} non-negative numbers (one per class)`, w);
    const arr = Array.from(w as ArrayLike<unknown>);
    if (arr.length !== C || !arr.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) {
      badOption(`${where}.classWeights`, `an array of ${C} non-negative numbers (one per class)`, w);
    }
    return { classWeights: arr as number[], labelSmoothing: s };
  },
  terms(o, d, rows) {
    const w = o.classWeights;
    let n = 0;
    forEachTarget(d, rows, (y) => {
      if (y >= 0) n += w ? w[y]! : 1;
    });
    return n;
  },
  compute(o, { output, dOutput, targets, rows, size: C, scale }) {
    const w = o.classWeights;
    const s = o.labelSmoothing;
    if (!w && s === 0) {
      const r = kernels.softmaxCrossEntropy(dOutput, output, targets, rows, C, scale);
      return { ...r, weight: r.count };
    }
    let W = C;
    if (w) {
      W = 0;
      for (let c = 0; c < C; c++) W += w[c]!;
    }
    const e = expRow(C);
    const row: RowExp = { arg: 0, max: 0, z: 0 };
    let sum = 0;
    let count = 0;
    let correct = 0;
    let weight = 0;
    for (let r = 0; r < rows; r++) {
      const o0 = r * C;
      const y = targets[r]!;
      if (y < 0) {
        dOutput.fill(0, o0, o0 + C);
        continue;
      }
      checkTarget(y, r, C);
      const { arg, max, z } = rowExp(output, o0, C, e, row);
      let wz = 0; // Σ_c w_c z_c
      for (let j = 0; j < C; j++) wz += (w ? w[j]! : 1) * output[o0 + j]!;
      const lse = Math.log(z) + max;
      const wy = w ? w[y]! : 1;
      sum += (1 - s) * wy * (lse - output[o0 + y]!) + (s / C) * (W * lse - wz);
      count++;
      weight += wy;
      if (arg === y) correct++;
      const k = (1 - s) * wy + (s / C) * W;
      for (let j = 0; j < C; j++) {
        let g = (e[j]! / z) * k - (s / C) * (w ? w[j]! : 1);
        if (j === y) g -= (1 - s) * wy;
        dOutput[o0 + j] = g * scale;
      }
    }
    return { sum, count, correct, weight };
  },
};
