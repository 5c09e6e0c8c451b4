// The highway layer of examples/highway: a layer of one's own, loaded from its module. Its
// backward against finite differences (checkGradients), its options strict, and a shortened
// run of run.mjs: a spec with it trained by the Trainer with 2 workers (which import the module
// themselves) learns, bit-identically to LocalTrainer on the same batches.
import { describe, expect, it } from 'vitest';
import { LocalTrainer, checkGradients, loadLayerModules, planModel } from '@weft/core';
import { SPEC, countingDataset, runHighway } from './run.mjs';

describe('a layer of one\'s own: highway', () => {
  it('its module registers the layer type; a spec naming a module not loaded, or a module without `layers`, is refused clearly', async () => {
    expect(() => planModel({ ...SPEC, modules: ['/nowhere/layers.mjs'] })).toThrow(
      "model.modules[0]: 'file:///nowhere/layers.mjs' is not loaded in this thread; `await loadLayerModules(spec)` before building the model",
    );
    await expect(loadLayerModules(['data:text/javascript,export const x = 1'])).rejects.toThrow('a layer module must export `layers`, an array of layer definitions; it exports x');
    await expect(loadLayerModules(['layers.mjs'])).rejects.toThrow("'layers.mjs' is neither a URL (file:///...) nor an absolute path");
    await loadLayerModules(SPEC);
    expect(planModel(SPEC).layout.names()).toContain('highway.gate.bias');
  });

  it('its backward matches finite differences, per step and per row, tanh and relu', async () => {
    await loadLayerModules(SPEC);
    for (const [layer, input] of [
      [{ type: 'highway' }, { kind: 'sequence', size: 4 }],
      [{ type: 'highway', activation: 'relu', gateBias: 0.5 }, { kind: 'rows', size: 5 }],
    ] as const) {
      const r = checkGradients(layer, { input, eps: 1e-3, atol: 1e-3 });
      expect(r.ok, r.message).toBe(true);
    }
    const whole = checkGradients(SPEC, { samples: 6 });
    expect(whole.ok, whole.message).toBe(true);
  });

  it('its options are strict', async () => {
    await loadLayerModules(SPEC);
    const bad = { ...SPEC, layers: SPEC.layers.map((l) => (l.type === 'highway' ? { ...l, gatebias: -2 } : l)) };
    expect(() => planModel(bad)).toThrow(expect.objectContaining({ option: 'model.layers[2].gatebias', suggestion: 'gateBias' }));
  });

  it('trains through the Trainer with 2 workers, bit-identical to LocalTrainer', async () => {
    const epochs = 4;
    const r = await runHighway({ workers: 2, epochs, kernels: 'reference' });
    expect(r.validAccuracy).toBeGreaterThan(r.majority + 0.1);
    const local = new LocalTrainer({ model: SPEC, optimizer: { name: 'adam', lr: 0.01 }, batchSize: 32, clipNorm: 1, seed: 1 });
    local.fit(countingDataset(2000, 1), { epochs });
    const a = Buffer.from(r.params.buffer, r.params.byteOffset, r.params.byteLength);
    const p = local.runner.params;
    expect(a.equals(Buffer.from(p.buffer, p.byteOffset, p.byteLength))).toBe(true);
  });
});
