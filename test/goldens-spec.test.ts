/**
 * PyTorch's `spec_*` goldens: one model spec each (attention, max and mean pooling, layer norm,
 * BCE per sequence and per step, Huber, class weights, label smoothing, tied weights, a tanh
 * layer and a dropout of p 0), one batch with padded rows. Through weft's real training step
 * (LocalTrainer), with one shard and with one sequence per shard (so a weighted mean's
 * denominator must be the whole batch's): the loss, every gradient by name, and the model's
 * output, on both kernel paths.
 */
import { it, expect } from 'vitest';
import { forEachKernelPath } from './helpers/kernel-paths.js';
import { LocalTrainer, SequenceModel, gatherBatch, targetPerStep } from '@weft/core';
import { compareClose, expectAllClose, loadGolden, listGoldens } from './helpers/compare.js';
import { specDataset, specStateDict, type SpecGolden } from './helpers/golden-spec.js';

const cases = listGoldens('spec_');
const allRows = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

forEachKernelPath('PyTorch model-spec goldens (loss, gradients, output)', () => {
  it('finds the spec goldens', () => {
    expect(cases.length).toBeGreaterThanOrEqual(9);
  });

  for (const name of cases) {
    for (const shardSize of [0, 1]) {
      it(`${name}: loss and every gradient by name${shardSize ? ' (one sequence per shard)' : ''}`, () => {
        const g = loadGolden<SpecGolden>(name);
        const data = specDataset(g.spec, g.steps, [g]);
        const trainer = new LocalTrainer({ model: g.spec, optimizer: { name: 'sgd', lr: 1e-3 }, batchSize: g.batch, shardSize: shardSize || g.batch });
        trainer.model.loadStateDict(specStateDict(g.params));
        const r = trainer.trainStep(data, allRows(g.batch));
        const reports = [compareClose([r.loss], [g.loss], { rtol: 1e-5, atol: 1e-7, name: 'loss' })];
        const layout = trainer.model.layout;
        const grad = trainer.runner.grad;
        for (const [k, v] of Object.entries(g.grads)) {
          const e = layout.get(k);
          reports.push(compareClose(grad.subarray(e.offset, e.offset + e.size), v, { rtol: 1e-4, atol: 1e-6, name: `grad ${k}` }));
        }
        expect(Object.keys(g.grads).sort()).toEqual(layout.names().sort());
        expectAllClose(reports);
      });
    }

    it(`${name}: the output fed to the loss, and the evaluation loss`, () => {
      const g = loadGolden<SpecGolden>(name);
      const data = specDataset(g.spec, g.steps, [g]);
      const model = new SequenceModel(g.spec);
      model.loadStateDict(specStateDict(g.params));
      const batch = gatherBatch(data, allRows(g.batch));
      const out = new Float32Array(model.lastOutput.length || g.output.length);
      const r = model.evaluate(batch, out);
      const C = model.outputSize;
      // Per step: only the steps t < length feed the loss (the golden's padding rows are PyTorch's own business).
      const actual: number[] = [];
      const expected: number[] = [];
      for (let b = 0; b < g.batch; b++) {
        const n = targetPerStep(model.task) ? g.lengths[b]! : 1;
        const base = targetPerStep(model.task) ? b * g.steps : b;
        for (let t = 0; t < n; t++) {
          for (let c = 0; c < C; c++) {
            actual.push(out[(base + t) * C + c]!);
            expected.push(g.output[(base + t) * C + c]!);
          }
        }
      }
      expectAllClose([
        compareClose(actual, expected, { rtol: 1e-5, atol: 1e-6, name: 'output' }),
        compareClose([r.sum / r.weight], [g.loss], { rtol: 1e-5, atol: 1e-7, name: 'evaluation loss' }),
      ]);
    });
  }
});
