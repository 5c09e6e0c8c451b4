/**
 * RecurrentStack behaviour beyond the PyTorch goldens: variable lengths (against running each
 * sequence alone), truncated BPTT (against the full forward and the chain rule, and by finite
 * differences), merge 'sum'/'mean' (against the concatenated output, and by finite
 * differences), buffers and scratch reuse.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import type { CellKind } from '../params/layout.js';
import { RecurrentStack } from './stack.js';
import type { StackOptions } from './config.js';
import { expectClose } from '../../../../test/helpers/compare.js';
import { expectGradMatches, randomArray } from '../../../../test/helpers/gradcheck.js';
import { paramSample, runStack, stackLoss } from '../../../../test/helpers/stack-run.js';

const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];
const EXACT = { rtol: 0, atol: 0 };
const SUMS = { rtol: 1e-5, atol: 1e-6 }; // same terms, summed in another order

const run = runStack;
const loss = stackLoss;

/** Rows [from, to) of a [B, T, W] batch-first tensor's sequence b, as [to-from, W]. */
function steps(a: ArrayLike<number>, b: number, T: number, W: number, from: number, to: number): number[] {
  return Array.from({ length: (to - from) * W }, (_, i) => a[(b * T + from) * W + i]!);
}

/** Sequence b of a [N, B, H] state tensor, as [N, 1, H]. */
function stateOf(a: ArrayLike<number>, b: number, N: number, B: number, H: number): Float32Array {
  const r = new Float32Array(N * H);
  for (let k = 0; k < N; k++) for (let j = 0; j < H; j++) r[k * H + j] = a[(k * B + b) * H + j]!;
  return r;
}

describe('variable lengths (packed-sequence semantics)', () => {
  for (const cell of CELLS) {
    for (const bidirectional of [false, true]) {
      it(`${cell}${bidirectional ? ' bidirectional' : ''}: a padded batch equals each sequence run alone`, () => {
        const opts: StackOptions = { cell, inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional, seed: 5 };
        const net = new RecurrentStack(opts);
        const single = new RecurrentStack(opts, { params: net.paramBuffer }); // same weights, own grads
        const rng = new Rng(21);
        const B = 3, T = 5, I = 3, H = 4, D = bidirectional ? 2 : 1, N = 2 * D, W = D * H;
        const lengths = [5, 2, 4];
        const x = randomArray(rng, B * T * I);
        const h0 = randomArray(rng, N * B * H, 0.5);
        const c0 = cell === 'lstm' ? randomArray(rng, N * B * H, 0.5) : undefined;
        const R = randomArray(rng, B * T * W);
        const S = randomArray(rng, N * B * H);
        const U = randomArray(rng, N * B * H);
        const batched = run(net, x, { batch: B, steps: T, lengths, h0, ...(c0 ? { c0 } : {}) }, R, S, U);

        const gradSum = new Float64Array(net.layout.size);
        for (let b = 0; b < B; b++) {
          const L = lengths[b]!;
          const one = run(
            single, Float32Array.from(steps(x, b, T, I, 0, L)),
            { batch: 1, steps: L, h0: stateOf(h0, b, N, B, H), ...(c0 ? { c0: stateOf(c0, b, N, B, H) } : {}) },
            Float32Array.from(steps(R, b, T, W, 0, L)), stateOf(S, b, N, B, H), stateOf(U, b, N, B, H),
          );
          expectClose(steps(batched.output, b, T, W, 0, L), one.output, { ...EXACT, name: `output[${b}]` });
          expectClose(steps(batched.output, b, T, W, L, T), new Array((T - L) * W).fill(0), { ...EXACT, name: `padded output[${b}]` });
          expectClose(stateOf(batched.hN, b, N, B, H), one.hN, { ...EXACT, name: `hN[:, ${b}]` });
          if (cell === 'lstm') expectClose(stateOf(batched.cN!, b, N, B, H), one.cN!, { ...EXACT, name: `cN[:, ${b}]` });
          expectClose(steps(batched.dInput, b, T, I, 0, L), one.dInput, { ...SUMS, name: `dInput[${b}]` });
          expectClose(steps(batched.dInput, b, T, I, L, T), new Array((T - L) * I).fill(0), { ...EXACT, name: `padded dInput[${b}]` });
          expectClose(stateOf(batched.dH0, b, N, B, H), one.dH0, { ...SUMS, name: `dH0[:, ${b}]` });
          if (cell === 'lstm') expectClose(stateOf(batched.dC0!, b, N, B, H), one.dC0!, { ...SUMS, name: `dC0[:, ${b}]` });
          for (let i = 0; i < gradSum.length; i++) gradSum[i]! += one.grads[i]!;
        }
        expectClose(batched.grads, gradSum, { ...SUMS, name: 'parameter gradients' });
      });
    }

    it(`${cell} bidirectional: padded positions of x and dOutput change nothing`, () => {
      const net = new RecurrentStack({ cell, inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 6 });
      const rng = new Rng(22);
      const B = 2, T = 4, I = 2, W = 6, lengths = [4, 2];
      const x = randomArray(rng, B * T * I);
      const R = randomArray(rng, B * T * W);
      const S = randomArray(rng, 4 * B * 3);
      const U = randomArray(rng, 4 * B * 3);
      const fo = { batch: B, steps: T, lengths };
      const a = run(net, x, fo, R, S, U);
      const x2 = x.slice();
      const R2 = R.slice();
      for (let t = 2; t < T; t++) {
        for (let i = 0; i < I; i++) x2[(1 * T + t) * I + i] = i === 0 ? NaN : 1e6;
        for (let j = 0; j < W; j++) R2[(1 * T + t) * W + j] = 1e3;
      }
      const b = run(net, x2, fo, R2, S, U);
      for (const k of ['output', 'hN', 'cN', 'grads', 'dInput', 'dH0', 'dC0'] as const) {
        if (a[k]) expectClose(b[k]!, a[k]!, { ...EXACT, name: k });
      }
    });
  }

  it('lstm bidirectional with lengths and initial states: gradients match finite differences', () => {
    const net = new RecurrentStack({ cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 8 });
    const rng = new Rng(23);
    const B = 2, T = 4, N = 4, H = 3;
    const x = randomArray(rng, B * T * 2);
    const h0 = randomArray(rng, N * B * H, 0.5);
    const c0 = randomArray(rng, N * B * H, 0.5);
    const R = randomArray(rng, B * T * 6);
    const S = randomArray(rng, N * B * H);
    const U = randomArray(rng, N * B * H);
    const fo = { batch: B, steps: T, lengths: [3, 4], h0, c0 };
    const g = run(net, x, fo, R, S, U);
    const f = (): number => loss(net, x, fo, R, S, U);
    expectGradMatches(f, net.paramBuffer, g.grads, { name: 'params', indices: paramSample(net, rng, 3) });
    expectGradMatches(f, x, g.dInput, { name: 'x' });
    expectGradMatches(f, h0, g.dH0, { name: 'h0' });
    expectGradMatches(f, c0, g.dC0!, { name: 'c0' });
  });
});

describe('truncated BPTT', () => {
  for (const cell of CELLS) {
    it(`${cell}: chunks with carried state equal the full sequence, forward and (by the chain rule) backward`, () => {
      const opts: StackOptions = { cell, inputSize: 2, hiddenSize: 3, numLayers: 2, seed: 9 };
      const net = new RecurrentStack(opts);
      const rng = new Rng(24);
      const B = 2, T = 6, I = 2, H = 3, N = 2, T1 = 4, T2 = 2;
      const x = randomArray(rng, B * T * I);
      const R = randomArray(rng, B * T * H);
      const S = randomArray(rng, N * B * H);
      const U = randomArray(rng, N * B * H);
      const full = run(net, x, { batch: B, steps: T }, R, S, U);

      const part = (a: Float32Array, W: number, from: number, to: number): Float32Array => {
        const r: number[] = [];
        for (let b = 0; b < B; b++) r.push(...steps(a, b, T, W, from, to));
        return Float32Array.from(r);
      };
      const zeroS = new Float32Array(N * B * H);
      // Chunk 1 forward; chunk 2 from its final state.
      const f1 = net.forward(part(x, I, 0, T1), { batch: B, steps: T1 });
      const h1 = f1.hN.slice();
      const c1 = f1.cN?.slice();
      const fo2 = { batch: B, steps: T2, h0: h1, ...(c1 ? { c0: c1 } : {}) };
      const r2 = run(net, part(x, I, T1, T), fo2, part(R, H, T1, T), S, U);
      for (let b = 0; b < B; b++) {
        expectClose(steps(r2.output, b, T2, H, 0, T2), steps(full.output, b, T, H, T1, T), { ...EXACT, name: `chunk 2 output[${b}]` });
      }
      expectClose(r2.hN, full.hN, { ...EXACT, name: 'hN' });
      // Chunk 1 backward receives chunk 2's dH0/dC0 as its dHN/dCN: the sum is full BPTT.
      const r1 = run(net, part(x, I, 0, T1), { batch: B, steps: T1 }, part(R, H, 0, T1), r2.dH0, r2.dC0 ?? zeroS);
      for (let b = 0; b < B; b++) {
        expectClose(steps(r1.output, b, T1, H, 0, T1), steps(full.output, b, T, H, 0, T1), { ...EXACT, name: `chunk 1 output[${b}]` });
        expectClose(steps(r1.dInput, b, T1, I, 0, T1), steps(full.dInput, b, T, I, 0, T1), { ...SUMS, name: `chunk 1 dInput[${b}]` });
        expectClose(steps(r2.dInput, b, T2, I, 0, T2), steps(full.dInput, b, T, I, T1, T), { ...SUMS, name: `chunk 2 dInput[${b}]` });
      }
      const sum = r1.grads.map((v, i) => v + r2.grads[i]!);
      expectClose(sum, full.grads, { ...SUMS, name: 'chunk 1 + chunk 2 gradients' });
      expectClose(r1.dH0, full.dH0, { ...SUMS, name: 'dH0' });
    });

    it(`${cell}: the last chunk's gradient, earlier state held constant, matches finite differences`, () => {
      const net = new RecurrentStack({ cell, inputSize: 2, hiddenSize: 3, numLayers: 2, seed: 10 });
      const rng = new Rng(25);
      const B = 2, T1 = 3, T2 = 3, I = 2, H = 3, N = 2;
      const x1 = randomArray(rng, B * T1 * I);
      const x2 = randomArray(rng, B * T2 * I);
      const f1 = net.forward(x1, { batch: B, steps: T1 });
      const h0 = f1.hN.slice(); // constant from here on: truncation
      const c0 = f1.cN?.slice();
      const R = randomArray(rng, B * T2 * H);
      const S = randomArray(rng, N * B * H);
      const U = randomArray(rng, N * B * H);
      const fo = { batch: B, steps: T2, h0, ...(c0 ? { c0 } : {}) };
      const g = run(net, x2, fo, R, S, U);
      const f = (): number => loss(net, x2, fo, R, S, U);
      expectGradMatches(f, net.paramBuffer, g.grads, { name: 'params', indices: paramSample(net, rng, 3) });
      expectGradMatches(f, h0, g.dH0, { name: 'h0 (what flows into the previous chunk)' });
      if (c0) expectGradMatches(f, c0, g.dC0!, { name: 'c0' });
    });
  }
});

describe("merge 'sum' and 'mean'", () => {
  for (const cell of ['lstm', 'gru'] as const) {
    for (const merge of ['sum', 'mean'] as const) {
      it(`${cell} ${merge}: output combines the concatenated halves; gradients match finite differences`, () => {
        const opts: StackOptions = { cell, inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 12 };
        const cat = new RecurrentStack(opts);
        const net = new RecurrentStack({ ...opts, merge }, { params: cat.paramBuffer });
        expect(net.outputSize).toBe(3);
        const rng = new Rng(26);
        const B = 2, T = 3, H = 3;
        const x = randomArray(rng, B * T * 2);
        const fo = { batch: B, steps: T, lengths: [3, 2] };
        const y = cat.forward(x, fo).output.slice();
        const m = net.forward(x, fo).output;
        const s = merge === 'mean' ? 0.5 : 1;
        const expected = Array.from({ length: B * T * H }, (_, i) => {
          const r = Math.floor(i / H), j = i % H;
          return (y[r * 2 * H + j]! + y[r * 2 * H + H + j]!) * s;
        });
        expectClose(m, expected, { rtol: 1e-7, atol: 0, name: `${merge} output` });

        const R = randomArray(rng, B * T * H);
        const S = randomArray(rng, 4 * B * H);
        const U = randomArray(rng, 4 * B * H);
        const g = run(net, x, fo, R, S, U);
        const f = (): number => loss(net, x, fo, R, S, U);
        expectGradMatches(f, net.paramBuffer, g.grads, { name: 'params', indices: paramSample(net, rng, 3) });
        expectGradMatches(f, x, g.dInput, { name: 'x' });
      });
    }
  }
});

describe('buffers and scratch', () => {
  const opts: StackOptions = { cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 13 };

  it('initialises with PyTorch\'s uniform(±1/sqrt(H)) from the seed, through the layout', () => {
    const net = new RecurrentStack(opts);
    const ref = new Float32Array(net.layout.size);
    net.layout.initialize(ref, new Rng(13));
    expectClose(net.paramBuffer, ref, { ...EXACT, name: 'params' });
    const bound = 1 / Math.sqrt(3);
    expect(net.paramBuffer.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(new RecurrentStack({ ...opts, seed: 14 }).paramBuffer).not.toEqual(net.paramBuffer);
  });

  it('uses a given params buffer as is (views, no initialisation) and a given grads buffer', () => {
    const n = RecurrentStack.layoutFor(opts).size;
    const params = new Float32Array(n + 5).fill(0.25);
    const grads = new Float32Array(n);
    const net = new RecurrentStack(opts, { params, grads });
    expect(net.paramBuffer).toBe(params);
    expect(params.every((v) => v === 0.25)).toBe(true);
    params[net.layout.get('bias_hh_l1_reverse').offset] = 7;
    expect(net.parameters.get('bias_hh_l1_reverse')![0]).toBe(7);
    net.forward(new Float32Array(2 * 2 * 2).fill(0.5), { batch: 2, steps: 2 });
    net.backward({ dHN: new Float32Array(4 * 2 * 3).fill(1) });
    expect(grads.some((v) => v !== 0)).toBe(true);
    expect(net.grads.get('weight_ih_l0')!.buffer).toBe(grads.buffer);
  });

  it('backward accumulates; bindGrads redirects accumulation; zeroGrad clears', () => {
    const net = new RecurrentStack(opts);
    const rng = new Rng(27);
    const x = randomArray(rng, 2 * 3 * 2);
    const R = randomArray(rng, 2 * 3 * 6);
    const fo = { batch: 2, steps: 3 };
    net.forward(x, fo);
    net.backward({ dOutput: R });
    const once = net.gradBuffer.slice();
    net.backward({ dOutput: R });
    expectClose(net.gradBuffer, once.map((v) => 2 * v), { ...SUMS, name: 'twice' });
    const slot = new Float32Array(net.layout.size);
    const old = net.gradBuffer;
    const before = old.slice();
    net.bindGrads(slot);
    expect(net.gradBuffer).toBe(slot);
    expect(net.grads.get('weight_hh_l0')!.buffer).toBe(slot.buffer);
    net.backward({ dOutput: R });
    expectClose(slot, once, { ...EXACT, name: 'bound slot' });
    expectClose(old, before, { ...EXACT, name: 'old buffer untouched' });
    net.zeroGrad();
    expect(slot.every((v) => v === 0)).toBe(true);
  });

  it('results do not depend on earlier calls with other shapes (scratch reuse and growth)', () => {
    const rng = new Rng(28);
    const small = randomArray(rng, 2 * 3 * 2);
    const big = randomArray(rng, 4 * 6 * 2);
    const Rs = randomArray(rng, 2 * 3 * 6);
    const Rb = randomArray(rng, 4 * 6 * 6);
    const S = new Float32Array(4 * 2 * 3);
    const fresh = run(new RecurrentStack(opts), small, { batch: 2, steps: 3, lengths: [3, 1] }, Rs, S);
    const net = new RecurrentStack(opts);
    run(net, small, { batch: 2, steps: 3 }, Rs, S);
    run(net, big, { batch: 4, steps: 6, lengths: [6, 1, 3, 5] }, Rb, new Float32Array(4 * 4 * 3));
    const again = run(net, small, { batch: 2, steps: 3, lengths: [3, 1] }, Rs, S);
    for (const k of ['output', 'hN', 'cN', 'grads', 'dInput', 'dH0', 'dC0'] as const) {
      expectClose(again[k]!, fresh[k]!, { ...EXACT, name: k });
    }
  });

  it('stateDict copies round-trip through loadStateDict', () => {
    const a = new RecurrentStack(opts);
    const b = new RecurrentStack({ ...opts, seed: 99 });
    const sd = a.stateDict();
    expect([...sd.keys()]).toEqual(a.layout.names());
    sd.get('weight_ih_l0')![0] = 123; // a copy: a is unchanged
    expect(a.parameters.get('weight_ih_l0')![0]).not.toBe(123);
    b.loadStateDict(a.stateDict());
    expectClose(b.paramBuffer, a.paramBuffer, { ...EXACT, name: 'params' });
  });
});

describe('without biases', () => {
  for (const cell of CELLS) {
    it(`${cell} bias: false has no bias tensors; gradients match finite differences`, () => {
      const net = new RecurrentStack({ cell, inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, bias: false, seed: 15 });
      expect(net.layout.names().some((n) => n.startsWith('bias'))).toBe(false);
      const rng = new Rng(29);
      const B = 2, T = 3;
      const x = randomArray(rng, B * T * 2);
      const R = randomArray(rng, B * T * 6);
      const S = randomArray(rng, 4 * B * 3);
      const fo = { batch: B, steps: T, lengths: [2, 3] };
      const g = run(net, x, fo, R, S, S);
      const f = (): number => loss(net, x, fo, R, S, S);
      expectGradMatches(f, net.paramBuffer, g.grads, { name: 'params', indices: paramSample(net, rng, 4) });
      expectGradMatches(f, x, g.dInput, { name: 'x' });
    });
  }
});
