/**
 * Adam (with PyTorch's L2 weight decay folded into the gradient) and AdamW (decoupled decay),
 * computed the way torch.optim.Adam / AdamW do in their single-tensor path:
 *
 *   AdamW:  p = p * (1 - lr * weightDecay)              Adam: g = g + weightDecay * p
 *   m = m + (1 - beta1) * (g - m)                        (torch's lerp_, = beta1*m + (1-beta1)*g)
 *   v = beta2 * v + (1 - beta2) * g * g
 *   stepSize = lr / (1 - beta1^t)                        (a double, as torch computes it in Python)
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 *   p = p - stepSize * m / denom
 *
 * The order of eps matters: it is added after the bias correction of sqrt(v), as torch does,
 * not to the raw sqrt(v). Stored values (p, m, v) are rounded to float32 when stored, and the
 * rounded moments are what the update reads, as in torch; the rest is float64.
 * Each element depends only on its own p, g, m, v: any partition into slices gives the same bits.
 * The element loop is a kernel (kernels/optimizers.ts; WebAssembly: asm/optimizers.ts).
 */
import { kernels } from '../kernels/index.js';
import type { AdamScalars } from '../kernels/optimizers.js';
import { definedOnly, knownKeys, nonNegativeNumber, objectOption, positiveNumber, unitInterval } from '../options/validate.js';
import { checkUpdateArgs } from './update-args.js';

export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay of the first moment, PyTorch's betas[0] (default 0.9). */
  beta1?: number;
  /** Decay of the second moment, PyTorch's betas[1] (default 0.999). */
  beta2?: number;
  /** Added to the bias-corrected sqrt(v) (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay factor (default 1e-2). */
  weightDecay?: number;
}

export type ResolvedAdamOptions = Required<AdamOptions>;

export const ADAM_DEFAULTS: ResolvedAdamOptions = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
/** torch.optim.AdamW's defaults: the same as Adam's but weight_decay 1e-2. */
export const ADAMW_DEFAULTS: ResolvedAdamOptions = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

export const ADAM_STATE_NAMES: readonly string[] = ['exp_avg', 'exp_avg_sq'];

export function resolveAdamOptions(o: AdamOptions = {}, where = 'optimizer', decoupled = false): ResolvedAdamOptions {
  objectOption(o, where);
  const defaults = decoupled ? ADAMW_DEFAULTS : ADAM_DEFAULTS;
  knownKeys(o, Object.keys(defaults), where, decoupled ? 'adamw' : 'adam');
  const r: ResolvedAdamOptions = { ...defaults, ...definedOnly(o) };
  positiveNumber(r.lr, `${where}.lr`);
  unitInterval(r.beta1, `${where}.beta1`);
  unitInterval(r.beta2, `${where}.beta2`);
  nonNegativeNumber(r.eps, `${where}.eps`);
  nonNegativeNumber(r.weightDecay, `${where}.weightDecay`);
  return r;
}

/**
 * The per-step scalars of one Adam (decoupled false) or AdamW update: computed once per call
 * from (t, lr) only, so every slice of a step sees the same values.
 */
export function adamScalars(o: ResolvedAdamOptions, decoupled: boolean, t: number, lr: number): AdamScalars {
  const { beta1, beta2, eps, weightDecay } = o;
  return {
    decay: decoupled && weightDecay !== 0,
    shrink: decoupled ? 1 - lr * weightDecay : 1,
    l2: decoupled ? 0 : weightDecay,
    w1: 1 - beta1,
    beta2,
    w2: 1 - beta2,
    stepSize: lr / (1 - beta1 ** t),
    bc2Sqrt: Math.sqrt(1 - beta2 ** t),
    eps,
  };
}

/** The update of Adam (decoupled = false) or AdamW (true): one function, the two differ only there. */
function adamFamilyStep(decoupled: boolean) {
  const where = decoupled ? 'adamw.update' : 'adam.update';
  return (
    o: ResolvedAdamOptions, params: Float32Array, grads: Float32Array, states: readonly Float32Array[],
    start: number, end: number, t: number, lr: number,
  ): void => {
    checkUpdateArgs(where, params, grads, states, 2, start, end, t, lr);
    kernels.adamUpdate(params, grads, states[0]!, states[1]!, start, end, adamScalars(o, decoupled, t, lr));
  };
}

/** One Adam update of params[start, end); states = [exp_avg, exp_avg_sq]; t is 1-based. */
export const adamStep = adamFamilyStep(false);

/** One AdamW update of params[start, end); states = [exp_avg, exp_avg_sq]; t is 1-based. */
export const adamwStep = adamFamilyStep(true);
