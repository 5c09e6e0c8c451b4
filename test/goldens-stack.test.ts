/**
 * The recurrent stack against PyTorch (float64; test/goldens/generate.py) on every stack case of the goldens
 * (rnn_*, lstm_*, gru_*): parameters loaded by name, forward compared on y, h_n, c_n; backward
 * with dL/dy = R, dL/dh_n = S, dL/dc_n = U compared on every parameter gradient by name and on
 * dL/dx. The stack computes in float32; every case runs on both kernel paths.
 */
import { expect, it } from 'vitest';
import { RecurrentStack, type CellKind } from '@weft/core';
import { forEachKernelPath } from './helpers/kernel-paths.js';
import { compareClose, expectAllClose, listGoldens, loadGolden, type CloseReport } from './helpers/compare.js';

interface Tensor { shape: number[]; value: number[] }
interface StackGolden {
  kind: CellKind;
  nonlinearity: 'tanh' | 'relu' | null;
  input_size: number;
  hidden_size: number;
  num_layers: number;
  bidirectional: boolean;
  batch: number;
  steps: number;
  layout: string;
  params: Record<string, Tensor>;
  x: Tensor;
  y: Tensor;
  h_n: Tensor;
  c_n?: Tensor;
  R: number[];
  S: number[];
  U?: number[];
  loss: number;
  grads: Record<string, number[]>;
  grad_x: number[];
}

const VALUES = { rtol: 1e-5, atol: 1e-6 };
const GRADS = { rtol: 1e-4, atol: 1e-6 };

const cases = listGoldens('rnn_', 'lstm_', 'gru_');

/** Load one case by name, run forward and backward, compare every tensor by name. */
function checkCase(name: string): void {
  const g = loadGolden<StackGolden>(name);
  expect(g.layout).toBe('batch_first');
  const net = new RecurrentStack({
    cell: g.kind, inputSize: g.input_size, hiddenSize: g.hidden_size, numLayers: g.num_layers,
    bidirectional: g.bidirectional, nonlinearity: g.nonlinearity ?? 'tanh',
  });
  const sd: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(g.params)) sd[k] = t.value;
  net.loadStateDict(sd);

  const fwd = net.forward(Float32Array.from(g.x.value), { batch: g.batch, steps: g.steps });
  const reports: CloseReport[] = [
    compareClose(fwd.output, g.y.value, { ...VALUES, name: 'y' }),
    compareClose(fwd.hN, g.h_n.value, { ...VALUES, name: 'h_n' }),
  ];
  if (g.c_n) reports.push(compareClose(fwd.cN ?? [], g.c_n.value, { ...VALUES, name: 'c_n' }));
  // The loss as PyTorch defines it, from our outputs (float64 sums).
  let loss = 0;
  for (let i = 0; i < g.R.length; i++) loss += fwd.output[i]! * g.R[i]!;
  for (let i = 0; i < g.S.length; i++) loss += fwd.hN[i]! * g.S[i]!;
  if (g.U) for (let i = 0; i < g.U.length; i++) loss += fwd.cN![i]! * g.U[i]!;
  reports.push(compareClose([loss], [g.loss], { ...VALUES, name: 'loss' }));

  net.zeroGrad();
  const back = net.backward({ dOutput: g.R, dHN: g.S, ...(g.U ? { dCN: g.U } : {}) });
  expect(Object.keys(g.grads).sort()).toEqual(net.layout.names().sort());
  for (const [k, v] of Object.entries(g.grads)) reports.push(compareClose(net.grads.get(k)!, v, { ...GRADS, name: `grad ${k}` }));
  reports.push(compareClose(back.dInput, g.grad_x, { ...GRADS, name: 'grad_x' }));
  expectAllClose(reports);
}

forEachKernelPath('RecurrentStack matches PyTorch goldens', () => {
  it('finds the stack cases of every cell kind', () => {
    for (const k of ['rnn_', 'lstm_', 'gru_']) expect(cases.some((c) => c.startsWith(k)), k).toBe(true);
  });
  for (const name of cases) it(name, () => checkCase(name));
});
