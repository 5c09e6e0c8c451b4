/**
 * Stacks run in lockstep (RecurrentStack.forwardGroup / backwardGroup: the shards of a batch,
 * each step's product shared by all of them) give each member exactly what it gets alone: the
 * outputs, final states, input and initial-state gradients and parameter gradients, bit for
 * bit, on every kernel path, for members of different batch sizes (1 to 9 rows: sizes the product
 * pads and sizes it does not), sequence lengths, dropout masks and initial states.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import type { CellKind } from '../params/layout.js';
import { RecurrentStack, type ForwardOptions } from './stack.js';
import type { StackOptions } from './config.js';
import { useKernels } from '../kernels/choose.js';
import { referenceKernels, setKernels } from '../kernels/index.js';
import { detachMemory } from '../kernels/memory.js';
import { nativeTurnedOff, nativeUnavailableReason } from '../kernels/native.js';

const PATHS: ('reference' | 'wasm' | 'native')[] = ['reference', 'wasm', ...(nativeTurnedOff() || nativeUnavailableReason() !== null ? [] : ['native' as const])];

interface Member {
  stack: RecurrentStack;
  grads: Float32Array;
  x: Float32Array | null;
  tokens: Int32Array | null;
  opts: () => ForwardOptions;
  dOutput: Float32Array;
  dHN: Float32Array;
  dCN?: Float32Array;
}

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.uniform() * 2 - 1) * scale);
}

/** Members over one parameter buffer: batch sizes `sizes`, random steps, lengths, inputs, states and output gradients. */
function members(o: StackOptions, sizes: number[], tokens: boolean, training: boolean, seed: number): Member[] {
  const lead = new RecurrentStack(o);
  const rng = new Rng(seed);
  const D = o.bidirectional ? 2 : 1;
  const L = o.numLayers ?? 1;
  const H = o.hiddenSize;
  return sizes.map((B, i) => {
    const stack = i === 0 ? lead : new RecurrentStack(o, { params: lead.paramBuffer });
    const T = 1 + Math.floor(rng.uniform() * 7);
    const lengths = Int32Array.from({ length: B }, () => 1 + Math.floor(rng.uniform() * T));
    lengths[0] = T;
    const n = L * D * B * H;
    const h0 = rand(rng, n, 0.5);
    const c0 = o.cell === 'lstm' ? rand(rng, n, 0.5) : undefined;
    const maskSeed = seed * 100 + i;
    return {
      stack,
      grads: stack.gradBuffer,
      x: tokens ? null : rand(rng, B * T * o.inputSize),
      tokens: tokens ? Int32Array.from({ length: B * T }, () => Math.floor(rng.uniform() * o.inputSize)) : null,
      opts: () => ({ batch: B, steps: T, lengths, h0, ...(c0 ? { c0 } : {}), training, rng: new Rng(maskSeed) }),
      dOutput: rand(rng, B * T * ((o.merge ?? 'concat') === 'concat' ? D * H : H)),
      dHN: rand(rng, n),
      ...(o.cell === 'lstm' ? { dCN: rand(rng, n) } : {}),
    };
  });
}

interface Got {
  output: Float32Array;
  hN: Float32Array;
  cN?: Float32Array;
  dInput: Float32Array;
  dH0: Float32Array;
  dC0?: Float32Array;
  grads: Float32Array;
}

function backwardInput(m: Member) {
  return { dOutput: m.dOutput, dHN: m.dHN, ...(m.dCN ? { dCN: m.dCN } : {}) };
}

function alone(m: Member): Got {
  m.stack.zeroGrad();
  const f = m.tokens ? m.stack.forwardTokens(m.tokens, m.opts()) : m.stack.forward(m.x!, m.opts());
  const out = { output: f.output.slice(), hN: f.hN.slice(), cN: f.cN?.slice() };
  const b = m.stack.backward(backwardInput(m));
  return { ...out, dInput: b.dInput.slice(), dH0: b.dH0.slice(), dC0: b.dC0?.slice(), grads: m.grads.slice(0, m.stack.layout.size) };
}

function together(ms: Member[]): Got[] {
  for (const m of ms) m.stack.zeroGrad();
  const fs = RecurrentStack.forwardGroup(ms.map((m) => ({ stack: m.stack, x: m.x, tokens: m.tokens, opts: m.opts() })));
  const outs = fs.map((f) => ({ output: f.output.slice(), hN: f.hN.slice(), cN: f.cN?.slice() }));
  const bs = RecurrentStack.backwardGroup(ms.map((m) => ({ stack: m.stack, g: backwardInput(m) })));
  return bs.map((b, i) => ({
    ...outs[i]!, dInput: b.dInput.slice(), dH0: b.dH0.slice(), dC0: b.dC0?.slice(), grads: ms[i]!.grads.slice(0, ms[i]!.stack.layout.size),
  }));
}

function expectSameBits(a: Got, b: Got, what: string): void {
  for (const k of ['output', 'hN', 'cN', 'dInput', 'dH0', 'dC0', 'grads'] as const) {
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined) {
      expect(y === undefined, `${what}: ${k}`).toBe(x === undefined);
      continue;
    }
    expect(y.length, `${what}: ${k} length`).toBe(x.length);
    const bad = x.findIndex((v, i) => !Object.is(v, y[i]));
    expect(bad, `${what}: ${k}[${bad}] ${x[bad]} alone, ${y[bad]} in the group`).toBe(-1);
  }
}

const CASES: { name: string; o: Omit<StackOptions, 'cell'>; tokens: boolean; training: boolean }[] = [
  { name: '2 layers, bidirectional, dense', o: { inputSize: 5, hiddenSize: 12, numLayers: 2, bidirectional: true, seed: 3 }, tokens: false, training: false },
  { name: 'tokens, merge sum', o: { inputSize: 7, hiddenSize: 9, numLayers: 1, bidirectional: true, merge: 'sum', seed: 4 }, tokens: true, training: false },
  {
    name: 'every dropout, tokens', o: {
      inputSize: 6, hiddenSize: 8, numLayers: 2, bidirectional: true, dropout: 0.3, inputDropout: 0.2, recurrentDropout: 0.25, seed: 5,
    }, tokens: true, training: true,
  },
  { name: 'no bias, recurrent dropout', o: { inputSize: 4, hiddenSize: 16, numLayers: 1, bias: false, recurrentDropout: 0.4, seed: 6 }, tokens: false, training: true },
];

describe('stacks in lockstep give each member its own results', () => {
  afterEach(() => {
    setKernels(referenceKernels);
    detachMemory();
  });
  for (const path of PATHS) {
    for (const cell of ['lstm', 'gru', 'rnn'] as CellKind[]) {
      for (const c of CASES) {
        it(`${path}, ${cell}, ${c.name}`, () => {
          useKernels(path);
          const o: StackOptions = { ...c.o, cell };
          // Batch sizes 1..9 across the groups: members that pad (1-3, 5-7) and members that do not.
          const ms = members(o, [2, 1, 3, 5, 4, 7, 9, 6, 8], c.tokens, c.training, 11);
          const each = ms.map(alone);
          const got = together(ms);
          got.forEach((g, i) => expectSameBits(each[i]!, g, `member ${i} (batch ${ms[i]!.opts().batch})`));
          // A group of one, and a second group run on the same stacks (scratch reused).
          expectSameBits(each[2]!, together([ms[2]!])[0]!, 'a group of one');
          const again = together([ms[4]!, ms[0]!]);
          expectSameBits(each[4]!, again[0]!, 'a later group, member 0');
          expectSameBits(each[0]!, again[1]!, 'a later group, member 1');
        });
      }
    }
  }
});

describe('a group is checked', () => {
  it('refuses members of another shape, other parameters, or one stack twice', () => {
    const o: StackOptions = { cell: 'lstm', inputSize: 3, hiddenSize: 4, seed: 1 };
    const a = new RecurrentStack(o);
    const opts = { batch: 1, steps: 1 };
    const x = new Float32Array(3);
    expect(() => RecurrentStack.forwardGroup([])).toThrow(/at least one member/);
    expect(() => RecurrentStack.forwardGroup([{ stack: a, x, opts }, { stack: new RecurrentStack(o), x, opts }])).toThrow(/member 1 has other parameters/);
    expect(() => RecurrentStack.forwardGroup([{ stack: a, x, opts }, { stack: new RecurrentStack({ ...o, hiddenSize: 3 }, { params: a.paramBuffer }), x, opts }]))
      .toThrow(/member 1 is not shaped like member 0/);
    expect(() => RecurrentStack.forwardGroup([{ stack: a, x, opts }, { stack: a, x, opts }])).toThrow(/member 1 is member 0 again/);
    const b = new RecurrentStack({ ...o, dropout: 0.5, numLayers: 2 });
    const c = new RecurrentStack({ ...o, dropout: 0.5, numLayers: 2 }, { params: b.paramBuffer });
    expect(() => RecurrentStack.forwardGroup([{ stack: b, x, opts }, { stack: c, tokens: [0], opts }]))
      .toThrow(/member 1 runs token ids, member 0 dense input: a group's members run alike/);
    expect(() => RecurrentStack.forwardGroup([{ stack: b, x, opts }, { stack: c, x, opts: { ...opts, training: true, rng: new Rng(1) } }]))
      .toThrow(/member 1 runs dense input, training, member 0 dense input: a group's members run alike/);
    const e = new RecurrentStack({ ...o, recurrentDropout: 0.5, numLayers: 2 }, { params: b.paramBuffer });
    expect(() => RecurrentStack.forwardGroup([{ stack: b, x, opts }, { stack: e, x, opts }])).toThrow(/member 1 is not shaped like member 0: .* the same dropout/);
    // A refused group leaves its members as they were: b's last forward (on x) still backs its
    // backward, which gives what it gave before the refused group tried another input (y).
    const g = { dOutput: new Float32Array(4).fill(1) };
    const x1 = Float32Array.from([0.5, -1, 2]);
    const gradsOf = () => {
      b.zeroGrad();
      b.backward(g);
      return b.gradBuffer.slice(0, b.layout.size);
    };
    b.forward(x1, opts);
    const before = gradsOf();
    b.forward(x1, opts);
    const y = new Float32Array(3).fill(7);
    expect(() => RecurrentStack.forwardGroup([{ stack: b, x: y, opts }, { stack: c, tokens: [0], opts }])).toThrow(/run alike/);
    expect(gradsOf()).toEqual(before);
  });
});
