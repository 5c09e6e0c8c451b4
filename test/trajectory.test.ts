/**
 * PyTorch's `trajectory_*` goldens: forty steps of clip_grad_norm_(1.0) + Adam(lr 0.01) on
 * fixed batches, through weft's real training loop (LocalTrainer, the single-thread run of
 * train/step.ts that the pool also runs; the pool's 1- and 2-worker runs are checked in
 * workers-trajectory.test.ts). Every step's loss and pre-clip gradient norm, and the final
 * parameters, must follow PyTorch.
 */
import { it, expect } from 'vitest';
import { forEachKernelPath } from './helpers/kernel-paths.js';
import { LocalTrainer } from '@weft/core';
import { compareClose, expectAllClose, loadGolden } from './helpers/compare.js';
import { goldenModelConfig, stateDict, tokenDataset, taggerTrajectoryGoldens, trajectoryRows, values, type TrajectoryGolden } from './helpers/golden-model.js';

const cases = taggerTrajectoryGoldens();

forEachKernelPath('PyTorch training trajectories (40 steps, clipped Adam)', () => {
  it('finds the trajectory goldens', () => {
    expect(cases.length).toBeGreaterThanOrEqual(2);
  });
  for (const name of cases) {
    it(`${name}: every loss and gradient norm, and the final parameters`, () => {
      const g = loadGolden<TrajectoryGolden>(name);
      const data = tokenDataset(g.vocab, g.steps_per_sequence, g.batches);
      const trainer = new LocalTrainer({
        model: goldenModelConfig(g), optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1.0,
        batchSize: g.batch, shardSize: 1,
      });
      trainer.model.loadStateDict(stateDict(g.params_before));
      const losses: number[] = [];
      const norms: number[] = [];
      for (let k = 0; k < g.losses.length; k++) {
        const r = trainer.trainStep(data, trajectoryRows(g, k));
        losses.push(r.loss);
        norms.push(r.gradNorm);
      }
      const reports = [
        compareClose(losses, g.losses, { rtol: 1e-4, atol: 1e-6, name: 'losses' }),
        compareClose(norms, g.grad_norms_before_clip, { rtol: 1e-4, atol: 1e-6, name: 'grad_norms_before_clip' }),
      ];
      for (const [k, v] of Object.entries(g.params_after)) {
        reports.push(compareClose(trainer.model.parameters.get(k)!, values(v), { rtol: 1e-4, atol: 1e-6, name: `final ${k}` }));
      }
      expectAllClose(reports);
    });
  }
});
