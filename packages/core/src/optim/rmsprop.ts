/**
 * RMSprop exactly as torch.optim.RMSprop (single-tensor path):
 *
 *   g = grad + weightDecay * p                       (if weightDecay != 0)
 *   sq = alpha * sq + (1 - alpha) * g * g
 *   centered:  ga = ga + (1 - alpha) * (g - ga)      (torch's lerp_)
 *              avg = sqrt(sq - ga * ga) + eps
 *   otherwise: avg = sqrt(sq) + eps
 *   momentum > 0: buf = momentum * buf + g / avg;  p = p - lr * buf
 *   otherwise:    p = p - lr * g / avg
 *
 * State buffers, in this order: square_avg, then momentum_buffer (if momentum > 0), then
 * grad_avg (if centered): torch's names. Stored values are rounded to float32 when stored and
 * the rounded values are what later terms read; the rest is float64.
 * One deliberate difference: in the centered variant, sq - ga*ga can come out a few ulps below
 * zero after rounding (a nearly constant gradient); torch then produces NaN, here it is
 * clamped to 0. Each element depends only on its own values: slices give the same bits.
 * The element loop is a kernel (kernels/optimizers.ts; WebAssembly: asm/optimizers.ts).
 */
import { kernels } from '../kernels/index.js';
import type { RmspropScalars } from '../kernels/optimizers.js';
import { booleanOption, definedOnly, knownKeys, nonNegativeNumber, objectOption, positiveNumber, unitInterval } from '../options/validate.js';
import { checkUpdateArgs } from './update-args.js';

export interface RmspropOptions {
  /** Learning rate (default 1e-2, PyTorch's). */
  lr?: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha?: number;
  /** Added to the root of the average (default 1e-8). */
  eps?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Normalise by an estimate of the gradient's variance instead of its second moment (default false). */
  centered?: boolean;
}

export type ResolvedRmspropOptions = Required<RmspropOptions>;

export const RMSPROP_DEFAULTS: ResolvedRmspropOptions = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false };

export function resolveRmspropOptions(o: RmspropOptions = {}, where = 'optimizer'): ResolvedRmspropOptions {
  objectOption(o, where);
  knownKeys(o, Object.keys(RMSPROP_DEFAULTS), where, 'rmsprop');
  const r: ResolvedRmspropOptions = { ...RMSPROP_DEFAULTS, ...definedOnly(o) };
  positiveNumber(r.lr, `${where}.lr`);
  unitInterval(r.alpha, `${where}.alpha`);
  nonNegativeNumber(r.eps, `${where}.eps`);
  nonNegativeNumber(r.weightDecay, `${where}.weightDecay`);
  nonNegativeNumber(r.momentum, `${where}.momentum`);
  booleanOption(r.centered, `${where}.centered`);
  return r;
}

export function rmspropStateNames(o: ResolvedRmspropOptions): string[] {
  const names = ['square_avg'];
  if (o.momentum > 0) names.push('momentum_buffer');
  if (o.centered) names.push('grad_avg');
  return names;
}

/** One RMSprop update of params[start, end); `states` as rmspropStateNames(o); t is 1-based. */
export function rmspropStep(
  o: ResolvedRmspropOptions,
  params: Float32Array,
  grads: Float32Array,
  states: readonly Float32Array[],
  start: number,
  end: number,
  t: number,
  lr: number,
): void {
  const useMomentum = o.momentum > 0;
  const centered = o.centered;
  const count = 1 + (useMomentum ? 1 : 0) + (centered ? 1 : 0);
  checkUpdateArgs('rmsprop.update', params, grads, states, count, start, end, t, lr);
  kernels.rmspropUpdate(
    params, grads, states[0]!, useMomentum ? states[1]! : null, centered ? states[useMomentum ? 2 : 1]! : null,
    start, end, rmspropScalars(o, lr),
  );
}

/** The per-step scalars of one RMSprop update (the same for every slice of a step). */
export function rmspropScalars(o: ResolvedRmspropOptions, lr: number): RmspropScalars {
  return { lr, alpha: o.alpha, w: 1 - o.alpha, eps: o.eps, weightDecay: o.weightDecay, momentum: o.momentum };
}
