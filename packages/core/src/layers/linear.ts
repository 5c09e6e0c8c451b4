/**
 * `linear` {outputSize, activation?, bias?, tie?}: nn.Linear(in, out) applied to every step of a
 * sequence or to every row, then an optional activation ('none', 'tanh', 'relu'). Parameters
 * `<name>.weight [out, in]` and `<name>.bias [out]`, uniform in ±1/sqrt(in) as PyTorch does.
 * With `tie: '<embedding layer>'` the weight IS that embedding's weight ([V, dim], so in = dim
 * and out = V): both layers add their gradient into the same window of the gradient buffer, and
 * only `<name>.bias` is this layer's own.
 *
 * Forward and backward are each one large product over all rows (every step of every
 * sequence at once): y = x·Wᵀ + b; dW += dzᵀ·x, db += Σ_rows dz, dx = dz·W.
 */
import { kernels } from '../kernels/index.js';
import { booleanOption, keysOf, oneOf, positiveInt } from '../options/validate.js';
import { OptionError, closest } from '../options/errors.js';
import { rowsOf, type LayerDef } from './types.js';

/** y[rows, out] = x[rows, in] · W[out, in]ᵀ + b[out] */
export function linearForward(
  y: Float32Array, x: Float32Array, w: Float32Array, wOff: number, b: Float32Array, bOff: number,
  rows: number, inSize: number, outSize: number,
): void {
  kernels.fillRows(y, 0, rows, outSize, b, bOff, null, 0);
  kernels.gemm(false, true, rows, outSize, inSize, x, 0, inSize, w, wOff, inSize, y, 0, outSize, true);
}

/**
 * dW[out, in] += dyᵀ · x;  db[out] += Σ_rows dy;  dx[rows, in] = dy · W  (dx may be null).
 */
export function linearBackward(
  dx: Float32Array | null, dW: Float32Array, dWOff: number, db: Float32Array, dbOff: number,
  dy: Float32Array, x: Float32Array, w: Float32Array, wOff: number,
  rows: number, inSize: number, outSize: number,
): void {
  kernels.gemm(true, false, outSize, inSize, rows, dy, 0, outSize, x, 0, inSize, dW, dWOff, inSize, true);
  kernels.sumRows(db, dbOff, dy, 0, rows, outSize);
  if (dx) kernels.gemm(false, false, rows, inSize, outSize, dy, 0, outSize, w, wOff, inSize, dx, 0, inSize, false);
}

export const ACTIVATIONS = ['none', 'tanh', 'relu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

export interface LinearOptions {
  /** Outputs per row (with `tie`: the embedding's vocabulary size, the default then). */
  outputSize?: number;
  /** Applied after the affine map (default 'none'). */
  activation?: Activation;
  /** Include `<name>.bias` (default true). */
  bias?: boolean;
  /** Name of an earlier embedding layer whose weight this layer uses (weight tying). */
  tie?: string;
}

export type ResolvedLinearOptions = Required<Omit<LinearOptions, 'tie'>> & { tie?: string };

export const linear: LayerDef<ResolvedLinearOptions> = {
  type: 'linear',
  what: 'a linear layer',
  keys: keysOf<LinearOptions>({ outputSize: true, activation: true, bias: true, tie: true }),
  resolve(o, where, input, ctx) {
    const activation = o.activation ?? 'none';
    oneOf(activation, ACTIVATIONS, `${where}.activation`);
    const bias = o.bias ?? true;
    booleanOption(bias, `${where}.bias`);
    const tie = o.tie;
    let outputSize = o.outputSize;
    if (tie !== undefined) {
      const embeddings = ctx.before.filter((l) => l.type === 'embedding');
      const e = embeddings.find((l) => l.name === tie);
      if (!e) {
        const s = typeof tie === 'string' ? closest(tie, embeddings.map((l) => l.name)) : undefined;
        throw new OptionError(`${where}.tie must name an embedding layer before it (${embeddings.length ? embeddings.map((l) => `'${l.name}'`).join(', ') : 'there is none'}), got ${JSON.stringify(tie)}` +
          (s ? `; did you mean '${s}'?` : ''), `${where}.tie`, s);
      }
      const V = ctx.input.kind === 'tokens' ? ctx.input.vocabSize : 0;
      if (e.dim !== input.size) {
        throw new OptionError(`${where}.tie: the embedding '${tie}' has dim ${String(e.dim)}, but ${input.size} features flow into this layer; a tied weight [${V}, ${String(e.dim)}] needs them equal`, `${where}.tie`);
      }
      if (outputSize !== undefined && outputSize !== V) {
        throw new OptionError(`${where}.outputSize must be the tied embedding's vocabulary size ${V}, got ${String(outputSize)}`, `${where}.outputSize`);
      }
      outputSize = V;
    }
    positiveInt(outputSize, `${where}.outputSize`);
    return { outputSize, activation, bias, ...(tie !== undefined ? { tie: tie as string } : {}) };
  },
  output: (o, input) => ({ kind: input.kind === 'rows' ? 'rows' : 'sequence', size: o.outputSize }),
  params(o, input) {
    const bound = 1 / Math.sqrt(input.size); // nn.Linear's default for weight and bias
    const init = { kind: 'uniform', bound } as const;
    return [
      ...(o.tie === undefined ? [{ name: 'weight', shape: [o.outputSize, input.size], init }] : []),
      ...(o.bias ? [{ name: 'bias', shape: [o.outputSize], init }] : []),
    ];
  },
  scratch: (o, input, batch, steps) => {
    const rows = rowsOf(input, batch, steps);
    return { out: rows * o.outputSize, dx: rows * input.size };
  },
  create(o, input, env) {
    const I = input.size;
    const O = o.outputSize;
    const w = o.tie === undefined ? env.offset('weight') : env.offsetOf(`${o.tie}.weight`);
    const b = o.bias ? env.offset('bias') : -1;
    let x: Float32Array = new Float32Array(0);
    let y: Float32Array = new Float32Array(0);
    return {
      forward(v, p, s) {
        const rows = rowsOf(input, p.batch, p.steps);
        x = v.data;
        y = s.out!.subarray(0, rows * O);
        if (b >= 0) linearForward(y, x, p.params, w, p.params, b, rows, I, O);
        else kernels.gemm(false, true, rows, O, I, x, 0, I, p.params, w, I, y, 0, O, false);
        if (o.activation === 'tanh') kernels.tanh(y, 0, rows * O);
        else if (o.activation === 'relu') for (let i = 0; i < rows * O; i++) if (!(y[i]! > 0)) y[i] = 0;
        return { data: y };
      },
      backward(dy, p, s) {
        const rows = rowsOf(input, p.batch, p.steps);
        const dz = dy.data;
        const dx = p.inputGrad ? s.dx!.subarray(0, rows * I) : null;
        if (!dz) {
          dx?.fill(0);
          return { data: dx };
        }
        // Through the activation, in place: dz = dy * f'(pre-activation), from the output y.
        if (o.activation === 'tanh') for (let i = 0; i < rows * O; i++) dz[i]! *= 1 - y[i]! * y[i]!;
        else if (o.activation === 'relu') for (let i = 0; i < rows * O; i++) if (!(y[i]! > 0)) dz[i] = 0;
        const g = p.grads;
        if (b >= 0) {
          linearBackward(dx, g, w, g, b, dz, x, p.params, w, rows, I, O);
        } else {
          kernels.gemm(true, false, O, I, rows, dz, 0, O, x, 0, I, g, w, I, true);
          if (dx) kernels.gemm(false, false, rows, I, O, dz, 0, O, p.params, w, I, dx, 0, I, false);
        }
        return { data: dx };
      },
    };
  },
};
