/**
 * The three dropouts of the stack: inter-layer (PyTorch), input and recurrent (variational,
 * Keras). Checked against a float64 reference of one layer fed with masks drawn in the
 * documented order, for reproducibility, and by finite differences with the masks held fixed.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import type { CellKind } from '../params/layout.js';
import { RecurrentStack, type ForwardOptions } from './stack.js';
import type { StackOptions } from './config.js';
import { expectClose } from '../../../../test/helpers/compare.js';
import { expectGradMatches, randomArray } from '../../../../test/helpers/gradcheck.js';
import { paramSample, runStack, stackLoss } from '../../../../test/helpers/stack-run.js';

const EXACT = { rtol: 0, atol: 0 };
const REF = { rtol: 1e-5, atol: 1e-6 };

/** A mask drawn as documented: one uniform per element, dropped iff < p, kept scaled 1/(1-p). */
function mask(rng: Rng, n: number, p: number): number[] {
  return Array.from({ length: n }, () => (rng.uniform() < p ? 0 : 1 / (1 - p)));
}

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * Float64 reference of ONE layer and direction, written from PyTorch's equations.
 * x [B, T, I] batch-first; recMask [B, H] multiplies h_{t-1} where it enters W_hh.
 * Returns out [B, T, H] and the final h, c [B, H].
 */
function referenceLayer(
  cell: CellKind, x: ArrayLike<number>, B: number, T: number, I: number, H: number,
  W: { ih: ArrayLike<number>; hh: ArrayLike<number>; bih: ArrayLike<number>; bhh: ArrayLike<number> },
  reverse: boolean, recMask?: number[],
): { out: number[]; h: number[]; c: number[] } {
  const G = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
  const out = new Array<number>(B * T * H).fill(0);
  const hAll: number[] = [];
  const cAll: number[] = [];
  for (let b = 0; b < B; b++) {
    let h = new Array<number>(H).fill(0);
    let c = new Array<number>(H).fill(0);
    for (let s = 0; s < T; s++) {
      const t = reverse ? T - 1 - s : s;
      const hm = h.map((v, j) => v * (recMask ? recMask[b * H + j]! : 1));
      const gx: number[] = [];
      const gh: number[] = [];
      for (let r = 0; r < G * H; r++) {
        let a = W.bih[r]!;
        for (let i = 0; i < I; i++) a += W.ih[r * I + i]! * x[(b * T + t) * I + i]!;
        let e = W.bhh[r]!;
        for (let k = 0; k < H; k++) e += W.hh[r * H + k]! * hm[k]!;
        gx.push(a);
        gh.push(e);
      }
      const hn = new Array<number>(H);
      const cn = new Array<number>(H);
      for (let j = 0; j < H; j++) {
        if (cell === 'rnn') hn[j] = Math.tanh(gx[j]! + gh[j]!);
        else if (cell === 'lstm') {
          const g = (k: number): number => gx[k * H + j]! + gh[k * H + j]!;
          cn[j] = sig(g(1)) * c[j]! + sig(g(0)) * Math.tanh(g(2));
          hn[j] = sig(g(3)) * Math.tanh(cn[j]!);
        } else {
          const r = sig(gx[j]! + gh[j]!);
          const z = sig(gx[H + j]! + gh[H + j]!);
          const n = Math.tanh(gx[2 * H + j]! + r * gh[2 * H + j]!);
          hn[j] = (1 - z) * n + z * h[j]!;
        }
      }
      h = hn;
      if (cell === 'lstm') c = cn;
      for (let j = 0; j < H; j++) out[(b * T + t) * H + j] = h[j]!;
    }
    hAll.push(...h);
    cAll.push(...c);
  }
  return { out, h: hAll, c: cAll };
}

/** One layer/direction's weights of a stack by PyTorch name suffix (`_l0`, `_l1_reverse`). */
function weightsOf(net: RecurrentStack, sfx: string) {
  const p = net.parameters;
  return { ih: p.get(`weight_ih${sfx}`)!, hh: p.get(`weight_hh${sfx}`)!, bih: p.get(`bias_ih${sfx}`)!, bhh: p.get(`bias_hh${sfx}`)! };
}

describe('dropout semantics', () => {
  it('p = 0 is no dropout, and dropout is off outside training', () => {
    const base: StackOptions = { cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, seed: 1 };
    const plain = new RecurrentStack(base);
    const zero = new RecurrentStack({ ...base, dropout: 0, inputDropout: 0, recurrentDropout: 0 }, { params: plain.paramBuffer });
    const drop = new RecurrentStack({ ...base, dropout: 0.5, inputDropout: 0.5, recurrentDropout: 0.5 }, { params: plain.paramBuffer });
    const rng = new Rng(40);
    const x = randomArray(rng, 2 * 3 * 2);
    const R = randomArray(rng, 2 * 3 * 6);
    const S = randomArray(rng, 4 * 2 * 3);
    const fo = { batch: 2, steps: 3, lengths: [3, 2] };
    const a = runStack(plain, x, fo, R, S, S);
    const b = runStack(zero, x, { ...fo, training: true }, R, S, S);
    const c = runStack(drop, x, fo, R, S, S); // evaluation: no rng needed, no masks
    const d = runStack(drop, x, { ...fo, training: true, rng: new Rng(3) }, R, S, S);
    for (const k of ['output', 'hN', 'cN', 'grads', 'dInput', 'dH0', 'dC0'] as const) {
      expectClose(b[k]!, a[k]!, { ...EXACT, name: `p=0 training ${k}` });
      expectClose(c[k]!, a[k]!, { ...EXACT, name: `evaluation ${k}` });
    }
    expect(d.output).not.toEqual(a.output);
  });

  it('masks are reproducible from the rng, and the rng advances by exactly the documented draws', () => {
    const o: StackOptions = { cell: 'gru', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, dropout: 0.3, inputDropout: 0.2, recurrentDropout: 0.4, seed: 2 };
    const net = new RecurrentStack(o);
    const r = new Rng(41);
    const B = 2, T = 3;
    const x = randomArray(r, B * T * 2);
    const R = randomArray(r, B * T * 6);
    const S = randomArray(r, 4 * B * 3);
    const rng1 = new Rng(5);
    const a = runStack(net, x, { batch: B, steps: T, training: true, rng: rng1 }, R, S);
    const b = runStack(net, x, { batch: B, steps: T, training: true, rng: new Rng(5) }, R, S);
    for (const k of ['output', 'hN', 'grads', 'dInput', 'dH0'] as const) expectClose(b[k], a[k], { ...EXACT, name: k });
    const c = runStack(net, x, { batch: B, steps: T, training: true, rng: new Rng(6) }, R, S);
    expect(c.output).not.toEqual(a.output);
    // Per layer and direction B*I_l (input) + B*H (recurrent); T*B*D*H between the two layers.
    const draws = 2 * (B * 2 + B * 3) + 2 * (B * 6 + B * 3) + T * B * 6;
    const ref = new Rng(5);
    for (let i = 0; i < draws; i++) ref.uniform();
    expect(rng1.getState()).toEqual(ref.getState());
  });

  it('inter-layer dropout: layer 1 sees layer 0\'s output times a [T, B, H] time-major mask', () => {
    const p = 0.3, B = 2, T = 4, I = 2, H = 3;
    const net = new RecurrentStack({ cell: 'gru', inputSize: I, hiddenSize: H, numLayers: 2, dropout: p, seed: 3 });
    const x = randomArray(new Rng(42), B * T * I);
    const rng = new Rng(7);
    const f = net.forward(x, { batch: B, steps: T, training: true, rng });
    const m = mask(new Rng(7), T * B * H, p);
    const l0 = referenceLayer('gru', x, B, T, I, H, weightsOf(net, '_l0'), false);
    const in1 = l0.out.map((v, i) => {
      const b = Math.floor(i / (T * H)), t = Math.floor(i / H) % T, j = i % H;
      return v * m[(t * B + b) * H + j]!;
    });
    const l1 = referenceLayer('gru', in1, B, T, H, H, weightsOf(net, '_l1'), false);
    expectClose(f.output, l1.out, { ...REF, name: 'output' });
    expectClose(f.hN, [...l0.h, ...l1.h], { ...REF, name: 'hN' });
    expect(m.some((v) => v === 0)).toBe(true);
  });

  it('input dropout: one [B, I] mask per sequence and direction, the same at every step', () => {
    const p = 0.4, B = 2, T = 3, I = 3, H = 2;
    const net = new RecurrentStack({ cell: 'lstm', inputSize: I, hiddenSize: H, bidirectional: true, inputDropout: p, seed: 4 });
    const x = randomArray(new Rng(43), B * T * I);
    const f = net.forward(x, { batch: B, steps: T, training: true, rng: new Rng(8) });
    const rng = new Rng(8);
    const m0 = mask(rng, B * I, p);
    const m1 = mask(rng, B * I, p);
    const masked = (m: number[]) => Array.from(x, (v, i) => v * m[Math.floor(i / (T * I)) * I + (i % I)]!);
    const fw = referenceLayer('lstm', masked(m0), B, T, I, H, weightsOf(net, '_l0'), false);
    const bw = referenceLayer('lstm', masked(m1), B, T, I, H, weightsOf(net, '_l0_reverse'), true);
    const expected = Array.from({ length: B * T * 2 * H }, (_, i) => {
      const r = Math.floor(i / (2 * H)), j = i % (2 * H);
      return j < H ? fw.out[r * H + j]! : bw.out[r * H + j - H]!;
    });
    expectClose(f.output, expected, { ...REF, name: 'output' });
    expectClose(f.hN, [...fw.h, ...bw.h], { ...REF, name: 'hN' });
    expectClose(f.cN!, [...fw.c, ...bw.c], { ...REF, name: 'cN' });
  });

  for (const cell of ['rnn', 'lstm', 'gru'] as const) {
    it(`${cell} recurrent dropout: one [B, H] mask per sequence on h_{t-1} where it enters W_hh`, () => {
      const p = 0.4, B = 2, T = 4, I = 2, H = 3;
      const net = new RecurrentStack({ cell, inputSize: I, hiddenSize: H, recurrentDropout: p, seed: 5 });
      const x = randomArray(new Rng(44), B * T * I);
      const f = net.forward(x, { batch: B, steps: T, training: true, rng: new Rng(9) });
      const m = mask(new Rng(9), B * H, p);
      const ref = referenceLayer(cell, x, B, T, I, H, weightsOf(net, '_l0'), false, m);
      expectClose(f.output, ref.out, { ...REF, name: 'output' });
      expectClose(f.hN, ref.h, { ...REF, name: 'hN' });
      // The reference without the mask differs: the mask has an effect.
      const plain = referenceLayer(cell, x, B, T, I, H, weightsOf(net, '_l0'), false);
      expect(Math.max(...ref.out.map((v, i) => Math.abs(v - plain.out[i]!)))).toBeGreaterThan(1e-3);
    });
  }
});

describe('dropout gradients with fixed masks match finite differences', () => {
  const cases: [string, StackOptions][] = [
    ['inter-layer dropout, lstm bidirectional', { cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, dropout: 0.4 }],
    ['input dropout, gru bidirectional', { cell: 'gru', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, inputDropout: 0.4 }],
    ['recurrent dropout, rnn bidirectional', { cell: 'rnn', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, recurrentDropout: 0.4 }],
    ['recurrent dropout, lstm bidirectional', { cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, recurrentDropout: 0.4 }],
    ['recurrent dropout, gru bidirectional', { cell: 'gru', inputSize: 2, hiddenSize: 3, numLayers: 2, bidirectional: true, recurrentDropout: 0.4 }],
    ['all three, lstm', { cell: 'lstm', inputSize: 2, hiddenSize: 3, numLayers: 3, dropout: 0.3, inputDropout: 0.3, recurrentDropout: 0.3 }],
  ];
  for (const [name, o] of cases) {
    it(name, () => {
      const net = new RecurrentStack({ ...o, seed: 6 });
      const rng = new Rng(45);
      const B = 2, T = 3, N = net.options.numLayers * net.numDirections, H = 3;
      const x = randomArray(rng, B * T * 2);
      const h0 = randomArray(rng, N * B * H, 0.5);
      const R = randomArray(rng, B * T * net.outputSize);
      const S = randomArray(rng, N * B * H);
      const U = randomArray(rng, N * B * H);
      const fo = (): ForwardOptions => ({ batch: B, steps: T, lengths: [3, 2], h0, training: true, rng: new Rng(12) });
      const g = runStack(net, x, fo, R, S, U);
      const f = (): number => stackLoss(net, x, fo, R, S, U);
      expectGradMatches(f, net.paramBuffer, g.grads, { name: 'params', indices: paramSample(net, rng, 3) });
      expectGradMatches(f, x, g.dInput, { name: 'x' });
      expectGradMatches(f, h0, g.dH0, { name: 'h0' });
    });
  }
});
