import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { resolveRmspropOptions, rmspropStateNames, rmspropStep, type ResolvedRmspropOptions } from './rmsprop.js';

/** Float64 reference written from torch.optim.RMSprop's documented algorithm. */
function referenceRmsprop(
  o: ResolvedRmspropOptions, theta: number[], v: number[], gAve: number[], b: number[], grads: number[], lr: number,
): void {
  const { alpha, eps, weightDecay: wd, momentum: mu, centered } = o;
  for (let i = 0; i < theta.length; i++) {
    let g = grads[i]!;
    if (wd !== 0) g = g + wd * theta[i]!;
    v[i] = alpha * v[i]! + (1 - alpha) * g * g;
    let vt = v[i]!;
    if (centered) {
      gAve[i] = alpha * gAve[i]! + (1 - alpha) * g;
      vt = vt - gAve[i]! * gAve[i]!;
    }
    if (mu > 0) {
      b[i] = mu * b[i]! + g / (Math.sqrt(vt) + eps);
      theta[i] = theta[i]! - lr * b[i]!;
    } else {
      theta[i] = theta[i]! - (lr * g) / (Math.sqrt(vt) + eps);
    }
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
  { label: 'weight decay', opts: { weightDecay: 0.02, alpha: 0.9 } },
  { label: 'momentum', opts: { momentum: 0.9 } },
  { label: 'centered', opts: { centered: true } },
  { label: 'centered with momentum', opts: { centered: true, momentum: 0.5, eps: 1e-6 } },
])('rmsprop $label against a float64 reference', ({ opts }) => {
  it('agrees over 10 steps', () => {
    const o = resolveRmspropOptions({ lr: 0.01, ...opts });
    const names = rmspropStateNames(o);
    const n = 83;
    const rng = new Rng(21);
    const params = randomArray(rng, n, 1);
    const states = names.map(() => new Float32Array(n));
    const theta = Array.from(params);
    const v = new Array<number>(n).fill(0);
    const gAve = new Array<number>(n).fill(0);
    const b = new Array<number>(n).fill(0);
    for (let t = 1; t <= 10; t++) {
      const grads = randomArray(rng, n, 0.2);
      rmspropStep(o, params, grads, states, 0, n, t, 0.01);
      referenceRmsprop(o, theta, v, gAve, b, Array.from(grads), 0.01);
    }
    expect(maxViolation(params, theta, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    expect(maxViolation(states[names.indexOf('square_avg')]!, v, 1e-5, 1e-9)).toBeLessThanOrEqual(1);
    if (o.centered) expect(maxViolation(states[names.indexOf('grad_avg')]!, gAve, 1e-5, 1e-9)).toBeLessThanOrEqual(1);
    if (o.momentum > 0) expect(maxViolation(states[names.indexOf('momentum_buffer')]!, b, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
  });
});

describe('rmsprop', () => {
  it('orders the state buffers as torch names them', () => {
    expect(rmspropStateNames(resolveRmspropOptions({}))).toEqual(['square_avg']);
    expect(rmspropStateNames(resolveRmspropOptions({ momentum: 0.9, centered: true }))).toEqual(['square_avg', 'momentum_buffer', 'grad_avg']);
    expect(rmspropStateNames(resolveRmspropOptions({ centered: true }))).toEqual(['square_avg', 'grad_avg']);
  });

  it('three slices give the same bits as one full update', () => {
    const o = resolveRmspropOptions({ momentum: 0.9, centered: true, weightDecay: 0.01 });
    const n = 64;
    const rng = new Rng(4);
    const p1 = randomArray(rng, n, 1);
    const p2 = p1.slice();
    const s1 = [0, 1, 2].map(() => new Float32Array(n));
    const s2 = [0, 1, 2].map(() => new Float32Array(n));
    for (let t = 1; t <= 3; t++) {
      const g = randomArray(rng, n, 1);
      rmspropStep(o, p1, g, s1, 0, n, t, 0.01);
      rmspropStep(o, p2, g, s2, 40, n, t, 0.01);
      rmspropStep(o, p2, g, s2, 13, 40, t, 0.01);
      rmspropStep(o, p2, g, s2, 0, 13, t, 0.01);
    }
    expect(new Uint32Array(p2.buffer)).toEqual(new Uint32Array(p1.buffer));
    for (let k = 0; k < 3; k++) expect(new Uint32Array(s2[k]!.buffer)).toEqual(new Uint32Array(s1[k]!.buffer));
  });

  it('stays finite when a constant gradient drives the centered variance to zero', () => {
    const o = resolveRmspropOptions({ centered: true, alpha: 0.5 });
    const p = new Float32Array([1, -2, 3]);
    const g = new Float32Array([0.3, -0.7, 1e-3]);
    const s = [new Float32Array(3), new Float32Array(3)];
    for (let t = 1; t <= 200; t++) rmspropStep(o, p, g, s, 0, 3, t, 1e-6);
    expect(Array.from(p).every(Number.isFinite)).toBe(true);
  });

  it('validates options', () => {
    expect(() => resolveRmspropOptions({ alpha: 1.5 })).toThrow('optimizer.alpha must be a number in [0, 1), got 1.5');
    expect(() => resolveRmspropOptions({ centered: 1 } as never)).toThrow('optimizer.centered must be a boolean, got 1');
    expect(() => resolveRmspropOptions({ nesterov: true } as never)).toThrow('optimizer.nesterov is not an option of rmsprop');
  });
});
