import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { adamStep, adamwStep, resolveAdamOptions, type ResolvedAdamOptions } from './adam.js';
import { OptionError } from '../options/errors.js';

/**
 * Float64 reference written from the algorithm boxes of torch.optim.Adam / AdamW's
 * documentation (textbook form: m̂ = m / (1 - β1^t), v̂ = v / (1 - β2^t), θ -= γ m̂ / (√v̂ + ε)),
 * not from the implementation's rearranged form.
 */
function referenceAdam(
  o: ResolvedAdamOptions, decoupled: boolean, theta: number[], m: number[], v: number[], grads: number[], t: number, lr: number,
): void {
  const { beta1: b1, beta2: b2, eps, weightDecay: wd } = o;
  for (let i = 0; i < theta.length; i++) {
    let g = grads[i]!;
    if (decoupled) theta[i] = theta[i]! - lr * wd * theta[i]!;
    else if (wd !== 0) g = g + wd * theta[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * g;
    v[i] = b2 * v[i]! + (1 - b2) * g * g;
    const mHat = m[i]! / (1 - Math.pow(b1, t));
    const vHat = v[i]! / (1 - Math.pow(b2, t));
    theta[i] = theta[i]! - (lr * mHat) / (Math.sqrt(vHat) + eps);
  }
}

/** Largest violation of |a - b| <= rel*|b| + abs, as a ratio (<= 1 passes). */
function worst(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, abs: number): { ratio: number; at: number } {
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const r = Math.abs(actual[i]! - expected[i]!) / (rel * Math.abs(expected[i]!) + abs);
    if (!(r <= ratio)) { ratio = r; at = i; }
  }
  return { ratio, at };
}

function randomArray(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

describe.each([
  { label: 'adam', decoupled: false, opts: {} },
  { label: 'adam with L2 weight decay', decoupled: false, opts: { weightDecay: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6 } },
  { label: 'adamw', decoupled: true, opts: {} },
  { label: 'adamw with strong decay', decoupled: true, opts: { weightDecay: 0.3 } },
])('$label against a float64 reference of the documented algorithm', ({ decoupled, opts }) => {
  it('agrees over 12 steps with varying lr', () => {
    const o = resolveAdamOptions(opts, 'optimizer', decoupled);
    const n = 257;
    const rng = new Rng(11);
    const params = randomArray(rng, n, 0.5);
    const m = new Float32Array(n);
    const v = new Float32Array(n);
    const theta = Array.from(params);
    const rm = new Array<number>(n).fill(0);
    const rv = new Array<number>(n).fill(0);
    for (let t = 1; t <= 12; t++) {
      const grads = randomArray(rng, n, t % 3 === 0 ? 1e-3 : 0.3);
      const lr = 0.01 / t;
      (decoupled ? adamwStep : adamStep)(o, params, grads, [m, v], 0, n, t, lr);
      referenceAdam(o, decoupled, theta, rm, rv, Array.from(grads), t, lr);
    }
    expect(worst(params, theta, 1e-5, 1e-7).ratio).toBeLessThanOrEqual(1);
    expect(worst(m, rm, 1e-5, 1e-9).ratio).toBeLessThanOrEqual(1);
    expect(worst(v, rv, 1e-5, 1e-12).ratio).toBeLessThanOrEqual(1);
  });
});

describe('adam against the PyTorch golden (model_lstm_bi: one Adam step, lr 0.01)', () => {
  const golden = JSON.parse(readFileSync(new URL('../../../../test/goldens/torch/model_lstm_bi.json', import.meta.url), 'utf8')) as {
    params_before: Record<string, number[]>; grads: Record<string, number[]>; params_after: Record<string, number[]>;
  };
  it('reproduces params_after for every tensor (rel 1e-4, abs floor 1e-6)', () => {
    const names = Object.keys(golden.params_before);
    const n = names.reduce((s, k) => s + golden.params_before[k]!.length, 0);
    const params = new Float32Array(n);
    const grads = new Float32Array(n);
    let off = 0;
    const offsets = new Map<string, number>();
    for (const k of names) {
      offsets.set(k, off);
      params.set(golden.params_before[k]!, off);
      grads.set(golden.grads[k]!, off);
      off += golden.params_before[k]!.length;
    }
    const o = resolveAdamOptions({ lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    adamStep(o, params, grads, [new Float32Array(n), new Float32Array(n)], 0, n, 1, 0.01);
    let worstName = '';
    let worstRatio = 0;
    for (const k of names) {
      const a = offsets.get(k)!;
      const exp = golden.params_after[k]!;
      const w = worst(params.subarray(a, a + exp.length), exp, 1e-4, 1e-6);
      if (w.ratio > worstRatio) { worstRatio = w.ratio; worstName = `${k}[${w.at}]`; }
    }
    expect(worstRatio, `worst element ${worstName}`).toBeLessThanOrEqual(1);
    // The step moved the parameters by about lr (Adam's first step is ~lr * sign(g)): the check is not vacuous.
    const moved = golden.params_after['head.bias']![0]! - golden.params_before['head.bias']![0]!;
    expect(Math.abs(moved)).toBeGreaterThan(0.005);
  });
});

describe('adam slices', () => {
  it('three arbitrary slices give the same bits as one full update', () => {
    for (const decoupled of [false, true]) {
      const o = resolveAdamOptions({ weightDecay: 0.01 }, 'optimizer', decoupled);
      const step = decoupled ? adamwStep : adamStep;
      const n = 101;
      const rng = new Rng(3);
      const p1 = randomArray(rng, n, 1);
      const p2 = p1.slice();
      const s1 = [new Float32Array(n), new Float32Array(n)];
      const s2 = [new Float32Array(n), new Float32Array(n)];
      for (let t = 1; t <= 4; t++) {
        const g = randomArray(rng, n, 0.1);
        step(o, p1, g, s1, 0, n, t, 0.003);
        // Out of order and uneven: 61..101, 0..17, 17..61.
        step(o, p2, g, s2, 61, n, t, 0.003);
        step(o, p2, g, s2, 0, 17, t, 0.003);
        step(o, p2, g, s2, 17, 61, t, 0.003);
      }
      expect(new Uint32Array(p2.buffer)).toEqual(new Uint32Array(p1.buffer));
      expect(new Uint32Array(s2[0]!.buffer)).toEqual(new Uint32Array(s1[0]!.buffer));
      expect(new Uint32Array(s2[1]!.buffer)).toEqual(new Uint32Array(s1[1]!.buffer));
    }
  });

  it('touches nothing outside [start, end)', () => {
    const o = resolveAdamOptions({});
    const p = new Float32Array(10).fill(1);
    const g = new Float32Array(10).fill(1);
    adamStep(o, p, g, [new Float32Array(10), new Float32Array(10)], 3, 7, 1, 0.1);
    expect(Array.from(p).map((x) => x !== 1)).toEqual([false, false, false, true, true, true, true, false, false, false]);
  });
});

describe('adam options and arguments', () => {
  it('fills the defaults (PyTorch: adam weight decay 0, adamw 1e-2)', () => {
    expect(resolveAdamOptions({})).toEqual({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    expect(resolveAdamOptions({}, 'optimizer', true).weightDecay).toBe(1e-2);
  });
  it('names the bad option', () => {
    expect(() => resolveAdamOptions({ lr: -1 })).toThrow('optimizer.lr must be a positive number, got -1');
    expect(() => resolveAdamOptions({ beta2: 1 })).toThrow('optimizer.beta2 must be a number in [0, 1), got 1');
    expect(() => resolveAdamOptions({ eps: Number.NaN })).toThrow(OptionError);
    expect(() => resolveAdamOptions({ momentum: 0.9 } as never)).toThrow('optimizer.momentum is not an option of adam');
  });
  it('refuses mismatched buffers and bad slices', () => {
    const o = resolveAdamOptions({});
    const p = new Float32Array(4);
    const s = [new Float32Array(4), new Float32Array(4)];
    expect(() => adamStep(o, p, new Float32Array(3), s, 0, 4, 1, 0.1)).toThrow('adam.update: grads has 3 floats, params has 4');
    expect(() => adamStep(o, p, p, [s[0]!], 0, 4, 1, 0.1)).toThrow('expected 2 state buffer(s), got 1');
    expect(() => adamStep(o, p, p, s, 2, 5, 1, 0.1)).toThrow(RangeError);
    expect(() => adamStep(o, p, p, s, 0, 4, 0, 0.1)).toThrow('step must be a positive integer (1-based), got 0');
    expect(() => adamStep(o, p, p, s, 0, 4, 1, -0.1)).toThrow('lr must be a non-negative finite number');
  });
});
