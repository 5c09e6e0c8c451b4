import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { createOptimizer, OptimizerState, type OptimizerSpec } from './optimizer.js';
import { OptionError } from '../options/errors.js';

function randomArray(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

const SPECS: OptimizerSpec[] = [
  { name: 'sgd', lr: 0.1 },
  { name: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4 },
  { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
  { name: 'adam', lr: 1e-3, weightDecay: 1e-2 },
  { name: 'adamw', lr: 1e-3 },
  { name: 'rmsprop', lr: 1e-2 },
  { name: 'rmsprop', lr: 1e-2, momentum: 0.9, centered: true, weightDecay: 1e-3 },
];

describe('createOptimizer', () => {
  it('reports name, resolved options and state count', () => {
    const a = createOptimizer({ name: 'adam', lr: 0.01 });
    expect(a.name).toBe('adam');
    expect(a.options).toEqual({ lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
    expect(a.stateCount).toBe(2);
    expect(a.stateNames).toEqual(['exp_avg', 'exp_avg_sq']);
    expect(createOptimizer({ name: 'sgd', lr: 0.1 }).stateCount).toBe(0);
    expect(createOptimizer({ name: 'sgd', lr: 0.1, momentum: 0.9 }).stateCount).toBe(1);
    expect(createOptimizer({ name: 'rmsprop', centered: true, momentum: 0.1 }).stateCount).toBe(3);
    expect(createOptimizer({ name: 'adamw' }).options.weightDecay).toBe(0.01);
  });

  it('names the bad option', () => {
    expect(() => createOptimizer({ name: 'adam', lr: -1 })).toThrow('optimizer.lr must be a positive number, got -1');
    expect(() => createOptimizer({ name: 'lion' } as never)).toThrow(`optimizer.name must be 'sgd', 'adam', 'adamw' or 'rmsprop', got "lion"`);
    expect(() => createOptimizer({ name: 'adamm' } as never)).toThrow(`optimizer.name must be 'sgd', 'adam', 'adamw' or 'rmsprop', got "adamm"; did you mean 'adam'?`);
    expect(() => createOptimizer({ name: 'adam', betas: [0.9, 0.99] } as never)).toThrow('optimizer.betas is not an option of adam');
    expect(() => createOptimizer({ name: 'sgd', lr: 1, momentum: 0.5 }, 'config.optimizer')).not.toThrow();
    expect(() => createOptimizer({ name: 'sgd', lr: 'x' } as never, 'config.optimizer')).toThrow('config.optimizer.lr must be a positive number, got "x"');
  });

  it('refuses a misspelt option with the closest valid one, a far-off one with the list', () => {
    const misspelt = () => createOptimizer({ name: 'adam', weight_decay: 0.1 } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({
      message: 'optimizer.weight_decay is not an option of adam; did you mean weightDecay?',
      option: 'optimizer.weight_decay', suggestion: 'weightDecay',
    }));
    expect(createOptimizer({ name: 'adam', weightDecay: 0.1 }).options.weightDecay).toBe(0.1);
    const far = () => createOptimizer({ name: 'sgd', lr: 0.1, schedule: 'cosine' } as never);
    expect(far).toThrow(expect.objectContaining({
      message: 'optimizer.schedule is not an option of sgd; expected one of: lr, momentum, dampening, weightDecay, nesterov',
      suggestion: undefined,
    }));
  });

  it.each(SPECS.map((s) => [JSON.stringify(s), s] as const))('%s: any partition into slices gives bit-identical results', (_, spec) => {
    const opt = createOptimizer(spec);
    const n = 1000;
    const rng = new Rng(99);
    const full = randomArray(rng, n, 1);
    const sliced = full.slice();
    const sFull = Array.from({ length: opt.stateCount }, () => new Float32Array(n));
    const sSliced = Array.from({ length: opt.stateCount }, () => new Float32Array(n));
    for (let t = 1; t <= 5; t++) {
      const g = randomArray(rng, n, 0.1);
      const lr = opt.options.lr / t;
      opt.update(full, g, sFull, 0, n, t, lr);
      // A fresh random partition into 3 slices every step, applied in a random order.
      const cuts = [rng.int(n + 1), rng.int(n + 1)].sort((a, b) => a - b);
      const slices: [number, number][] = [[0, cuts[0]!], [cuts[0]!, cuts[1]!], [cuts[1]!, n]];
      rng.shuffle(slices);
      for (const [a, b] of slices) opt.update(sliced, g, sSliced, a, b, t, lr);
    }
    expect(bits(sliced)).toEqual(bits(full));
    for (let k = 0; k < opt.stateCount; k++) expect(bits(sSliced[k]!)).toEqual(bits(sFull[k]!));
    // The run did change the parameters (the comparison above is not between two untouched copies).
    expect(bits(full)).not.toEqual(bits(randomArray(new Rng(99), n, 1)));
  });
});

describe('OptimizerState', () => {
  it('allocates zeroed buffers, applies updates and counts steps', () => {
    const st = new OptimizerState(createOptimizer({ name: 'adam', lr: 0.1 }), 4);
    expect(st.states.length).toBe(2);
    expect(st.states.every((s) => s.length === 4 && s.every((x) => x === 0))).toBe(true);
    const p = new Float32Array([1, 2, 3, 4]);
    st.update(p, new Float32Array([1, -1, 1, -1]), 0, 2, 0.1);
    st.update(p, new Float32Array([1, -1, 1, -1]), 2, 4, 0.1);
    expect(st.step).toBe(0);
    st.advance();
    expect(st.step).toBe(1);
    // Adam's first step moves each parameter by ~lr against the sign of its gradient.
    expect(Array.from(p).map((x, i) => Math.round((x - (i + 1)) * 10))).toEqual([-1, 1, -1, 1]);
  });

  it('wraps views of a SharedArrayBuffer so that every holder shares the state', () => {
    const opt = createOptimizer({ name: 'rmsprop', momentum: 0.9 });
    const sab = new SharedArrayBuffer(16 + OptimizerState.byteLength(opt, 8));
    const a = OptimizerState.over(opt, 8, sab, 16);
    const b = OptimizerState.over(opt, 8, sab, 16);
    a.states[1]![3] = 5;
    expect(b.states[1]![3]).toBe(5);
    expect(a.states[0]!.buffer).toBe(sab);
    expect(() => OptimizerState.over(opt, 9, sab, 16)).toThrow(RangeError);
  });

  it('snapshots copy the buffers; restoring and continuing matches an uninterrupted run bit for bit', () => {
    const spec: OptimizerSpec = { name: 'adamw', lr: 0.01, weightDecay: 0.1 };
    const n = 33;
    const rng = new Rng(1);
    const grads = Array.from({ length: 6 }, () => randomArray(rng, n, 1));
    const p0 = randomArray(rng, n, 1);

    const straight = new OptimizerState(createOptimizer(spec), n);
    const pStraight = p0.slice();
    for (const g of grads) straight.apply(pStraight, g);

    const first = new OptimizerState(createOptimizer(spec), n);
    const pResumed = p0.slice();
    for (const g of grads.slice(0, 3)) first.apply(pResumed, g);
    const snap = first.toJSON();
    first.states[0]!.fill(123); // the snapshot holds copies
    expect(snap.states[0]![0]).not.toBe(123);
    expect(snap).toMatchObject({ name: 'adamw', step: 3, options: { lr: 0.01, weightDecay: 0.1 } });

    const resumed = OptimizerState.fromSnapshot(snap, n);
    for (const g of grads.slice(3)) resumed.apply(pResumed, g);
    expect(resumed.step).toBe(6);
    expect(bits(pResumed)).toEqual(bits(pStraight));
  });

  it('refuses snapshots that do not fit', () => {
    const st = new OptimizerState(createOptimizer({ name: 'adam' }), 4);
    const snap = st.toJSON();
    expect(() => new OptimizerState(createOptimizer({ name: 'sgd', momentum: 0.9 }), 4).restore(snap)).toThrow(
      "optimizer snapshot is for optimizer 'adam', this one is 'sgd'",
    );
    expect(() => new OptimizerState(createOptimizer({ name: 'adam' }), 5).restore(snap)).toThrow('optimizer snapshot.states[0] (exp_avg) has 4 floats, expected 5');
    expect(() => st.restore({ ...snap, states: [snap.states[0]!] })).toThrow('adam with these options keeps 2 state buffer(s) (exp_avg, exp_avg_sq), got 1');
    expect(() => new OptimizerState(createOptimizer({ name: 'adam' }), 4, [new Float32Array(4)])).toThrow(RangeError);
  });
});
