/**
 * Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, exactly
 * torch.optim.SGD (single-tensor path):
 *
 *   g = grad + weightDecay * p                         (if weightDecay != 0)
 *   buf = g                       on the first step    (PyTorch creates the buffer as a clone)
 *   buf = momentum * buf + (1 - dampening) * g         afterwards
 *   g = nesterov ? g + momentum * buf : buf            (if momentum != 0)
 *   p = p - lr * g
 *
 * Arithmetic is float64 between loads and stores; every stored value (p, buf) is rounded to
 * float32 as PyTorch stores it, and the rounded buffer is what the update uses.
 * Each element depends only on its own p, g, buf: any partition into slices gives the same bits.
 * The element loop is a kernel (kernels/optimizers.ts; WebAssembly: asm/optimizers.ts).
 */
import { kernels } from '../kernels/index.js';
import type { SgdScalars } from '../kernels/optimizers.js';
import { OptionError } from '../options/errors.js';
import { booleanOption, definedOnly, knownKeys, nonNegativeNumber, objectOption, positiveNumber } from '../options/validate.js';
import { checkUpdateArgs } from './update-args.js';

export interface SgdOptions {
  /** Learning rate (default 1e-3, PyTorch's); a schedule may pass another per step. */
  lr?: number;
  /** Momentum factor (default 0: plain SGD, no state). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0, as in PyTorch. */
  nesterov?: boolean;
}

export type ResolvedSgdOptions = Required<SgdOptions>;

export const SGD_DEFAULTS: ResolvedSgdOptions = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

export function resolveSgdOptions(o: SgdOptions = {}, where = 'optimizer'): ResolvedSgdOptions {
  objectOption(o, where);
  knownKeys(o, Object.keys(SGD_DEFAULTS), where, 'sgd');
  const r: ResolvedSgdOptions = { ...SGD_DEFAULTS, ...definedOnly(o) };
  positiveNumber(r.lr, `${where}.lr`);
  nonNegativeNumber(r.momentum, `${where}.momentum`);
  nonNegativeNumber(r.dampening, `${where}.dampening`);
  nonNegativeNumber(r.weightDecay, `${where}.weightDecay`);
  booleanOption(r.nesterov, `${where}.nesterov`);
  if (r.nesterov && (r.momentum <= 0 || r.dampening !== 0)) {
    throw new OptionError(`${where}.nesterov needs momentum > 0 and dampening 0, got momentum ${r.momentum}, dampening ${r.dampening}`, `${where}.nesterov`);
  }
  return r;
}

/** State buffers: the momentum buffer when momentum > 0, none otherwise. */
export function sgdStateNames(o: ResolvedSgdOptions): string[] {
  return o.momentum !== 0 ? ['momentum_buffer'] : [];
}

/**
 * One SGD update of params[start, end). `states` is [] or [momentum_buffer], each the length
 * of params; `t` is the 1-based step number (t = 1 initialises the buffer from the gradient).
 */
export function sgdStep(
  o: ResolvedSgdOptions,
  params: Float32Array,
  grads: Float32Array,
  states: readonly Float32Array[],
  start: number,
  end: number,
  t: number,
  lr: number,
): void {
  const count = o.momentum !== 0 ? 1 : 0;
  checkUpdateArgs('sgd.update', params, grads, states, count, start, end, t, lr);
  kernels.sgdUpdate(params, grads, count ? states[0]! : null, start, end, sgdScalars(o, t, lr));
}

/** The per-step scalars of one SGD update (the same for every slice of a step). */
export function sgdScalars(o: ResolvedSgdOptions, t: number, lr: number): SgdScalars {
  return { lr, weightDecay: o.weightDecay, momentum: o.momentum, keep: 1 - o.dampening, first: t === 1, nesterov: o.nesterov };
}
