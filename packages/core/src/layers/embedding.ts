/**
 * `embedding` {dim}: nn.Embedding(V, dim) over the model's token input; `<name>.weight [V, dim]`,
 * initialised N(0, 1) as PyTorch does. Output: a time-major sequence [steps, batch, dim], zero at
 * padded steps. Backward adds each step's gradient into its token's row, sequence by sequence
 * and step by step (a fixed order, so repeated tokens sum the same way everywhere).
 */
import { keysOf, positiveInt } from '../options/validate.js';
import { OptionError } from '../options/errors.js';
import type { LayerDef } from './types.js';

export interface EmbeddingOptions {
  /** Width of a token's vector. */
  dim: number;
}

export const embedding: LayerDef<EmbeddingOptions> = {
  type: 'embedding',
  what: 'an embedding layer',
  keys: keysOf<EmbeddingOptions>({ dim: true }),
  accepts: { tokens: true },
  resolve(o, where, input) {
    if (input.kind !== 'tokens') {
      throw new OptionError(`${where}: an embedding takes token ids, so it must be the first layer of a model with input { kind: 'tokens' }`, where);
    }
    positiveInt(o.dim, `${where}.dim`);
    return { dim: o.dim };
  },
  output: (o) => ({ kind: 'sequence', size: o.dim }),
  params: (o, input) => [{ name: 'weight', shape: [input.size, o.dim], init: { kind: 'normal', std: 1 } }],
  scratch: (o, _input, batch, steps) => ({ out: batch * steps * o.dim }),
  create(o, _input, env) {
    const E = o.dim;
    const w = env.offset('weight');
    let tokens: Int32Array = new Int32Array(0);
    return {
      forward(x, p, s) {
        const { batch: B, steps: T, lengths } = p;
        tokens = x.tokens!;
        const out = s.out!;
        const P = p.params;
        for (let t = 0; t < T; t++) {
          for (let b = 0; b < B; b++) {
            const dst = (t * B + b) * E;
            if (t >= lengths[b]!) {
              out.fill(0, dst, dst + E);
              continue;
            }
            const src = w + tokens[b * T + t]! * E;
            for (let e = 0; e < E; e++) out[dst + e] = P[src + e]!;
          }
        }
        return { data: out.subarray(0, T * B * E) };
      },
      backward(dy, p) {
        const { batch: B, steps: T, lengths } = p;
        const g = p.grads;
        const d = dy.data;
        if (d) {
          for (let b = 0; b < B; b++) {
            for (let t = 0; t < lengths[b]!; t++) {
              const src = (t * B + b) * E;
              const dst = w + tokens[b * T + t]! * E;
              for (let e = 0; e < E; e++) g[dst + e]! += d[src + e]!;
            }
          }
        }
        return { data: null };
      },
    };
  },
};
