import { describe, it, expect } from 'vitest';
import { flopsPerToken, flopsPerStep, gflops } from './flops.mjs';
import { WORKLOADS } from './workloads.mjs';

// Oracles: (1) hand derivations of WORKLOADS.md's formula "per layer and direction, per token,
// 6*G*H*(I+H); plus 6*I*O for the head", written out term by term here, not taken from flops.mjs;
// (2) the measured anchor rows of WORKLOADS.md, whose tokens/s and GFLOP/s columns were computed
// with that formula by someone else, so tokens/s * flopsPerToken must land on their GFLOP/s.

describe('flopsPerToken follows WORKLOADS.md', () => {
  it('bilstm: 2 layers x 2 directions of LSTM H=128 over one-hot 64, head 256->64', () => {
    const layer0 = 2 * 6 * 4 * 128 * (64 + 128); // both directions read the one-hot input
    const layer1 = 2 * 6 * 4 * 128 * (256 + 128); // both directions read [fwd;bwd] of layer 0
    const head = 6 * 256 * 64;
    expect(flopsPerToken(WORKLOADS.bilstm)).toBe(layer0 + layer1 + head);
    expect(flopsPerStep('bilstm')).toBe((layer0 + layer1 + head) * 64 * 64);
    expect(flopsPerStep('bilstm-b256')).toBe((layer0 + layer1 + head) * 64 * 256);
  });

  it('charlm: 2 layers of LSTM H=256 over one-hot 96, head 256->96', () => {
    const expected = 6 * 4 * 256 * (96 + 256) + 6 * 4 * 256 * (256 + 256) + 6 * 256 * 96;
    expect(flopsPerToken(WORKLOADS.charlm)).toBe(expected);
    expect(flopsPerStep('charlm-b128')).toBe(expected * 100 * 128);
  });

  it('rnn-small: 1 tanh RNN layer H=32 over a scalar, head 32->1', () => {
    expect(flopsPerToken(WORKLOADS['rnn-small'])).toBe(6 * 1 * 32 * (1 + 32) + 6 * 32 * 1);
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
      expect(Math.abs(gflops(name, tps) - printed)).toBeLessThanOrEqual(roundedTo);
    });
  }
});
