/**
 * `dropout` {p}: inverted dropout on every element, in training only (evaluation passes the
 * input through untouched). No parameters. The mask is drawn from `pass.rng` (keyed by seed,
 * step and shard: the same mask whoever computes the shard), one draw per element of all
 * steps, padding included, so the draws do not depend on the lengths (stack/dropout.ts).
 */
import { drawDropoutMask } from '../stack/dropout.js';
import { mulInto } from '../cells/elementwise.js';
import { keysOf, unitInterval } from '../options/validate.js';
import { OptionError } from '../options/errors.js';
import { rowsOf, type LayerDef } from './types.js';

export interface DropoutOptions {
  /** Probability of dropping an element, in [0, 1). */
  p: number;
}

export const dropout: LayerDef<DropoutOptions> = {
  type: 'dropout',
  what: 'a dropout layer',
  keys: keysOf<DropoutOptions>({ p: true }),
  resolve(o, where) {
    unitInterval(o.p, `${where}.p`);
    return { p: o.p };
  },
  output: (_o, input) => input,
  params: () => [],
  scratch: (o, input, batch, steps) => {
    const n = o.p > 0 ? rowsOf(input, batch, steps) * input.size : 0;
    return { mask: n, out: n };
  },
  create(o, input, env) {
    let masked = false;
    return {
      forward(x, p, s) {
        masked = p.training && o.p > 0;
        if (!masked) return { data: x.data };
        if (!p.rng) throw new OptionError(`${env.name}: training with dropout needs an rng (forwardBackward(batch, scale, rng))`, 'rng');
        const n = rowsOf(input, p.batch, p.steps) * input.size;
        drawDropoutMask(s.mask!, 0, n, o.p, p.rng);
        const out = s.out!.subarray(0, n);
        mulInto(out, 0, x.data, 0, s.mask!, 0, n);
        return { data: out };
      },
      backward(dy, p, s) {
        if (!masked || !dy.data || !p.inputGrad) return { data: p.inputGrad ? dy.data : null };
        mulInto(dy.data, 0, dy.data, 0, s.mask!, 0, dy.data.length);
        return { data: dy.data };
      },
    };
  },
};
