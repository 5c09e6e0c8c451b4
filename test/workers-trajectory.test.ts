/**
 * The trajectory goldens through the pool: PyTorch's forty clipped-Adam steps reproduced by the
 * Trainer with 1 and with 2 worker threads (each batch cut into one shard per sequence, so the
 * two workers really split every batch). Both must follow PyTorch, and each other bit for bit.
 */
import { describe, it, expect } from 'vitest';
import { Trainer } from '@weft/workers';
import { modelLayout } from '@weft/core';
import { compareClose, expectAllClose, loadGolden } from './helpers/compare.js';
import { goldenModelConfig, stateDict, tokenDataset, taggerTrajectoryGoldens, trajectoryRows, values, type TrajectoryGolden } from './helpers/golden-model.js';

describe('PyTorch training trajectories through the worker pool', () => {
  for (const name of taggerTrajectoryGoldens()) {
    it(`${name}: 1 and 2 workers follow PyTorch and each other`, async () => {
      const g = loadGolden<TrajectoryGolden>(name);
      const data = tokenDataset(g.vocab, g.steps_per_sequence, g.batches);
      const finals: Float32Array[] = [];
      for (const workers of [1, 2]) {
        const t = new Trainer({
          model: goldenModelConfig(g), optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1.0,
          batchSize: g.batch, shardSize: 1, workers,
        });
        try {
          await t.start();
          const init = new Float32Array(t.getParams().length);
          const sd = stateDict(g.params_before);
          for (const e of modelLayout(goldenModelConfig(g)).entries) init.set(sd.get(e.name)!, e.offset);
          const s = t.getState();
          t.setState({ ...s, params: init });
          const losses: number[] = [];
          const norms: number[] = [];
          for (let k = 0; k < g.losses.length; k++) {
            const r = await t.trainStep(data, trajectoryRows(g, k));
            losses.push(r.loss);
            norms.push(r.gradNorm);
          }
          const reports = [
            compareClose(losses, g.losses, { rtol: 1e-4, atol: 1e-6, name: `losses (${workers} workers)` }),
            compareClose(norms, g.grad_norms_before_clip, { rtol: 1e-4, atol: 1e-6, name: `grad norms (${workers} workers)` }),
          ];
          for (const [k, v] of Object.entries(g.params_after)) {
            reports.push(compareClose(t.parameters.get(k)!, values(v), { rtol: 1e-4, atol: 1e-6, name: `final ${k} (${workers} workers)` }));
          }
          expectAllClose(reports);
          finals.push(t.getParams());
        } finally {
          await t.close();
        }
      }
      expect(Buffer.from(finals[1]!.buffer, finals[1]!.byteOffset, finals[1]!.byteLength)
        .equals(Buffer.from(finals[0]!.buffer, finals[0]!.byteOffset, finals[0]!.byteLength))).toBe(true);
    });
  }
});
