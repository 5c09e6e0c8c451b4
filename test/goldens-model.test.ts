/**
 * PyTorch's `model_*` goldens: one-hot tokens → recurrent stack → linear head → mean softmax
 * cross-entropy, one Adam step. Run through weft's real training step (LocalTrainer), with one
 * shard and with several: the loss, every gradient by name and every parameter after the step
 * must match PyTorch, on both kernel paths.
 */
import { it, expect } from 'vitest';
import { forEachKernelPath } from './helpers/kernel-paths.js';
import { LocalTrainer, SequenceModel, gatherBatch } from '@weft/core';
import { compareClose, expectAllClose, loadGolden, listGoldens } from './helpers/compare.js';
import { goldenModelConfig, stateDict, tokenDataset, values, type ModelGolden } from './helpers/golden-model.js';

const cases = listGoldens('model_');

forEachKernelPath('PyTorch model goldens (one Adam step)', () => {
  it('finds the model goldens', () => {
    expect(cases.length).toBeGreaterThanOrEqual(2);
  });

  for (const name of cases) {
    for (const shardSize of [0, 1]) {
      it(`${name}: loss, gradients by name and Adam update${shardSize ? ' (one sequence per shard)' : ''}`, () => {
        const g = loadGolden<ModelGolden>(name);
        const data = tokenDataset(g.vocab, g.steps, [{ inputs: g.inputs, targets: g.targets }]);
        const trainer = new LocalTrainer({
          model: goldenModelConfig(g), optimizer: { name: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
          batchSize: g.batch, shardSize: shardSize || g.batch,
        });
        trainer.model.loadStateDict(stateDict(g.params_before));
        const rows = Int32Array.from({ length: g.batch }, (_, i) => i);
        const r = trainer.trainStep(data, rows);
        expectAllClose([compareClose([r.loss], [g.loss], { rtol: 1e-5, atol: 1e-7, name: 'loss' })]);
        // The reduced batch gradient (before the update) lives in the arena's grad region.
        const layout = trainer.model.layout;
        const grad = trainer.runner.grad;
        const reports = Object.entries(g.grads).map(([k, v]) => {
          const e = layout.get(k);
          return compareClose(grad.subarray(e.offset, e.offset + e.size), values(v), { rtol: 1e-4, atol: 1e-6, name: `grad ${k}` });
        });
        for (const [k, v] of Object.entries(g.params_after)) {
          reports.push(compareClose(trainer.model.parameters.get(k)!, values(v), { rtol: 1e-4, atol: 1e-6, name: `after Adam ${k}` }));
        }
        expect(reports.length).toBe(2 * layout.entries.length);
        expectAllClose(reports);
      });
    }
  }

  it('a standalone SequenceModel gives the same loss as the training step', () => {
    const g = loadGolden<ModelGolden>(cases[0]!);
    const model = new SequenceModel(goldenModelConfig(g));
    model.loadStateDict(stateDict(g.params_before));
    const data = tokenDataset(g.vocab, g.steps, [{ inputs: g.inputs, targets: g.targets }]);
    const r = model.evaluate(gatherBatch(data, Int32Array.from({ length: g.batch }, (_, i) => i)));
    expectAllClose([compareClose([r.sum / r.count], [g.loss], { rtol: 1e-5, atol: 1e-7, name: 'loss' })]);
  });
});
