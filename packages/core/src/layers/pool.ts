/**
 * `pool` {mode, attentionSize?}: a sequence [T, B, F] → one row per sequence [B, F], over the
 * steps t < length of each sequence only.
 *   last       right after a recurrent layer: its final states h_n of the top layer (forward
 *              direction, then reverse, merged as the layer merges its outputs), as PyTorch's
 *              h_n; after any other layer: the output at t = length - 1.
 *   mean       Σ_t x_t / length.
 *   max        per feature, the largest x_t (the gradient goes to that step).
 *   attention  additive (Bahdanau) attention: e_t = score(tanh(proj(x_t))), a = softmax of e over
 *              t < length, pooled = Σ_t a_t x_t. Parameters `<name>.proj.weight [A, F]`,
 *              `<name>.proj.bias [A]` and `<name>.score.weight [1, A]` (no score bias), nn.Linear's init.
 */
import { kernels } from '../kernels/index.js';
import { keysOf, oneOf, positiveInt } from '../options/validate.js';
import { OptionError } from '../options/errors.js';
import { linearBackward, linearForward } from './linear.js';
import { growF32, type FinalStates, type LayerDef } from './types.js';

export const POOL_MODES = ['last', 'mean', 'max', 'attention'] as const;
export type PoolMode = (typeof POOL_MODES)[number];

export interface PoolOptions {
  mode: PoolMode;
  /** Width A of the attention's projection (mode 'attention'; default: the input's width). */
  attentionSize?: number;
}

/** attentionSize only with mode 'attention' (so a resolved spec resolves to itself). */
export type ResolvedPoolOptions = { mode: PoolMode; attentionSize?: number };

export const pool: LayerDef<ResolvedPoolOptions> = {
  type: 'pool',
  what: 'a pool layer',
  keys: keysOf<PoolOptions>({ mode: true, attentionSize: true }),
  resolve(o, where, input) {
    oneOf(o.mode, POOL_MODES, `${where}.mode`);
    if (input.kind === 'rows') throw new OptionError(`${where}: a pool layer needs a sequence, but an earlier pool already made one row per sequence`, where);
    if (o.attentionSize !== undefined && o.mode !== 'attention') {
      throw new OptionError(`${where}.attentionSize is only an option of mode 'attention'`, `${where}.attentionSize`);
    }
    if (o.mode !== 'attention') return { mode: o.mode };
    const attentionSize = o.attentionSize ?? input.size;
    positiveInt(attentionSize, `${where}.attentionSize`);
    return { mode: o.mode, attentionSize };
  },
  output: (_o, input) => ({ kind: 'rows', size: input.size }),
  params(o, input) {
    if (o.mode !== 'attention') return [];
    const A = o.attentionSize!;
    const pb = 1 / Math.sqrt(input.size);
    return [
      { name: 'proj.weight', shape: [A, input.size], init: { kind: 'uniform', bound: pb } },
      { name: 'proj.bias', shape: [A], init: { kind: 'uniform', bound: pb } },
      { name: 'score.weight', shape: [1, A], init: { kind: 'uniform', bound: 1 / Math.sqrt(A) } },
    ];
  },
  scratch(o, input, batch, steps) {
    const TB = batch * steps;
    const F = input.size;
    const A = o.attentionSize ?? 0;
    return {
      out: batch * F,
      dx: TB * F,
      arg: o.mode === 'max' ? batch * F : 0,
      u: o.mode === 'attention' ? TB * A : 0,
      du: o.mode === 'attention' ? TB * A : 0,
      a: o.mode === 'attention' ? TB : 0,
      e: o.mode === 'attention' ? TB : 0,
    };
  },
  create(o, input, env) {
    const F = input.size;
    const A = o.attentionSize ?? 0;
    const att = o.mode === 'attention';
    const pw = att ? env.offset('proj.weight') : -1;
    const pb = att ? env.offset('proj.bias') : -1;
    const sw = att ? env.offset('score.weight') : -1;
    const acc = new Float64Array(F);
    let x: Float32Array = new Float32Array(0);
    let final: FinalStates | undefined;
    let dFinal: Float32Array = new Float32Array(0);
    return {
      forward(v, p, s) {
        const B = p.batch;
        const T = p.steps;
        const len = p.lengths;
        x = v.data;
        final = o.mode === 'last' ? v.final : undefined;
        const out = s.out!.subarray(0, B * F);
        out.fill(0);
        if (final) {
          // h_n of the top layer, directions merged as the recurrent layer merges its outputs.
          const { hN, numLayers, directions: D, hidden: H, merge } = final;
          const top = (numLayers - 1) * D;
          const w = merge === 'mean' ? 1 / D : 1;
          for (let d = 0; d < D; d++) {
            for (let b = 0; b < B; b++) {
              const src = ((top + d) * B + b) * H;
              const dst = b * F + (merge === 'concat' ? d * H : 0);
              for (let h = 0; h < H; h++) out[dst + h]! += w * hN[src + h]!;
            }
          }
        } else if (o.mode === 'last') {
          for (let b = 0; b < B; b++) out.set(x.subarray(((len[b]! - 1) * B + b) * F, ((len[b]! - 1) * B + b + 1) * F), b * F);
        } else if (o.mode === 'mean') {
          for (let b = 0; b < B; b++) {
            const L = len[b]!;
            for (let t = 0; t < L; t++) {
              const src = (t * B + b) * F;
              for (let f = 0; f < F; f++) out[b * F + f]! += x[src + f]!;
            }
            for (let f = 0; f < F; f++) out[b * F + f]! /= L;
          }
        } else if (o.mode === 'max') {
          const arg = s.arg!;
          for (let b = 0; b < B; b++) {
            for (let f = 0; f < F; f++) {
              let best = x[b * F + f]!;
              let bt = 0;
              for (let t = 1; t < len[b]!; t++) {
                const val = x[(t * B + b) * F + f]!;
                if (val > best || Number.isNaN(val)) { best = val; bt = t; }
              }
              out[b * F + f] = best;
              arg[b * F + f] = bt;
            }
          }
        } else {
          const TB = T * B;
          const u = s.u!;
          const e = s.e!;
          const a = s.a!;
          const P = p.params;
          linearForward(u, x, P, pw, P, pb, TB, F, A);
          kernels.tanh(u, 0, TB * A);
          for (let r = 0; r < TB; r++) {
            let z = 0;
            for (let k = 0; k < A; k++) z += u[r * A + k]! * P[sw + k]!;
            e[r] = z;
          }
          for (let b = 0; b < B; b++) {
            const L = len[b]!;
            let m = -Infinity;
            for (let t = 0; t < L; t++) m = Math.max(m, e[t * B + b]!);
            let z = 0;
            for (let t = 0; t < L; t++) z += Math.exp(e[t * B + b]! - m);
            acc.fill(0);
            for (let t = 0; t < T; t++) {
              const r = t * B + b;
              if (t >= L) {
                a[r] = 0;
                continue;
              }
              const w = Math.exp(e[r]! - m) / z;
              a[r] = w;
              for (let f = 0; f < F; f++) acc[f]! += w * x[r * F + f]!;
            }
            for (let f = 0; f < F; f++) out[b * F + f] = acc[f]!;
          }
        }
        return { data: out };
      },
      backward(dy, p, s) {
        const B = p.batch;
        const T = p.steps;
        const len = p.lengths;
        const d = dy.data;
        if (final) {
          const { numLayers, directions: D, hidden: H, merge } = final;
          const n = numLayers * D * B * H;
          dFinal = growF32(dFinal, n);
          const dh = dFinal.subarray(0, n);
          dh.fill(0);
          const top = (numLayers - 1) * D;
          const w = merge === 'mean' ? 1 / D : 1;
          if (d) {
            for (let dd = 0; dd < D; dd++) {
              for (let b = 0; b < B; b++) {
                const dst = ((top + dd) * B + b) * H;
                const src = b * F + (merge === 'concat' ? dd * H : 0);
                for (let h = 0; h < H; h++) dh[dst + h] = w * d[src + h]!;
              }
            }
          }
          return { data: null, final: dh };
        }
        if (!p.inputGrad && !att) return { data: null };
        const TB = T * B;
        const dx = s.dx!.subarray(0, TB * F);
        dx.fill(0);
        if (!d) return { data: p.inputGrad ? dx : null };
        if (o.mode === 'last') {
          for (let b = 0; b < B; b++) dx.set(d.subarray(b * F, (b + 1) * F), ((len[b]! - 1) * B + b) * F);
        } else if (o.mode === 'mean') {
          for (let b = 0; b < B; b++) {
            const L = len[b]!;
            for (let t = 0; t < L; t++) {
              const dst = (t * B + b) * F;
              for (let f = 0; f < F; f++) dx[dst + f] = d[b * F + f]! / L;
            }
          }
        } else if (o.mode === 'max') {
          const arg = s.arg!;
          for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) dx[(arg[b * F + f]! * B + b) * F + f] = d[b * F + f]!;
        } else {
          const u = s.u!;
          const du = s.du!;
          const e = s.e!; // becomes de
          const a = s.a!;
          const P = p.params;
          const g = p.grads;
          for (let b = 0; b < B; b++) {
            const L = len[b]!;
            // da_t = dpooled · x_t; de_t = a_t (da_t - Σ a da); dx_t = a_t dpooled (+ the projection's part below).
            let sum = 0;
            for (let t = 0; t < L; t++) {
              const r = t * B + b;
              let da = 0;
              for (let f = 0; f < F; f++) da += d[b * F + f]! * x[r * F + f]!;
              e[r] = da;
              sum += a[r]! * da;
            }
            for (let t = 0; t < T; t++) {
              const r = t * B + b;
              if (t >= L) {
                e[r] = 0;
                continue;
              }
              const w = a[r]!;
              e[r] = w * (e[r]! - sum);
              for (let f = 0; f < F; f++) dx[r * F + f] = w * d[b * F + f]!;
            }
          }
          // Through score and tanh: du = de · score ⊙ (1 - u²); dscore += Σ_r de_r u_r.
          for (let k = 0; k < A; k++) {
            let gs = 0;
            for (let r = 0; r < TB; r++) gs += e[r]! * u[r * A + k]!;
            g[sw + k]! += gs;
          }
          for (let r = 0; r < TB; r++) {
            const de = e[r]!;
            for (let k = 0; k < A; k++) {
              const uk = u[r * A + k]!;
              du[r * A + k] = de * P[sw + k]! * (1 - uk * uk);
            }
          }
          // The projection: dW += duᵀ x, db += Σ du, dx += du · W.
          linearBackward(null, g, pw, g, pb, du, x, P, pw, TB, F, A);
          if (p.inputGrad) kernels.gemm(false, false, TB, F, A, du, 0, A, P, pw, F, dx, 0, F, true);
        }
        return { data: p.inputGrad ? dx : null };
      },
    };
  },
};
