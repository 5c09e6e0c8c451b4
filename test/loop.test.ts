/**
 * The one training loop (@weft/core train/loop.ts) as LocalTrainer.fit and the multi-core
 * Trainer.fit run it: early stopping, reduce-on-plateau, the best checkpoint, abort, validation
 * every N steps, and resuming from a checkpoint taken mid-epoch. Each behaviour is checked
 * against what it must be (expected epochs and learning rates worked out here from the recorded
 * validations, weights compared with a run that was never stopped), and the pool with 2 workers
 * must give the bits of LocalTrainer.
 */
import { describe, it, expect } from 'vitest';
import { LocalTrainer, OptionError, type EpochEvent, type FitCheckpoint, type FitOptions, type FitResult, type TrainConfig, type TrainStepResult } from '@weft/core';
import { Trainer } from '@weft/workers';
import { bilstmConfig, firstDifference, tokenData } from './helpers/workers-data.js';

const data = tokenData(24); // 3 batches of 8 per epoch
const valData = tokenData(10, 99);
const cfg = bilstmConfig({ optimizer: { name: 'adam', lr: 0.03 } });

interface Run {
  result: FitResult;
  steps: TrainStepResult[];
  epochs: EpochEvent[];
  checkpoints: FitCheckpoint[];
  params: Float32Array;
}

/** `fit` on LocalTrainer, recording its steps, epochs and checkpoints. */
function runLocal(c: TrainConfig, opts: FitOptions, before?: (t: LocalTrainer) => void): Run {
  const t = new LocalTrainer(c);
  before?.(t);
  const steps: TrainStepResult[] = [];
  const epochs: EpochEvent[] = [];
  const checkpoints: FitCheckpoint[] = [];
  const result = t.fit(data, {
    ...opts,
    onStep: (r, i) => { steps.push(r); return opts.onStep?.(r, i); },
    onEpoch: (e) => { epochs.push(e); },
    ...(opts.checkpoint ? { checkpoint: { ...opts.checkpoint, save: (k: FitCheckpoint) => { checkpoints.push(k); } } } : {}),
  });
  return { result, steps, epochs, checkpoints, params: t.getState().params };
}

/** The same on the pool with 2 workers. */
async function runPool(c: TrainConfig, opts: FitOptions): Promise<Run> {
  const t = new Trainer({ ...c, workers: 2, kernels: 'reference' });
  try {
    const steps: TrainStepResult[] = [];
    const epochs: EpochEvent[] = [];
    const checkpoints: FitCheckpoint[] = [];
    t.on('epoch', (e) => epochs.push(e));
    const result = await t.fit(data, {
      ...opts,
      onStep: (r) => { steps.push(r); },
      // The pool waits for an asynchronous save.
      ...(opts.checkpoint ? { checkpoint: { ...opts.checkpoint, save: async (k: FitCheckpoint) => { await Promise.resolve(); checkpoints.push(k); } } } : {}),
    });
    return { result, steps, epochs, checkpoints, params: t.getState().params };
  } finally {
    await t.close();
  }
}

const strip = (r: TrainStepResult) => ({ step: r.step, loss: r.loss, gradNorm: r.gradNorm, lr: r.lr, skipped: r.skipped });
const noTime = (e: EpochEvent) => ({ ...e, timeMs: 0 });

/** The pool's run is LocalTrainer's, bit for bit: steps, epochs, result, weights and checkpoints. */
function expectSameRun(pool: Run, local: Run): void {
  expect(pool.steps.map(strip)).toEqual(local.steps.map(strip));
  expect(pool.epochs.map(noTime)).toEqual(local.epochs.map(noTime));
  expect({ ...pool.result, timeMs: 0, epochs: [] }).toEqual({ ...local.result, timeMs: 0, epochs: [] });
  expect(firstDifference(pool.params, local.params)).toBe(-1);
  expect(pool.checkpoints.map((k) => k.loop)).toEqual(local.checkpoints.map((k) => k.loop));
  pool.checkpoints.forEach((k, i) => expect(firstDifference(k.state.params, local.checkpoints[i]!.state.params)).toBe(-1));
}

/** Validation losses of 12 epochs with nothing watching them: what the watchers below will see. */
const plain = runLocal(cfg, { epochs: 12, validation: valData });
const losses = plain.epochs.map((e) => e.validation!.loss);

describe('the training loop, on LocalTrainer and on the pool (2 workers)', () => {
  it('early stopping stops after `patience` validations without an improvement of minDelta', async () => {
    const patience = 2;
    const minDelta = 0.02;
    // Worked out from the recorded losses: the epoch after which it must stop.
    let best = Infinity;
    let stale = 0;
    let stopAfter = -1;
    for (const [i, l] of losses.entries()) {
      if (l < best - minDelta) { best = l; stale = 0; } else if (++stale >= patience) { stopAfter = i; break; }
    }
    expect(stopAfter).toBeGreaterThan(0); // it does stop within the 12 epochs, or this test proves nothing
    const opts: FitOptions = { epochs: 12, validation: valData, earlyStopping: { patience, minDelta } };
    const local = runLocal(cfg, opts);
    expect(local.result.stop).toBe('early-stopping');
    expect(local.epochs.map((e) => e.epoch)).toEqual([...Array(stopAfter + 1).keys()]);
    expect(local.epochs.map((e) => e.validation!.loss)).toEqual(losses.slice(0, stopAfter + 1));
    expectSameRun(await runPool(cfg, opts), local);
  });

  it('reduce-on-plateau multiplies the learning rate by `factor` after more than `patience` validations without improvement', async () => {
    const patience = 1;
    const minDelta = 0.03;
    const factor = 0.25;
    let best = Infinity;
    let stale = 0;
    let reduceAfter = -1;
    for (const [i, l] of losses.entries()) {
      if (l < best - minDelta) { best = l; stale = 0; } else if (++stale > patience) { reduceAfter = i; break; }
    }
    expect(reduceAfter).toBeGreaterThan(0);
    const opts: FitOptions = { epochs: reduceAfter + 2, validation: valData, reduceOnPlateau: { patience, minDelta, factor } };
    const local = runLocal(cfg, opts);
    const perEpoch = 3;
    const lrs = local.steps.map((r) => r.lr);
    expect(lrs.slice(0, (reduceAfter + 1) * perEpoch)).toEqual(Array((reduceAfter + 1) * perEpoch).fill(0.03));
    expect(lrs.slice((reduceAfter + 1) * perEpoch)).toEqual(Array(perEpoch).fill(0.03 * factor));
    expect(local.result.loop.plateau.scale).toBe(factor);
    // minLr bounds it: the factor stops at minLr / lr.
    const floored = runLocal(cfg, { ...opts, reduceOnPlateau: { patience, minDelta, factor, minLr: 0.015 } });
    expect(floored.steps.at(-1)!.lr).toBe(0.03 * 0.5);
    expectSameRun(await runPool(cfg, opts), local);
  });

  it('the best checkpoint holds the weights of the epoch with the best validation', async () => {
    const n = 9; // the best of these is not the last epoch
    const opts: FitOptions = { epochs: n, validation: valData, checkpoint: { best: true, save: () => {} } };
    const weights: Float32Array[] = [];
    const local = runLocal(cfg, opts);
    const again = new LocalTrainer(cfg);
    again.fit(data, { epochs: n, onEpoch: () => { weights.push(again.getState().params); } });
    const bestEpoch = losses.slice(0, n).indexOf(Math.min(...losses.slice(0, n)));
    expect(bestEpoch).toBeLessThan(n - 1);
    expect(local.result.best?.epoch).toBe(bestEpoch);
    expect(local.result.best?.loss).toBe(losses[bestEpoch]);
    const last = local.checkpoints.at(-1)!;
    expect(last.reason).toBe('best');
    expect(firstDifference(last.state.params, weights[bestEpoch]!)).toBe(-1);
    // Every improvement was saved, in order.
    expect(local.checkpoints.length).toBe(local.epochs.filter((e) => e.best).length);
    const restored = new LocalTrainer(cfg);
    restored.setState(last.state);
    expect(restored.evaluate(valData).loss).toBe(losses[bestEpoch]);
    expectSameRun(await runPool(cfg, opts), local);
  });

  it('resuming from a checkpoint taken mid-epoch gives the bits of a run never stopped (and the pool goes on from LocalTrainer\'s)', async () => {
    const opts: FitOptions = {
      epochs: 5, validation: valData, reduceOnPlateau: { patience: 0, minDelta: 0.03, factor: 0.5 }, checkpoint: { every: 4, save: () => {} },
    };
    const straight = runLocal(cfg, opts);
    const k = straight.checkpoints[1]!; // after step 8: epoch 2, batch 2 of 3
    expect(k.loop).toMatchObject({ epoch: 2, batch: 2 });
    expect(k.loop.meter.steps).toBe(2);
    expect(straight.steps.some((r) => r.lr !== 0.03)).toBe(true); // the plateau's factor is part of what resumes
    const resumed = runLocal(cfg, { ...opts, resume: k });
    expect(resumed.steps.map(strip)).toEqual(straight.steps.slice(8).map(strip));
    expect(resumed.epochs.map(noTime)).toEqual(straight.epochs.slice(2).map(noTime));
    expect(resumed.result.loss).toBe(straight.result.loss);
    expect(resumed.result.loop).toEqual(straight.result.loop);
    expect(firstDifference(resumed.params, straight.params)).toBe(-1);
    // The pool resumes LocalTrainer's checkpoint to the same bits.
    const pool = await runPool(cfg, { ...opts, resume: k });
    expect(pool.steps.map(strip)).toEqual(resumed.steps.map(strip));
    expect(firstDifference(pool.params, straight.params)).toBe(-1);
    expect(pool.checkpoints.map((c) => c.loop)).toEqual(straight.checkpoints.slice(2).map((c) => c.loop));
  });

  it('abort stops before the next step; the weights are those of the steps run, and the run resumes from there exactly', async () => {
    const ac = new AbortController();
    let lastInfo: Parameters<NonNullable<FitOptions['onStep']>>[1] | undefined;
    const t = new LocalTrainer(cfg);
    expect(() => t.fit(data, {
      epochs: 3, validation: valData, signal: ac.signal,
      onStep: (r, info) => { lastInfo = info; if (r.step === 4) ac.abort(); },
    })).toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(t.step).toBe(5);
    expect(lastInfo!.loop).toMatchObject({ epoch: 1, batch: 2 });
    const byHand = new LocalTrainer(cfg);
    byHand.fit(data, { epochs: 3, steps: 5 });
    expect(firstDifference(t.getState().params, byHand.getState().params)).toBe(-1);
    // Resuming from the state at the abort finishes as the uninterrupted run does.
    const rest = t.fit(data, { epochs: 3, validation: valData, resume: { loop: lastInfo!.loop } });
    const full = runLocal(cfg, { epochs: 3, validation: valData });
    expect(rest.loss).toBe(full.result.loss);
    expect(firstDifference(t.getState().params, full.params)).toBe(-1);
    // The pool: aborted at the same step, the same weights.
    const p = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const pc = new AbortController();
      const err = await p.fit(data, { epochs: 3, signal: pc.signal, onStep: (r) => { if (r.step === 4) pc.abort(); } }).catch((e: Error) => e);
      expect(err).toMatchObject({ name: 'AbortError' });
      expect(p.step).toBe(5);
      expect(firstDifference(p.getState().params, byHand.getState().params)).toBe(-1);
    } finally {
      await p.close();
    }
  });

  it('validates every N steps instead of at epoch ends when validateEvery is given', () => {
    const seen: number[] = [];
    const r = new LocalTrainer(cfg).fit(data, { epochs: 3, validation: valData, validateEvery: 2, onValidation: (v) => { seen.push(v.step); } });
    expect(seen).toEqual([2, 4, 6, 8]);
    expect(r.epochs.every((e) => e.validation === undefined)).toBe(true);
  });

  it('refuses options it cannot honour, naming them', () => {
    const t = new LocalTrainer(cfg);
    expect(() => t.fit(data, { epochs: 2, earlyStopping: { patience: 1 } })).toThrow(OptionError);
    expect(() => t.fit(data, { epochs: 2, earlyStopping: { patience: 1 } })).toThrow('earlyStopping watches validations: give validation data (validation)');
    expect(() => t.fit(data, { epochs: 2, validation: valData, earlyStopping: { patience: 0 } })).toThrow('earlyStopping.patience must be a positive integer, got 0');
    expect(() => t.fit(data, { epochs: 2, validation: valData, reduceOnPlateau: { factor: 1.5 } })).toThrow('reduceOnPlateau.factor must be a number in (0, 1), got 1.5');
    expect(() => t.fit(data, { epochs: 2, validation: valData, monitor: 'acuracy' as never })).toThrow(`monitor must be 'loss' or 'accuracy', got "acuracy"; did you mean 'accuracy'?`);
    expect(() => t.fit(data, { epochs: 2, checkpoint: { save: () => {} } })).toThrow('checkpoint saves nothing: give checkpoint.every (steps) or checkpoint.best: true');
    expect(() => t.fit(data, { epochs: 2, checkpoint: { every: 1, save: async () => {} } })).toThrow(/checkpoint\.save returned a Promise, but LocalTrainer\.fit runs synchronously/);
    expect(() => t.fit(data, { epochs: 2, startEpoch: 1, resume: { loop: plain.result.loop } })).toThrow('startEpoch and resume both say where to start: give one');
    expect(() => t.fit(data, { epochs: 20, resume: { loop: { ...plain.result.loop, batch: -1 } } })).toThrow('resume.loop.batch must be a non-negative integer, got -1');
  });
});

describe('predict on inputs alone', () => {
  it('LocalTrainer and the Trainer (2 workers) take a dataset without targets, with the bits of one with them', async () => {
    const { targets: _t, targetKind: _k, outputSize: _o, ...inputs } = valData;
    const local = new LocalTrainer(cfg);
    local.fit(data, { epochs: 1 });
    const p = local.predict(inputs, { batchSize: 4 });
    expect(p.shape).toEqual([valData.count, valData.maxSteps, 7]);
    expect(p.outputs.some((v) => v !== 0)).toBe(true);
    expect(local.predict(valData).outputs).toEqual(p.outputs);
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      t.setState(local.getState());
      const q = await t.predict(inputs);
      expect(q.shape).toEqual(p.shape);
      expect(firstDifference(q.outputs, p.outputs)).toBe(-1);
      // Inputs that do not fit the model are refused, naming the field.
      await expect(t.predict({ ...inputs, inputSize: 9 })).rejects.toThrow("dataset.inputSize is 9 but the model expects 7");
      await expect(t.predict({ ...inputs, lengths: inputs.lengths.subarray(1) })).rejects.toThrow(`dataset: lengths has ${valData.count - 1} entries, expected count = ${valData.count}`);
      // evaluate still needs targets.
      await expect(t.evaluate(inputs as never)).rejects.toThrow('dataset: has no targets: training and evaluating need them (targetKind, outputSize, targets); predict takes inputs alone');
    } finally {
      await t.close();
    }
    expect(() => local.predict(inputs, { batchsize: 4 } as never)).toThrow('batchsize is not an option of predict; did you mean batchSize?');
  });
});
