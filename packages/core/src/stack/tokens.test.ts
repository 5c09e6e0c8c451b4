/**
 * forwardTokens (one-hot input as token ids: a gather of W_ih's columns, and a scatter-add for
 * dW_ih) against forward on the explicit one-hot matrix (the oracle), for every cell, one and
 * two directions, padded batches, dropout; on the TypeScript kernels and on the WebAssembly ones
 * with every buffer in the arena. Also backward's inputGrad: false, and the token checks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import type { CellKind } from '../params/layout.js';
import { RecurrentStack, type ForwardOptions } from './stack.js';
import type { StackOptions } from './config.js';
import { referenceKernels, setKernels } from '../kernels/index.js';
import { attachMemory, createSharedMemory, detachMemory, type WasmMemory } from '../kernels/memory.js';
import { loadWasmKernels } from '../kernels/wasm.js';
import { expectClose } from '../../../../test/helpers/compare.js';

const CELLS: CellKind[] = ['rnn', 'lstm', 'gru'];
// The same terms: dW_ih sums the rows of dz per token in another order than the product does.
const SUMS = { rtol: 1e-5, atol: 1e-6 };

afterAll(() => {
  setKernels(referenceKernels);
  detachMemory();
});

function oneHot(tokens: Int32Array, V: number): Float32Array {
  const x = new Float32Array(tokens.length * V);
  for (let i = 0; i < tokens.length; i++) x[i * V + tokens[i]!] = 1;
  return x;
}

/** Forward + backward (dOutput R, dHN S) on tokens or on their one-hot matrix; copies out. */
function runBoth(net: RecurrentStack, tokens: Int32Array, fo: () => ForwardOptions, R: Float32Array, S: Float32Array, asTokens: boolean) {
  net.zeroGrad();
  const f = asTokens ? net.forwardTokens(tokens, fo()) : net.forward(oneHot(tokens, net.options.inputSize), fo());
  const fwd = { output: f.output.slice(), hN: f.hN.slice(), cN: f.cN?.slice() };
  const b = net.backward({ dOutput: R, dHN: S });
  return { ...fwd, grads: net.gradBuffer.slice(0, net.layout.size), dInput: b.dInput.slice(), dH0: b.dH0.slice() };
}

// [V, B, T, lengths]: the second has more token ids than rows (T·B < V), where dW_ih's scatter cannot
// use the spent dz buffer for its transpose.
const SHAPES: Array<[number, number, number, number[]]> = [[7, 4, 6, [6, 2, 5, 1]], [40, 2, 3, [3, 2]]];

function checkEquivalence(label: string): void {
  for (const cell of CELLS) for (const [V, B, T, lens] of SHAPES) {
    for (const bidirectional of [false, true]) {
      for (const dropout of [false, true]) {
        it(`${label}: ${cell}${bidirectional ? ' bidirectional' : ''}${dropout ? ' with dropout' : ''}, V=${V}, T·B=${T * B}: tokens = one-hot`, () => {
          const H = 5;
          const opts: StackOptions = {
            cell, inputSize: V, hiddenSize: H, numLayers: 2, bidirectional, seed: 3,
            ...(dropout ? { dropout: 0.3, inputDropout: 0.2, recurrentDropout: 0.25 } : {}),
          };
          const net = new RecurrentStack(opts);
          const rng = new Rng(9);
          const lengths = Int32Array.from(lens);
          const tokens = new Int32Array(B * T);
          // Active positions take real ids; padded ones an id past the vocabulary (never read).
          for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) tokens[b * T + t] = t < lengths[b]! ? rng.int(V) : V + 5;
          const fo = (): ForwardOptions => ({ batch: B, steps: T, lengths, training: dropout, rng: new Rng(77) });
          const D = bidirectional ? 2 : 1;
          const R = Float32Array.from({ length: B * T * D * H }, () => rng.range(-1, 1));
          const S = Float32Array.from({ length: 2 * D * B * H }, () => rng.range(-1, 1));
          // The one-hot run needs the padded ids to be valid columns: zero them for it.
          const dense = tokens.map((v) => (v >= V ? 0 : v));
          const a = runBoth(net, tokens, fo, R, S, true);
          const e = runBoth(net, dense, fo, R, S, false);
          expectClose(a.output, e.output, { ...SUMS, name: 'output' });
          expectClose(a.hN, e.hN, { ...SUMS, name: 'hN' });
          if (e.cN) expectClose(a.cN!, e.cN, { ...SUMS, name: 'cN' });
          for (const entry of net.layout.entries) {
            expectClose(a.grads.subarray(entry.offset, entry.offset + entry.size), e.grads.subarray(entry.offset, entry.offset + entry.size),
              { ...SUMS, name: `grad ${entry.name}` });
          }
          expectClose(a.dH0, e.dH0, { ...SUMS, name: 'dH0' });
          expect(a.dInput.length).toBe(0); // token ids have no gradient
          expect(e.dInput.length).toBe(B * T * V);
        });
      }
    }
  }
}

describe('forwardTokens on the TypeScript kernels', () => {
  checkEquivalence('reference');
});

// `pnpm test` builds the WebAssembly module first; without it this file fails rather than skipping.
const wasmMemory: WasmMemory | null = createSharedMemory(64);
loadWasmKernels(wasmMemory);

describe('forwardTokens on the WebAssembly kernels (buffers in the arena)', () => {
  it('switches to wasm', () => {
    const k = loadWasmKernels(wasmMemory!);
    attachMemory(wasmMemory!);
    setKernels(k);
  });
  checkEquivalence('wasm');
  it('ran the gathers, scatters and cells in WebAssembly', () => {
    const k = loadWasmKernels(wasmMemory!);
    expect(k.calls.wasm).toBeGreaterThan(0);
    expect(k.calls.reference).toBe(0);
    setKernels(referenceKernels);
    detachMemory();
  });
});

describe('backward inputGrad and token checks', () => {
  it('inputGrad: false returns an empty dInput and the same parameter gradients', () => {
    const net = new RecurrentStack({ cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true, seed: 1 });
    const rng = new Rng(2);
    const B = 2, T = 3;
    const x = Float32Array.from({ length: B * T * 3 }, () => rng.range(-1, 1));
    const R = Float32Array.from({ length: B * T * 8 }, () => rng.range(-1, 1));
    net.zeroGrad();
    net.forward(x, { batch: B, steps: T });
    const full = net.backward({ dOutput: R });
    expect(full.dInput.length).toBe(B * T * 3);
    const g1 = net.gradBuffer.slice(0, net.layout.size);
    net.zeroGrad();
    net.forward(x, { batch: B, steps: T });
    const none = net.backward({ dOutput: R, inputGrad: false });
    expect(none.dInput.length).toBe(0);
    expect(net.gradBuffer.slice(0, net.layout.size)).toEqual(g1);
    expect(() => net.backward({ dOutput: R, inputGrad: 1 as unknown as boolean })).toThrow(/backward inputGrad must be a boolean, got 1/);
  });

  it('rejects bad token ids at active steps and a wrong count, naming the input', () => {
    const net = new RecurrentStack({ cell: 'rnn', inputSize: 4, hiddenSize: 3 });
    const opts = { batch: 2, steps: 2, lengths: [2, 1] };
    expect(() => net.forwardTokens([0, 4, 1, 9], opts)).toThrow(/forwardTokens tokens\[1\] = 4 is not a token id in 0\.\.3/);
    expect(() => net.forwardTokens([0, 1, 2.5, 0], opts)).toThrow(/tokens\[2\] = 2.5 is not a token id/);
    expect(() => net.forwardTokens([0, 1, 2], opts)).toThrow(/forwardTokens tokens has 3 values, expected batch\*steps = 2\*2 = 4/);
    expect(() => net.forwardTokens([0, 1, 2, -7], opts)).not.toThrow(); // position (1, 1) is padding
  });
});
