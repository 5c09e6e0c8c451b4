/**
 * Running a RecurrentStack for tests: one forward + backward with the loss
 * sum(y*R) + sum(hN*S) (+ sum(cN*U)), everything copied out of the stack's scratch.
 */
import { Rng, type RecurrentStack, type ForwardOptions } from '@weft/core';
import { dot, sampleIndices } from './gradcheck.js';

export interface StackRun {
  output: Float32Array;
  hN: Float32Array;
  cN?: Float32Array;
  grads: Float32Array;
  dInput: Float32Array;
  dH0: Float32Array;
  dC0?: Float32Array;
}

/** Forward options, or a function giving fresh ones per call (a fresh Rng for fixed dropout masks). */
export type ForwardOpts = ForwardOptions | (() => ForwardOptions);

const resolve = (fo: ForwardOpts): ForwardOptions => (typeof fo === 'function' ? fo() : fo);

/** zeroGrad, forward, backward with dOutput = R, dHN = S, dCN = U (LSTM); copies of everything. */
export function runStack(
  net: RecurrentStack, x: Float32Array, fo: ForwardOpts, R: Float32Array, S: Float32Array, U?: Float32Array,
): StackRun {
  net.zeroGrad();
  const f = net.forward(x, resolve(fo));
  const out = { output: f.output.slice(), hN: f.hN.slice(), cN: f.cN?.slice() };
  const b = net.backward({ dOutput: R, dHN: S, ...(U && net.options.cell === 'lstm' ? { dCN: U } : {}) });
  return {
    ...out,
    grads: net.gradBuffer.slice(0, net.layout.size),
    dInput: b.dInput.slice(), dH0: b.dH0.slice(), dC0: b.dC0?.slice(),
  };
}

/** The loss of one forward, in float64. */
export function stackLoss(
  net: RecurrentStack, x: Float32Array, fo: ForwardOpts, R: Float32Array, S: Float32Array, U?: Float32Array,
): number {
  const f = net.forward(x, resolve(fo));
  return dot(f.output, R) + dot(f.hN, S) + (f.cN && U ? dot(f.cN, U) : 0);
}

/** `perTensor` random indices (into the flat buffer) of every parameter tensor. */
export function paramSample(net: RecurrentStack, rng: Rng, perTensor: number): number[] {
  const idx: number[] = [];
  for (const e of net.layout.entries) for (const i of sampleIndices(rng, e.size, perTensor)) idx.push(e.offset + i);
  return idx;
}
