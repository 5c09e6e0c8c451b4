// The optimizer kernels: the WebAssembly path (asm/optimizers.ts) against the TypeScript
// reference (optimizers.ts) bit for bit, for every option combination of Adam/AdamW, SGD and
// RMSprop, several steps (the first initialises SGD's buffer), lengths around the vector width
// (tails, n = 1), and random partitions into slices (the worker pool's chunks) on the fast path
// against one whole-vector reference call; special values (zeros, ±inf, NaN, constant
// gradients that drive the centered variance to 0) included. The per-step scalars are optim's
// own (adamScalars, sgdScalars, rmspropScalars), so these are the values training passes.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { adamScalars, resolveAdamOptions } from '../optim/adam.js';
import { resolveSgdOptions, sgdScalars, sgdStep } from '../optim/sgd.js';
import { resolveRmspropOptions, rmspropScalars } from '../optim/rmsprop.js';
import { createOptimizer, OptimizerState, type OptimizerSpec } from '../optim/optimizer.js';
import { referenceKernels as R, setKernels } from './index.js';
import { allocF32In, createSharedMemory, detachMemory } from './memory.js';
import { loadWasmKernels } from './wasm.js';

// `pnpm test` builds the WebAssembly module first; without it this file fails rather than skipping.
const W: ReturnType<typeof loadWasmKernels> | null = loadWasmKernels(createSharedMemory(64));

afterAll(() => {
  setKernels(R);
  detachMemory();
});

const LENGTHS = [1, 2, 3, 4, 5, 7, 8, 31, 64, 67];

function expectSameBits(a: Float32Array, b: Float32Array, name: string): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`${name}[${i}]: wasm ${a[i]} reference ${b[i]}`);
  }
}

/** Random values, with a sprinkling of zeros, and (when `special`) ±inf and NaN. */
function fill(rng: Rng, a: Float32Array, scale: number, special: boolean): void {
  for (let i = 0; i < a.length; i++) {
    const u = rng.uniform();
    a[i] = u < 0.05 ? 0 : special && u < 0.07 ? [Infinity, -Infinity, NaN][rng.int(3)]! : scale * rng.normal();
  }
}

/** Cut points 0 = c0 < c1 < ... < ck = n at random (each slice at least one float). */
function partition(rng: Rng, n: number): number[] {
  const cuts = [0];
  for (let i = 1; i < n; i++) if (rng.uniform() < 0.3) cuts.push(i);
  cuts.push(n);
  return cuts;
}

type Run = (k: typeof R, p: Float32Array, g: Float32Array, s: Float32Array[], a: number, b: number, t: number) => void;

/**
 * For each length: the fast path over a random partition vs the reference over the whole
 * vector, `steps` steps with fresh gradients, comparing params and every state buffer.
 */
function compare(label: string, stateCount: number, run: Run, steps = 4): void {
  const rng = new Rng(label.length * 7919 + stateCount);
  const mem = W!.memory;
  for (const n of LENGTHS) {
    for (const special of [false, true]) {
      const p = allocF32In(mem, n);
      fill(rng, p, 1, false);
      const pr = p.slice();
      const s = Array.from({ length: stateCount }, () => allocF32In(mem, n));
      const sr = s.map((x) => x.slice());
      const g = allocF32In(mem, n);
      for (let t = 1; t <= steps; t++) {
        fill(rng, g, 0.3, special && t === steps);
        if (t === 2) g.fill(0.125); // a constant gradient: RMSprop's centered variance goes to 0
        const before = W!.calls.wasm;
        const cuts = partition(rng, n);
        for (let c = 0; c + 1 < cuts.length; c++) run(W!, p, g, s, cuts[c]!, cuts[c + 1]!, t);
        expect(W!.calls.wasm - before).toBe(cuts.length - 1);
        run(R, pr, g.slice(), sr, 0, n, t);
        const name = `${label} n=${n} t=${t}${special ? ' with inf/NaN' : ''}`;
        expectSameBits(p, pr, `${name} params`);
        s.forEach((x, k) => expectSameBits(x, sr[k]!, `${name} state ${k}`));
      }
    }
  }
}

describe('optimizer kernels: WebAssembly vs reference, bit for bit, in slices', () => {
  for (const decoupled of [false, true]) {
    for (const weightDecay of [0, 0.05]) {
      for (const betas of [[0.9, 0.999], [0.5, 0.9]]) {
        const label = `${decoupled ? 'adamw' : 'adam'} weightDecay=${weightDecay} betas=${betas.join(',')}`;
        it(label, () => {
          const o = resolveAdamOptions({ lr: 0.01, beta1: betas[0], beta2: betas[1], eps: 1e-6, weightDecay }, 'optimizer', decoupled);
          compare(label, 2, (k, p, g, s, a, b, t) => k.adamUpdate(p, g, s[0]!, s[1]!, a, b, adamScalars(o, decoupled, t, 0.01 / t)));
        });
      }
    }
  }

  for (const momentum of [0, 0.9]) {
    for (const dampening of [0, 0.3]) {
      for (const nesterov of [false, true]) {
        if (nesterov && (momentum === 0 || dampening !== 0)) continue; // refused by the options
        for (const weightDecay of [0, 0.01]) {
          const label = `sgd momentum=${momentum} dampening=${dampening} nesterov=${nesterov} weightDecay=${weightDecay}`;
          it(label, () => {
            const o = resolveSgdOptions({ lr: 0.1, momentum, dampening, nesterov, weightDecay });
            compare(label, momentum ? 1 : 0, (k, p, g, s, a, b, t) => k.sgdUpdate(p, g, s[0] ?? null, a, b, sgdScalars(o, t, 0.1)));
          });
        }
      }
    }
  }

  for (const centered of [false, true]) {
    for (const momentum of [0, 0.5]) {
      for (const weightDecay of [0, 0.01]) {
        const label = `rmsprop centered=${centered} momentum=${momentum} weightDecay=${weightDecay}`;
        it(label, () => {
          const o = resolveRmspropOptions({ lr: 0.01, alpha: 0.9, centered, momentum, weightDecay });
          const count = 1 + (momentum ? 1 : 0) + (centered ? 1 : 0);
          compare(label, count, (k, p, g, s, a, b, t) =>
            k.rmspropUpdate(p, g, s[0]!, momentum ? s[1]! : null, centered ? s[momentum ? 2 : 1]! : null, a, b, rmspropScalars(o, 0.01)));
        });
      }
    }
  }

  it('through the optimizers on the active table: the same bits as the reference table', () => {
    const specs: OptimizerSpec[] = [
      { name: 'adam', lr: 0.01, weightDecay: 0.1 }, { name: 'adamw', lr: 0.01 },
      { name: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true }, { name: 'rmsprop', lr: 0.01, centered: true, momentum: 0.9 },
    ];
    const rng = new Rng(21);
    const n = 1001;
    for (const spec of specs) {
      const opt = createOptimizer(spec);
      const mem = W!.memory;
      const p = allocF32In(mem, n); // params, grads and state in the arena: the fast path
      fill(rng, p, 1, false);
      const g = allocF32In(mem, n);
      const st = new OptimizerState(opt, n, Array.from({ length: opt.stateCount }, () => allocF32In(mem, n)));
      const pr = p.slice(); // heap copies: the reference
      const str = new OptimizerState(opt, n);
      const before = W!.calls.wasm;
      for (let t = 0; t < 3; t++) {
        fill(rng, g, 1, false);
        setKernels(W!);
        try {
          st.apply(p, g);
        } finally {
          setKernels(R);
        }
        str.apply(pr, g.slice());
      }
      expect(W!.calls.wasm - before).toBe(3);
      expectSameBits(p, pr, `${spec.name} params`);
      st.states.forEach((x, k) => expectSameBits(x, str.states[k]!, `${spec.name} ${opt.stateNames[k]}`));
    }
  });

  it('runs the reference for buffers outside the arena, and checks slices against every buffer', () => {
    const o = resolveSgdOptions({ lr: 0.1, momentum: 0.5 });
    const p = new Float32Array(4);
    const before = W!.calls.reference;
    setKernels(W!);
    try {
      sgdStep(o, p, new Float32Array([1, 1, 1, 1]), [new Float32Array(4)], 0, 4, 1, 0.1);
    } finally {
      setKernels(R);
    }
    expect(W!.calls.reference).toBe(before + 1);
    expect(Array.from(p)).toEqual([-0.1, -0.1, -0.1, -0.1].map(Math.fround));
    const a = allocF32In(W!.memory, 4);
    const short = allocF32In(W!.memory, 2);
    const s = adamScalars(resolveAdamOptions({}), false, 1, 1e-3);
    expect(() => W!.adamUpdate(a, a, a, short, 0, 4, s)).toThrow(/adamUpdate: exp_avg_sq needs \[0, 0\+4\) inside its 2 values/);
    expect(() => W!.sgdUpdate(a, a, null, 3, 2, sgdScalars(o, 1, 0.1))).toThrow(RangeError);
  });
});
