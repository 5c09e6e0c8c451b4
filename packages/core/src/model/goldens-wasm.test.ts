/**
 * The PyTorch model and trajectory goldens (test/goldens-model.test.ts, test/trajectory.test.ts
 * run them on the TypeScript kernels) again on the WebAssembly kernels, through the real
 * training step (LocalTrainer) with the trainer's arena, the model and the stack's scratch all
 * in the kernels' memory: products, gathers, cell steps and bias sums must then all run in
 * WebAssembly, and the results must still follow PyTorch.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalTrainer } from '../train/local.js';
import { referenceKernels, setKernels } from '../kernels/index.js';
import { attachMemory, createSharedMemory, detachMemory } from '../kernels/memory.js';
import { loadWasmKernels, type WasmKernels } from '../kernels/wasm.js';
import { compareClose, expectAllClose, listGoldens, loadGolden } from '../../../../test/helpers/compare.js';
import { goldenModelConfig, stateDict, tokenDataset, values, type GoldenModelCase } from '../../../../test/helpers/golden-model.js';

interface ModelGolden extends GoldenModelCase {
  steps: number;
  inputs: number[];
  targets: number[];
  loss: number;
  grads: Record<string, number[] | { value: number[] }>;
}

interface TrajectoryGolden extends GoldenModelCase {
  steps_per_sequence: number;
  batches: { inputs: number[]; targets: number[] }[];
  losses: number[];
  grad_norms_before_clip: number[];
}

let wasm: WasmKernels | null = null;
try {
  wasm = loadWasmKernels(createSharedMemory(64));
} catch {
  wasm = null; // not built: the reference runs in test/ still stand
}

describe.skipIf(!wasm)('PyTorch goldens on the WebAssembly kernels', () => {
  beforeAll(() => {
    attachMemory(wasm!.memory);
    setKernels(wasm!);
  });
  afterAll(() => {
    setKernels(referenceKernels);
    detachMemory();
  });

  for (const name of listGoldens('model_')) {
    for (const shardSize of [0, 1]) {
      it(`${name}: loss, gradients and Adam update${shardSize ? ' (one sequence per shard)' : ''}`, () => {
        const g = loadGolden<ModelGolden>(name);
        const data = tokenDataset(g.vocab, g.steps, [{ inputs: g.inputs, targets: g.targets }]);
        const trainer = new LocalTrainer({
          model: goldenModelConfig(g), optimizer: { name: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
          batchSize: g.batch, shardSize: shardSize || g.batch,
        });
        trainer.model.loadStateDict(stateDict(g.params_before));
        const r = trainer.trainStep(data, Int32Array.from({ length: g.batch }, (_, i) => i));
        const reports = [compareClose([r.loss], [g.loss], { rtol: 1e-5, atol: 1e-7, name: 'loss' })];
        const layout = trainer.model.layout;
        for (const [k, v] of Object.entries(g.grads)) {
          const e = layout.get(k);
          reports.push(compareClose(trainer.runner.grad.subarray(e.offset, e.offset + e.size), values(v), { rtol: 1e-4, atol: 1e-6, name: `grad ${k}` }));
        }
        for (const [k, v] of Object.entries(g.params_after)) {
          reports.push(compareClose(trainer.model.parameters.get(k)!, values(v), { rtol: 1e-4, atol: 1e-6, name: `after Adam ${k}` }));
        }
        expect(reports.length).toBe(1 + 2 * layout.entries.length);
        expectAllClose(reports);
      });
    }
  }

  for (const name of listGoldens('trajectory_')) {
    it(`${name}: every loss and gradient norm of 40 clipped Adam steps, and the final parameters`, () => {
      const g = loadGolden<TrajectoryGolden>(name);
      const data = tokenDataset(g.vocab, g.steps_per_sequence, g.batches);
      const trainer = new LocalTrainer({
        model: goldenModelConfig(g), optimizer: { name: 'adam', lr: 0.01 }, clipNorm: 1.0, batchSize: g.batch, shardSize: 1,
      });
      trainer.model.loadStateDict(stateDict(g.params_before));
      const losses: number[] = [];
      const norms: number[] = [];
      for (let k = 0; k < g.losses.length; k++) {
        const b = k % g.batches.length;
        const r = trainer.trainStep(data, Int32Array.from({ length: g.batch }, (_, i) => b * g.batch + i));
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

  it('ran everything in WebAssembly (no operand outside the arena)', () => {
    expect(wasm!.calls.wasm).toBeGreaterThan(0);
    expect(wasm!.calls.reference).toBe(0);
  });
});
