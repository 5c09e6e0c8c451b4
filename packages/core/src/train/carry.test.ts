import { describe, it, expect } from 'vitest';
import { LocalTrainer } from './local.js';
import { SequenceModel, gatherBatch } from '../model/model.js';
import type { SequenceDataset } from '../data/dataset.js';
import { Rng } from '../rng.js';

/** B streams of 2L tokens, cut into two windows of L: rows w*B + b (the CLI's lm layout). */
function streams(B: number, L: number, V: number, seed: number) {
  const rng = new Rng(seed);
  const full = Int32Array.from({ length: B * (2 * L + 1) }, () => rng.int(V));
  const win = (w: number, shift: number) => {
    const out = new Int32Array(B * L);
    for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) out[b * L + t] = full[b * (2 * L + 1) + w * L + t + shift]!;
    return out;
  };
  const windows: SequenceDataset = {
    inputKind: 'tokens', inputSize: V, targetKind: 'class-per-step', outputSize: V, count: 2 * B, maxSteps: L,
    lengths: new Int32Array(2 * B).fill(L), inputs: Int32Array.from([...win(0, 0), ...win(1, 0)]), targets: Int32Array.from([...win(0, 1), ...win(1, 1)]),
  };
  const whole: SequenceDataset = {
    inputKind: 'tokens', inputSize: V, targetKind: 'class-per-step', outputSize: V, count: B, maxSteps: 2 * L,
    lengths: new Int32Array(B).fill(2 * L),
    inputs: Int32Array.from({ length: B * 2 * L }, (_, i) => full[Math.floor(i / (2 * L)) * (2 * L + 1) + (i % (2 * L))]!),
    targets: Int32Array.from({ length: B * 2 * L }, (_, i) => full[Math.floor(i / (2 * L)) * (2 * L + 1) + (i % (2 * L)) + 1]!),
  };
  return { windows, whole };
}

describe('carried state (truncated BPTT over streams)', () => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    it(`${cell}: two windows with carried state see the same loss as one pass over the whole stream`, () => {
      const B = 4, L = 5, V = 6;
      const { windows, whole } = streams(B, L, V, 3);
      const model = { cell, hiddenSize: 7, numLayers: 2, input: { kind: 'tokens' as const, vocabSize: V }, task: 'class-per-step' as const, outputSize: V, seed: 5 };
      // An update far below float32 resolution leaves the weights bit-identical between windows.
      const t = new LocalTrainer({ model, optimizer: { name: 'sgd', lr: 1e-30 }, batchSize: B, shardSize: 2, carryState: true });
      const before = t.model.paramBuffer.slice();
      const r0 = t.trainStep(windows, [0, 1, 2, 3], true);
      const r1 = t.trainStep(windows, [4, 5, 6, 7], false);
      expect(t.model.paramBuffer).toEqual(before);
      const ref = new SequenceModel(model);
      const full = ref.evaluate(gatherBatch(whole, [0, 1, 2, 3]));
      expect(r0.loss * r0.count + r1.loss * r1.count).toBeCloseTo(full.sum, 3);
      // Without the carry, the second window starts from zero and the total differs.
      const t2 = new LocalTrainer({ model, optimizer: { name: 'sgd', lr: 1e-30 }, batchSize: B, shardSize: 2, carryState: true });
      t2.trainStep(windows, [0, 1, 2, 3], true);
      const r1reset = t2.trainStep(windows, [4, 5, 6, 7], true);
      expect(Math.abs(r0.loss * r0.count + r1reset.loss * r1reset.count - full.sum)).toBeGreaterThan(1e-3);
    });
  }
});
