/**
 * `layerNorm` {eps?}: nn.LayerNorm(F) over the features of every step or row:
 * y = (x - mean) / sqrt(var + eps) * weight + bias, the variance biased (divided by F), as
 * PyTorch. Parameters `<name>.weight [F]` (ones) and `<name>.bias [F]` (zeros). Statistics in
 * float64; each row's mean and 1/σ are kept for backward:
 *   dx = (1/σ) (dx̂ - mean(dx̂) - x̂ · mean(dx̂ ⊙ x̂)),  dx̂ = dy ⊙ weight.
 */
import { keysOf, positiveNumber } from '../options/validate.js';
import { rowsOf, type LayerDef } from './types.js';

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5, PyTorch's). */
  eps?: number;
}

export const layerNorm: LayerDef<Required<LayerNormOptions>> = {
  type: 'layerNorm',
  what: 'a layer norm',
  keys: keysOf<LayerNormOptions>({ eps: true }),
  resolve(o, where) {
    const eps = o.eps ?? 1e-5;
    positiveNumber(eps, `${where}.eps`);
    return { eps };
  },
  output: (_o, input) => input,
  params: (_o, input) => [
    { name: 'weight', shape: [input.size], init: { kind: 'constant', value: 1 } },
    { name: 'bias', shape: [input.size], init: { kind: 'constant', value: 0 } },
  ],
  scratch: (_o, input, batch, steps) => {
    const rows = rowsOf(input, batch, steps);
    return { out: rows * input.size, dx: rows * input.size, stats: 2 * rows };
  },
  create(o, input, env) {
    const F = input.size;
    const wOff = env.offset('weight');
    const bOff = env.offset('bias');
    const dW = new Float64Array(F);
    const dB = new Float64Array(F);
    let x: Float32Array = new Float32Array(0);
    return {
      forward(v, p, s) {
        const rows = rowsOf(input, p.batch, p.steps);
        x = v.data;
        const y = s.out!;
        const st = s.stats!;
        const P = p.params;
        for (let r = 0; r < rows; r++) {
          const o0 = r * F;
          let mean = 0;
          for (let f = 0; f < F; f++) mean += x[o0 + f]!;
          mean /= F;
          let vr = 0;
          for (let f = 0; f < F; f++) {
            const d = x[o0 + f]! - mean;
            vr += d * d;
          }
          const rstd = 1 / Math.sqrt(vr / F + o.eps);
          st[2 * r] = mean;
          st[2 * r + 1] = rstd;
          for (let f = 0; f < F; f++) y[o0 + f] = (x[o0 + f]! - mean) * rstd * P[wOff + f]! + P[bOff + f]!;
        }
        return { data: y.subarray(0, rows * F) };
      },
      backward(dy, p, s) {
        const rows = rowsOf(input, p.batch, p.steps);
        const d = dy.data;
        const dx = p.inputGrad ? s.dx!.subarray(0, rows * F) : null;
        if (!d) {
          dx?.fill(0);
          return { data: dx };
        }
        const st = s.stats!;
        const P = p.params;
        dW.fill(0);
        dB.fill(0);
        for (let r = 0; r < rows; r++) {
          const o0 = r * F;
          const mean = st[2 * r]!;
          const rstd = st[2 * r + 1]!;
          let sum = 0;
          let sumX = 0;
          for (let f = 0; f < F; f++) {
            const xh = (x[o0 + f]! - mean) * rstd;
            const g = d[o0 + f]!;
            dW[f]! += g * xh;
            dB[f]! += g;
            const dxh = g * P[wOff + f]!;
            sum += dxh;
            sumX += dxh * xh;
          }
          if (!dx) continue;
          sum /= F;
          sumX /= F;
          for (let f = 0; f < F; f++) {
            const xh = (x[o0 + f]! - mean) * rstd;
            dx[o0 + f] = rstd * (d[o0 + f]! * P[wOff + f]! - sum - xh * sumX);
          }
        }
        const g = p.grads;
        for (let f = 0; f < F; f++) {
          g[wOff + f]! += dW[f]!;
          g[bOff + f]! += dB[f]!;
        }
        return { data: dx };
      },
    };
  },
};
