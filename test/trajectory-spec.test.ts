/**
 * PyTorch's `trajectory_spec_*` goldens: twenty steps of clip_grad_norm_(1.0) + Adam(lr 0.01)
 * of a model spec (an attention-pooled BiGRU with class weights; a multi-label BCE model) on
 * four fixed batches with padded rows, through LocalTrainer on both kernel paths and through the
 * Trainer with 1, 2 and 3 workers. Every loss and pre-clip gradient norm and the final
 * parameters follow PyTorch; the pool's runs are bit-identical to each other and to LocalTrainer.
 */
import { describe, it, expect } from 'vitest';
import { Trainer } from '@weft/workers';
import { LocalTrainer, type TrainConfig } from '@weft/core';
import { forEachKernelPath } from './helpers/kernel-paths.js';
import { compareClose, expectAllClose, loadGolden, listGoldens, type CloseReport } from './helpers/compare.js';
import { specDataset, specStateDict, type SpecTrajectoryGolden } from './helpers/golden-spec.js';

const cases = listGoldens('trajectory_spec_');

function config(g: SpecTrajectoryGolden): TrainConfig {
  // One sequence per shard: the workers really split every batch, and a class-weighted mean's
  // denominator must be the whole batch's.
  return { model: g.spec, optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1.0, batchSize: g.batch, shardSize: 1 };
}

const rowsOf = (g: SpecTrajectoryGolden, k: number) => {
  const b = k % g.batches.length;
  return Int32Array.from({ length: g.batch }, (_, i) => b * g.batch + i);
};

function followsTorch(g: SpecTrajectoryGolden, losses: number[], norms: number[], params: Map<string, Float32Array>, who: string): CloseReport[] {
  const reports = [
    compareClose(losses, g.losses, { rtol: 1e-4, atol: 1e-6, name: `losses (${who})` }),
    compareClose(norms, g.grad_norms_before_clip, { rtol: 1e-4, atol: 1e-6, name: `grad norms (${who})` }),
  ];
  for (const [k, v] of specStateDict(g.params_after)) reports.push(compareClose(params.get(k)!, v, { rtol: 1e-4, atol: 1e-6, name: `final ${k} (${who})` }));
  return reports;
}

function localRun(g: SpecTrajectoryGolden): { losses: number[]; norms: number[]; params: Float32Array; named: Map<string, Float32Array> } {
  const data = specDataset(g.spec, g.steps, g.batches);
  const t = new LocalTrainer(config(g));
  t.model.loadStateDict(specStateDict(g.params_before));
  const losses: number[] = [];
  const norms: number[] = [];
  for (let k = 0; k < g.losses.length; k++) {
    const r = t.trainStep(data, rowsOf(g, k));
    losses.push(r.loss);
    norms.push(r.gradNorm);
  }
  return { losses, norms, params: t.runner.params.slice(), named: t.model.parameters };
}

forEachKernelPath('PyTorch spec trajectories through LocalTrainer (20 steps, clipped Adam)', () => {
  it('finds the spec trajectory goldens', () => {
    expect(cases.length).toBeGreaterThanOrEqual(2);
  });
  for (const name of cases) {
    it(`${name}: every loss and gradient norm, and the final parameters`, () => {
      const g = loadGolden<SpecTrajectoryGolden>(name);
      const r = localRun(g);
      expectAllClose(followsTorch(g, r.losses, r.norms, r.named, 'LocalTrainer'));
    });
  }
});

describe('PyTorch spec trajectories through the worker pool', () => {
  for (const name of cases) {
    it(`${name}: 1, 2 and 3 workers follow PyTorch, bit-identical to each other and to LocalTrainer`, async () => {
      const g = loadGolden<SpecTrajectoryGolden>(name);
      const data = specDataset(g.spec, g.steps, g.batches);
      const local = localRun(g); // reference kernels, as the workers below
      const sd = specStateDict(g.params_before);
      for (const workers of [1, 2, 3]) {
        const t = new Trainer({ ...config(g), workers, kernels: 'reference' });
        try {
          await t.start();
          const init = new Float32Array(t.getParams().length);
          for (const e of t.plan.layout.entries) init.set(sd.get(e.name)!, e.offset);
          t.setState({ ...t.getState(), params: init });
          const losses: number[] = [];
          const norms: number[] = [];
          for (let k = 0; k < g.losses.length; k++) {
            const r = await t.trainStep(data, rowsOf(g, k));
            losses.push(r.loss);
            norms.push(r.gradNorm);
          }
          expectAllClose(followsTorch(g, losses, norms, t.parameters, `${workers} workers`));
          expect(losses).toEqual(local.losses);
          expect(norms).toEqual(local.norms);
          const p = t.getParams();
          expect(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(local.params.buffer, local.params.byteOffset, local.params.byteLength))).toBe(true);
        } finally {
          await t.close();
        }
      }
    });
  }
});
