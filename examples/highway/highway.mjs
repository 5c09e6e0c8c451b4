// A layer of one's own for weft: a highway layer (Srivastava, Greff & Schmidhuber 2015),
//
//   y = g ⊙ f(W_h x + b_h) + (1 - g) ⊙ x,   g = σ(W_g x + b_g),
//
// applied to every step of a sequence (or every row after a pool), width in = width out. A
// layer module exports `layers`: an array of layer definitions, each keeping the contract of
// docs/layers.md (options, parameters, scratch, forward and backward side by side). A spec
// that uses it names this file in `modules`; weft's worker threads import it themselves.
import { OptionError, kernels, linearBackward, linearForward } from '@weft/core';

const ACTIVATIONS = ['tanh', 'relu'];

/** @type {import('@weft/core').LayerDef<{ activation: 'tanh' | 'relu'; gateBias: number }>} */
export const highway = {
  type: 'highway',
  what: 'a highway layer',
  keys: ['activation', 'gateBias'],
  resolve(o, where) {
    const activation = o.activation ?? 'tanh';
    if (!ACTIVATIONS.includes(activation)) {
      throw new OptionError(`${where}.activation must be 'tanh' or 'relu', got ${JSON.stringify(activation)}`, `${where}.activation`);
    }
    // A negative gate bias starts the layer close to the identity (carry), as the paper advises.
    const gateBias = o.gateBias ?? -1;
    if (typeof gateBias !== 'number' || !Number.isFinite(gateBias)) {
      throw new OptionError(`${where}.gateBias must be a number, got ${JSON.stringify(gateBias)}`, `${where}.gateBias`);
    }
    return { activation, gateBias };
  },
  output: (_o, input) => input,
  params(o, input) {
    const F = input.size;
    const init = { kind: 'uniform', bound: 1 / Math.sqrt(F) }; // nn.Linear's
    return [
      { name: 'transform.weight', shape: [F, F], init },
      { name: 'transform.bias', shape: [F], init },
      { name: 'gate.weight', shape: [F, F], init },
      { name: 'gate.bias', shape: [F], init: { kind: 'constant', value: o.gateBias } },
    ];
  },
  scratch(_o, input, batch, steps) {
    const n = (input.kind === 'rows' ? batch : batch * steps) * input.size;
    return { h: n, g: n, out: n, dh: n, dg: n, dx: n };
  },
  create(o, input, env) {
    const F = input.size;
    const wh = env.offset('transform.weight');
    const bh = env.offset('transform.bias');
    const wg = env.offset('gate.weight');
    const bg = env.offset('gate.bias');
    const relu = o.activation === 'relu';
    let x = new Float32Array(0);
    return {
      forward(v, p, s) {
        const rows = input.kind === 'rows' ? p.batch : p.batch * p.steps;
        const n = rows * F;
        x = v.data;
        const { h, g, out } = s;
        const P = p.params;
        linearForward(h, x, P, wh, P, bh, rows, F, F);
        if (relu) for (let i = 0; i < n; i++) h[i] = h[i] > 0 ? h[i] : 0;
        else kernels.tanh(h, 0, n);
        linearForward(g, x, P, wg, P, bg, rows, F, F);
        kernels.sigmoid(g, 0, n);
        for (let i = 0; i < n; i++) out[i] = g[i] * h[i] + (1 - g[i]) * x[i];
        return { data: out.subarray(0, n) };
      },
      backward(dy, p, s) {
        const rows = input.kind === 'rows' ? p.batch : p.batch * p.steps;
        const n = rows * F;
        const { h, g, dh, dg, dx } = s;
        const d = dy.data;
        if (!d) return { data: null }; // nothing flows back: no gradient anywhere
        for (let i = 0; i < n; i++) {
          const gi = g[i];
          // Through f: tanh' = 1 - h², relu' = [h > 0]; through σ: g (1 - g).
          dh[i] = d[i] * gi * (relu ? (h[i] > 0 ? 1 : 0) : 1 - h[i] * h[i]);
          dg[i] = d[i] * (h[i] - x[i]) * gi * (1 - gi);
        }
        const G = p.grads;
        const P = p.params;
        // Weight and bias gradients accumulate; dx = dh·W_h + dg·W_g + dy ⊙ (1 - g).
        linearBackward(p.inputGrad ? dx : null, G, wh, G, bh, dh, x, P, wh, rows, F, F);
        linearBackward(null, G, wg, G, bg, dg, x, P, wg, rows, F, F);
        if (!p.inputGrad) return { data: null };
        kernels.gemm(false, false, rows, F, F, dg, 0, F, P, wg, F, dx, 0, F, true);
        for (let i = 0; i < n; i++) dx[i] += d[i] * (1 - g[i]);
        return { data: dx.subarray(0, n) };
      },
    };
  },
};

export const layers = [highway];
