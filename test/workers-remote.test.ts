/**
 * RemoteTrainer: the whole trainer on another thread behind comlink. Same numbers as
 * LocalTrainer, progress through proxied callbacks and events, abort, errors, close.
 */
import { describe, it, expect } from 'vitest';
import { LocalTrainer, OptionError, type FitCheckpoint, type TrainStepResult } from '@weft/core';
import { createRemoteTrainer, type EpochEvent, type StepEvent } from '@weft/workers';
import { bilstmConfig, firstDifference, tokenData } from './helpers/workers-data.js';

const data = tokenData(24);
const cfg = bilstmConfig();

describe('RemoteTrainer', () => {
  it('fits off the calling thread with progress callbacks, matching LocalTrainer', async () => {
    const local = new LocalTrainer(cfg);
    const localSteps: TrainStepResult[] = [];
    const localLoss = local.fit(data, { epochs: 2, onStep: (r) => { localSteps.push(r); } }).loss;

    const t = await createRemoteTrainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const steps: StepEvent[] = [];
      const emitted: StepEvent[] = [];
      const epochs: EpochEvent[] = [];
      t.on('step', (e) => emitted.push(e));
      const r = await t.fit(data, { epochs: 2, validation: data, onStep: (e) => steps.push(e), onEpoch: (e) => epochs.push(e) });
      expect(r.loss).toBe(localLoss);
      expect(r.step).toBe(6);
      // Events are sent without waiting; by the time fit's result arrives they have all arrived
      // too (one channel, in order).
      expect(steps.map((e) => e.loss)).toEqual(localSteps.map((e) => e.loss));
      expect(emitted).toEqual(steps);
      expect(epochs.map((e) => e.validation)).toEqual([expect.anything(), local.evaluate(data)]);
      expect(await t.getStep()).toBe(6);
      const s = await t.getState();
      expect(firstDifference(s.params, local.runner.params)).toBe(-1);
      expect(await t.evaluate(data)).toEqual(local.evaluate(data));
      // The outputs of the evaluation's pass cross the thread too: predict's bits.
      const withOutputs = await t.evaluate(data, { outputs: true });
      expect(withOutputs).toEqual(local.evaluate(data, { outputs: true }));
      expect(firstDifference(withOutputs.outputs!, (await t.predict(data)).outputs)).toBe(-1);
      const p = await t.parameters();
      expect(firstDifference(p.get('head.bias')!, local.model.parameters.get('head.bias')!)).toBe(-1);
      expect((await t.info()).workers).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('checkpoints reach checkpoint.save on the calling thread, waited for, with the bits of LocalTrainer\'s', async () => {
    const opts = { epochs: 2, validation: data, reduceOnPlateau: { patience: 0, minDelta: 1 } };
    const local: FitCheckpoint[] = [];
    new LocalTrainer(cfg).fit(data, { ...opts, checkpoint: { every: 2, best: true, save: (k) => { local.push(k); } } });
    const t = await createRemoteTrainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const saved: FitCheckpoint[] = [];
      const validated: number[] = [];
      const r = await t.fit(data, {
        ...opts, onValidation: (v) => { validated.push(v.step); },
        checkpoint: { every: 2, best: true, save: async (k) => { await new Promise((ok) => setTimeout(ok, 20)); saved.push(k); } },
      });
      expect(saved.map((k) => [k.reason, k.state.step])).toEqual(local.map((k) => [k.reason, k.state.step]));
      expect(saved.map((k) => k.loop)).toEqual(local.map((k) => k.loop));
      saved.forEach((k, i) => expect(firstDifference(k.state.params, local[i]!.state.params)).toBe(-1));
      expect(validated).toEqual([3, 6]);
      expect(r.loop.plateau.scale).toBeLessThan(1);
    } finally {
      await t.close();
    }
  });

  it('aborts through an AbortSignal and stays usable', async () => {
    const t = await createRemoteTrainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const ac = new AbortController();
      const err = await t.fit(data, { epochs: 100, signal: ac.signal, onStep: (e) => { if (e.step === 1) ac.abort(); } })
        .then(() => null, (e: Error) => e);
      expect(err?.name).toBe('AbortError');
      const step = await t.getStep();
      expect(step).toBeGreaterThanOrEqual(2);
      expect(step).toBeLessThan(300);
      const s = await t.getState();
      expect(s.step).toBe(step);
      expect(s.params.every(Number.isFinite)).toBe(true);
      const e = await t.trainStep(data, [0, 1, 2]);
      expect(e.step).toBe(step);
    } finally {
      await t.close();
    }
  });

  it('validates options on the calling thread and fails cleanly after close', async () => {
    await expect(createRemoteTrainer({ ...cfg, workers: 0 })).rejects.toThrow(OptionError);
    await expect(createRemoteTrainer({ ...cfg, workers: 0 })).rejects.toThrow('workers must be a positive integer, got 0');
    await expect(createRemoteTrainer({ ...cfg, wokers: 1 } as never)).rejects.toThrow(expect.objectContaining({
      message: 'wokers is not an option of the trainer; did you mean workers?', suggestion: 'workers',
    }));
    const t = await createRemoteTrainer({ ...cfg, workers: 1 });
    // The OptionError itself, thrown on this thread, not a copy sent back from the trainer's thread.
    await expect(t.fit(data, { epochs: 1, onstep: () => {} } as never)).rejects.toThrow(OptionError);
    await expect(t.fit(data, { epochs: 1, onstep: () => {} } as never)).rejects.toThrow('onstep is not an option of fit; did you mean onStep?');
    await expect(t.evaluate(data, { batchSise: 4 } as never)).rejects.toThrow(OptionError);
    await t.close();
    await expect(t.getStep()).rejects.toThrow('the remote trainer is closed');
  });
});
