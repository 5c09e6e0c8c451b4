import { describe, it, expect } from 'vitest';
import { planModel } from '../model/spec.js';
import { WORKLOADS, workloadFlops, workloadShape } from './workloads.js';

// The workloads table and its FLOP count exist once, here in core; weft's bench, the combined
// bench's TensorFlow.js and PyTorch runners all read workloadShape. Oracles: (1) hand derivations
// of WORKLOADS.md's formula "per layer and direction, per token, 6*G*H*(I+H); plus 6*I*O for the
// head", written out term by term here; (2) the measured anchor rows of WORKLOADS.md, whose
// tokens/s and GFLOP/s columns were computed with that formula by someone else, so
// tokens/s * flopsPerToken must land on their GFLOP/s; (3) WORKLOADS.md's table of shapes.

describe('workloadShape follows WORKLOADS.md', () => {
  it('bilstm: 2 layers x 2 directions of LSTM H=128 over one-hot 64, head 256->64, T=64, B=64', () => {
    const layer0 = 2 * 6 * 4 * 128 * (64 + 128); // both directions read the one-hot input
    const layer1 = 2 * 6 * 4 * 128 * (256 + 128); // both directions read [fwd;bwd] of layer 0
    const head = 6 * 256 * 64;
    expect(workloadShape('bilstm')).toEqual({
      name: 'bilstm', cell: 'lstm', layers: 2, hidden: 128, bidirectional: true, input: 64, encoding: 'onehot',
      output: 64, loss: 'ce', T: 64, B: 64, flopsPerToken: layer0 + layer1 + head, flopsPerStep: (layer0 + layer1 + head) * 64 * 64,
    });
    expect(workloadFlops('bilstm-b256')).toBe((layer0 + layer1 + head) * 64 * 256);
  });

  it('charlm: 2 layers of LSTM H=256 over one-hot 96, head 256->96, T=100, B=32', () => {
    const expected = 6 * 4 * 256 * (96 + 256) + 6 * 4 * 256 * (256 + 256) + 6 * 256 * 96;
    expect(workloadShape('charlm')).toMatchObject({ cell: 'lstm', layers: 2, hidden: 256, bidirectional: false, input: 96, output: 96, loss: 'ce', T: 100, B: 32, flopsPerToken: expected });
    expect(workloadFlops('charlm-b128')).toBe(expected * 100 * 128);
  });

  it('rnn-small: 1 tanh RNN layer H=32 over a scalar, head 32->1, MSE, T=50, B=256', () => {
    expect(workloadShape('rnn-small')).toMatchObject({
      cell: 'rnn', layers: 1, hidden: 32, bidirectional: false, input: 1, encoding: 'dense', output: 1, loss: 'mse', T: 50, B: 256,
      flopsPerToken: 6 * 1 * 32 * (1 + 32) + 6 * 32 * 1,
    });
  });

  it('describes the model weft trains: the layout of the table\'s model config has the parameters of its shape', () => {
    // PyTorch's count for nn.LSTM/nn.RNN (both biases) + nn.Linear, from the shape's fields alone.
    for (const name of Object.keys(WORKLOADS)) {
      const s = workloadShape(name);
      const G = { rnn: 1, gru: 3, lstm: 4 }[s.cell];
      const D = s.bidirectional ? 2 : 1;
      let params = 0;
      for (let l = 0; l < s.layers; l++) params += D * (G * s.hidden * ((l === 0 ? s.input : D * s.hidden) + s.hidden) + 2 * G * s.hidden);
      params += D * s.hidden * s.output + s.output;
      expect(planModel(WORKLOADS[name as keyof typeof WORKLOADS].model).layout.size, name).toBe(params);
    }
  });

  it('refuses an unknown workload, naming the valid ones', () => {
    expect(() => workloadShape('bilstn')).toThrow(/bilstm, charlm, rnn-small/);
  });

  // Anchor rows: [workload, tokens/s, GFLOP/s as printed, its last digit]. Allowed: one unit of
  // the last digit (the table's tokens/s and GFLOP/s were rounded separately: rnn-small gives 0.415).
  const anchors: Array<[string, number, number, number]> = [
    ['bilstm', 286, 1.04, 0.01], // TF.js wasm
    ['charlm', 200, 1.09, 0.01],
    ['rnn-small', 63_567, 0.42, 0.01],
    ['bilstm', 16_210, 59, 1], // PyTorch 1 thread
    ['charlm', 15_183, 83, 1],
    ['rnn-small', 2_478_111, 16, 1],
    ['bilstm-b256', 20_444, 74, 1],
    ['charlm-b128', 80_361, 438, 1],
  ];
  for (const [name, tps, printed, roundedTo] of anchors) {
    it(`reproduces the anchor ${name} at ${tps} tokens/s = ${printed} GFLOP/s`, () => {
      expect(Math.abs((workloadShape(name).flopsPerToken * tps) / 1e9 - printed)).toBeLessThanOrEqual(roundedTo);
    });
  }
});
