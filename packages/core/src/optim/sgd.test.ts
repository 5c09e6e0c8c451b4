import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { resolveSgdOptions, sgdStateNames, sgdStep, type ResolvedSgdOptions } from './sgd.js';
import { OptionError } from '../options/errors.js';

/** Float64 reference written from torch.optim.SGD's documented algorithm (b_1 = g_1, then b_t = μ b + (1-τ) g). */
function referenceSgd(o: ResolvedSgdOptions, theta: number[], b: number[], grads: number[], t: number, lr: number): void {
  const { momentum: mu, dampening: tau, weightDecay: wd, nesterov } = o;
  for (let i = 0; i < theta.length; i++) {
    let g = grads[i]!;
    if (wd !== 0) g = g + wd * theta[i]!;
    if (mu !== 0) {
      b[i] = t > 1 ? mu * b[i]! + (1 - tau) * g : g;
      g = nesterov ? g + mu * b[i]! : b[i]!;
    }
    theta[i] = theta[i]! - lr * g;
  }
}

function maxViolation(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number): number {
  let r = 0;
  for (let i = 0; i < expected.length; i++) r = Math.max(r, Math.abs(actual[i]! - expected[i]!) / (rel * Math.abs(expected[i]!) + abs));
  return r;
}

function randomArray(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

describe.each([
  { label: 'plain', opts: {} },
  { label: 'weight decay', opts: { weightDecay: 0.1 } },
  { label: 'momentum', opts: { momentum: 0.9 } },
  { label: 'momentum with dampening (first step initialises the buffer from g)', opts: { momentum: 0.9, dampening: 0.5 } },
  { label: 'nesterov with weight decay', opts: { momentum: 0.8, nesterov: true, weightDecay: 0.01 } },
])('sgd $label against a float64 reference', ({ opts }) => {
  it('agrees over 10 steps', () => {
    const o = resolveSgdOptions({ lr: 0.05, ...opts });
    const n = 97;
    const rng = new Rng(5);
    const params = randomArray(rng, n, 1);
    const states = sgdStateNames(o).map(() => new Float32Array(n));
    const theta = Array.from(params);
    const b = new Array<number>(n).fill(0);
    for (let t = 1; t <= 10; t++) {
      const grads = randomArray(rng, n, 0.5);
      const lr = t < 5 ? 0.05 : 0.02;
      sgdStep(o, params, grads, states, 0, n, t, lr);
      referenceSgd(o, theta, b, Array.from(grads), t, lr);
    }
    expect(maxViolation(params, theta, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    if (states.length > 0) expect(maxViolation(states[0]!, b, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });
});

describe('sgd', () => {
  it('keeps a momentum buffer only when momentum > 0', () => {
    expect(sgdStateNames(resolveSgdOptions({}))).toEqual([]);
    expect(sgdStateNames(resolveSgdOptions({ momentum: 0.5 }))).toEqual(['momentum_buffer']);
  });

  it('three slices give the same bits as one full update', () => {
    const o = resolveSgdOptions({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 1e-3 });
    const n = 50;
    const rng = new Rng(8);
    const p1 = randomArray(rng, n, 1);
    const p2 = p1.slice();
    const b1 = new Float32Array(n);
    const b2 = new Float32Array(n);
    for (let t = 1; t <= 3; t++) {
      const g = randomArray(rng, n, 1);
      sgdStep(o, p1, g, [b1], 0, n, t, 0.1);
      sgdStep(o, p2, g, [b2], 33, n, t, 0.1);
      sgdStep(o, p2, g, [b2], 0, 1, t, 0.1);
      sgdStep(o, p2, g, [b2], 1, 33, t, 0.1);
    }
    expect(new Uint32Array(p2.buffer)).toEqual(new Uint32Array(p1.buffer));
    expect(new Uint32Array(b2.buffer)).toEqual(new Uint32Array(b1.buffer));
  });

  it('validates options with PyTorch rules', () => {
    expect(() => resolveSgdOptions({ nesterov: true })).toThrow('optimizer.nesterov needs momentum > 0 and dampening 0');
    expect(() => resolveSgdOptions({ nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(OptionError);
    expect(() => resolveSgdOptions({ momentum: -0.1 })).toThrow('optimizer.momentum must be a non-negative number, got -0.1');
    expect(() => resolveSgdOptions({ lr: 0 })).toThrow('optimizer.lr must be a positive number, got 0');
    expect(() => resolveSgdOptions({ nesterov: 'yes' } as never)).toThrow('optimizer.nesterov must be a boolean, got "yes"');
    expect(() => resolveSgdOptions({ beta1: 0.9 } as never)).toThrow('optimizer.beta1 is not an option of sgd');
  });
});
