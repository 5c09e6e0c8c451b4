/**
 * forward({ timeMajor: true }) against the batch-first forward (the oracle): the same output,
 * reordered [steps, batch, W]; and backward with a time-major dOutput gives the same gradients
 * as with the batch-first one. Every merge, one and two directions, a padded batch.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { RecurrentStack } from './stack.js';
import type { Merge } from './config.js';

/** [B, T, W] → [T, B, W]. */
function toTimeMajor(a: ArrayLike<number>, B: number, T: number, W: number): Float32Array {
  const r = new Float32Array(B * T * W);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let j = 0; j < W; j++) r[(t * B + b) * W + j] = a[(b * T + t) * W + j]!;
  return r;
}

describe('time-major output and dOutput', () => {
  const cases: Array<[boolean, Merge]> = [[false, 'concat'], [true, 'concat'], [true, 'sum'], [true, 'mean']];
  for (const [bidirectional, merge] of cases) {
    it(`${bidirectional ? 'bidirectional' : 'one direction'}, merge ${merge}: the same values, reordered`, () => {
      const net = new RecurrentStack({ cell: 'gru', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional, merge, seed: 2 });
      const rng = new Rng(4);
      const B = 3, T = 5, O = net.outputSize;
      const lengths = [5, 2, 4];
      const x = Float32Array.from({ length: B * T * 3 }, () => rng.range(-1, 1));
      const R = Float32Array.from({ length: B * T * O }, () => rng.range(-1, 1));
      net.zeroGrad();
      const bf = net.forward(x, { batch: B, steps: T, lengths }).output.slice();
      const back1 = net.backward({ dOutput: R });
      const dx1 = back1.dInput.slice();
      const g1 = net.gradBuffer.slice(0, net.layout.size);
      net.zeroGrad();
      const tm = net.forward(x, { batch: B, steps: T, lengths, timeMajor: true }).output.slice();
      expect(tm).toEqual(toTimeMajor(bf, B, T, O));
      const back2 = net.backward({ dOutput: toTimeMajor(R, B, T, O) });
      expect(back2.dInput).toEqual(dx1); // dInput stays batch-first
      expect(net.gradBuffer.slice(0, net.layout.size)).toEqual(g1);
    });
  }

  it('rejects a non-boolean timeMajor', () => {
    const net = new RecurrentStack({ cell: 'rnn', inputSize: 1, hiddenSize: 2 });
    expect(() => net.forward([0, 0], { batch: 1, steps: 2, timeMajor: 'yes' as unknown as boolean }))
      .toThrow(/forward options.timeMajor must be a boolean, got "yes"/);
  });
});
