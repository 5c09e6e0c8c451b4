/**
 * The Trainer's API with real threads: fit against LocalTrainer.fit, events, abort, the main
 * thread's event loop during training, the non-finite policy, checkpoint state, an
 * application's own piscina pool, option validation and close.
 */
import { describe, it, expect } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalTrainer, MemoryLimitError, NonFiniteError, OptionError, epochBatches, type SequenceDataset, type TrainStepResult } from '@weft/core';
import { Piscina, Trainer, workerExecArgv, type EpochEvent, type StepEvent, type TrainerOptions, type WarningEvent } from '@weft/workers';
import { bilstmConfig, denseData, firstDifference, rnnConfig, tokenData } from './helpers/workers-data.js';

const data = tokenData(24);
const valData = tokenData(10, 99);
const cfg = bilstmConfig();
const strip = (e: TrainStepResult) => ({ step: e.step, loss: e.loss, gradNorm: e.gradNorm, count: e.count, correct: e.correct, lr: e.lr, skipped: e.skipped });

describe('fit', () => {
  it('matches LocalTrainer.fit step by step, with epoch events and validation', async () => {
    const local = new LocalTrainer(cfg);
    const localSteps: TrainStepResult[] = [];
    const localLoss = local.fit(data, { epochs: 2, onStep: (r) => { localSteps.push(r); } }).loss;

    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    const steps: StepEvent[] = [];
    const epochs: EpochEvent[] = [];
    t.on('step', (e) => steps.push(e));
    t.on('epoch', (e) => epochs.push(e));
    try {
      const r = await t.fit(data, { epochs: 2, validation: valData });
      expect(steps.map(strip)).toEqual(localSteps.map(strip));
      expect(steps.map((e) => e.epoch)).toEqual([0, 0, 0, 1, 1, 1]);
      for (const e of steps) {
        expect(e.tokensPerSecond).toBeGreaterThan(0);
        expect(e.syncMs).toBeGreaterThanOrEqual(0);
        // The critical path: each phase a gap between two stamps of one clock, in order, all within the step's wall time.
        const p = Object.values(e.phases);
        expect(p).toHaveLength(5);
        for (const ms of p) expect(ms).toBeGreaterThanOrEqual(0);
        expect(p.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(e.stepMs + 0.01);
      }
      expect(r.loss).toBe(localLoss);
      expect(r.steps).toBe(6);
      expect(r.step).toBe(6);
      expect(epochs.map((e) => e.epoch)).toEqual([0, 1]);
      expect(r.epochs).toEqual(epochs);
      expect(epochs[1]!.loss).toBe(localLoss);
      expect(epochs[1]!.validation).toEqual(local.evaluate(valData));
      expect(firstDifference(t.getState().params, local.runner.params)).toBe(-1);
    } finally {
      await t.close();
    }
  });

  it('`steps` stops early and `startEpoch` resumes with the data order of that epoch', async () => {
    const local = new LocalTrainer(cfg);
    local.fit(data, { epochs: 2, startEpoch: 1 });
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const r = await t.fit(data, { epochs: 2, startEpoch: 1, steps: 2 });
      expect(r.steps).toBe(2);
      expect(r.epochs).toEqual([]); // the epoch was cut short
      await t.trainStep(data, epochBatches(data.count, 8, cfg.seed!, 1)[2]!);
      expect(firstDifference(t.getState().params, local.runner.params)).toBe(-1);
    } finally {
      await t.close();
    }
  });

  it('`steps` ending exactly at an epoch boundary reports that epoch\'s loss, not NaN', async () => {
    const perEpoch = epochBatches(data.count, 8, cfg.seed!, 0).length;
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const r = await t.fit(data, { epochs: 5, steps: perEpoch });
      expect(r.steps).toBe(perEpoch);
      expect(r.epochs).toHaveLength(1);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.loss).toBe(r.epochs[0]!.loss);
    } finally {
      await t.close();
    }
  });

  it('aborting stops before the next step and leaves finite, consistent weights', async () => {
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    const ac = new AbortController();
    t.on('step', (e) => { if (e.step === 2) ac.abort(); });
    try {
      const err = await t.fit(data, { epochs: 5, signal: ac.signal }).then(() => null, (e: Error) => e);
      expect(err?.name).toBe('AbortError');
      expect(t.step).toBe(3);
      const params = t.getState().params;
      expect(params.every(Number.isFinite)).toBe(true);
      // Consistent: exactly the weights after 3 whole steps.
      const local = new LocalTrainer(cfg);
      for (const rows of epochBatches(data.count, 8, cfg.seed!, 0)) local.trainStep(data, rows);
      expect(firstDifference(params, local.runner.params)).toBe(-1);
      // And the trainer is still usable.
      expect((await t.evaluate(data)).loss).toBe(local.evaluate(data).loss);
    } finally {
      await t.close();
    }
  });

  it('the main thread\'s event loop keeps turning during fit', async () => {
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    let stepsDone = 0;
    t.on('step', () => stepsDone++);
    const seenAt = new Set<number>(); // step counts at which the timer fired
    let ticks = 0;
    const timer = setInterval(() => { ticks++; seenAt.add(stepsDone); }, 1);
    try {
      await t.start();
      seenAt.clear();
      ticks = 0;
      await t.fit(data, { epochs: 4 });
      clearInterval(timer);
      // A main thread blocked in Atomics.wait would fire no timer until fit resolved.
      expect(ticks).toBeGreaterThan(0);
      expect(seenAt.size).toBeGreaterThanOrEqual(4); // timers fired between (and during) many of the 12 steps
    } finally {
      clearInterval(timer);
      await t.close();
    }
  });
});

describe('carryState (truncated BPTT over streams)', () => {
  it('fit and the carried state match LocalTrainer bit for bit', async () => {
    // 8 streams of 4 windows: batch b is rows b*8..b*8+7, its row i continuing row i of batch b-1.
    const streams = tokenData(32, 5);
    streams.lengths.fill(streams.maxSteps);
    const ccfg = bilstmConfig({ carryState: true, model: { ...cfg.model, bidirectional: false } });
    const local = new LocalTrainer(ccfg);
    const localSteps: TrainStepResult[] = [];
    local.fit(streams, { epochs: 2, onStep: (r) => { localSteps.push(r); } });
    const t = new Trainer({ ...ccfg, workers: 3, kernels: 'reference' });
    const steps: StepEvent[] = [];
    t.on('step', (e) => steps.push(e));
    try {
      await t.fit(streams, { epochs: 2 });
      expect(steps.map(strip)).toEqual(localSteps.map(strip));
      const s = t.getState();
      expect(firstDifference(s.params, local.runner.params)).toBe(-1);
      const carried = local.runner.carriedState(local.step);
      expect(carried.some((v) => v !== 0)).toBe(true);
      expect(firstDifference(s.carry!, carried)).toBe(-1);
      // Resuming from the state continues the same streams.
      const u = new Trainer({ ...ccfg, workers: 2, kernels: 'reference' });
      try {
        u.setState(s);
        const rows = Int32Array.from({ length: 8 }, (_, i) => 16 + i);
        const a = await u.trainStep(streams, rows);
        const b = local.trainStep(streams, rows);
        expect(a.loss).toBe(b.loss);
        expect(firstDifference(u.getParams(), local.runner.params)).toBe(-1);
      } finally {
        await u.close();
      }
    } finally {
      await t.close();
    }
  });
});

describe('non-finite loss or gradient', () => {
  const bad = denseData(16);
  (bad.inputs as Float32Array)[3 * bad.maxSteps + 2] = NaN; // row 3
  const rows = [0, 1, 2, 3, 4, 5, 6, 7];

  it("nonFinite 'skip': the step is skipped with a warning, parameters untouched", async () => {
    const t = new Trainer({ ...rnnConfig({ nonFinite: 'skip' }), workers: 2 });
    const warnings: WarningEvent[] = [];
    t.on('warning', (w) => warnings.push(w));
    try {
      const before = t.getState().params;
      const e = await t.trainStep(bad, rows);
      expect(e.skipped).toBe(true);
      expect(Number.isNaN(e.loss)).toBe(true);
      expect(t.step).toBe(1);
      expect(warnings).toEqual([{ kind: 'non-finite', step: 1, message: expect.stringContaining('step 0: the loss (NaN)') }]);
      expect(firstDifference(t.getState().params, before)).toBe(-1);
      // A good batch still trains.
      const ok = await t.trainStep(bad, [8, 9, 10, 11]);
      expect(ok.skipped).toBe(false);
      expect(firstDifference(t.getState().params, before)).not.toBe(-1);
    } finally {
      await t.close();
    }
  });

  it('a skipped step is not an optimizer update: Adam after a skip equals Adam without it (pool and LocalTrainer)', async () => {
    const cfg = rnnConfig({ nonFinite: 'skip', optimizer: { name: 'adam', lr: 0.05 } });
    const good = [8, 9, 10, 11];
    const ref = new LocalTrainer(cfg);
    ref.trainStep(bad, good);
    const local = new LocalTrainer(cfg);
    expect(local.trainStep(bad, rows).skipped).toBe(true);
    local.trainStep(bad, good);
    expect(local.updates).toBe(1);
    expect(firstDifference(local.runner.params, ref.runner.params)).toBe(-1);
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' }); // LocalTrainer runs the reference here
    try {
      expect((await t.trainStep(bad, rows)).skipped).toBe(true);
      await t.trainStep(bad, good);
      expect(t.getOptimizerState().step).toBe(1);
      expect(t.step).toBe(2);
      expect(firstDifference(t.getParams(), ref.runner.params)).toBe(-1);
    } finally {
      await t.close();
    }
  });

  it("nonFinite 'error' (the default): the step rejects with NonFiniteError, nothing changes", async () => {
    const t = new Trainer({ ...rnnConfig(), workers: 2 });
    try {
      const before = t.getState().params;
      const err = await t.trainStep(bad, rows).then(() => null, (e: Error) => e);
      expect(err?.name).toBe('NonFiniteError');
      expect(err?.message).toMatch(/^step 0: the loss \(NaN\) or gradient norm \(NaN\) is not finite; no update was applied/);
      expect(t.step).toBe(0);
      expect(firstDifference(t.getState().params, before)).toBe(-1);
      const fitErr = await t.fit(bad, { epochs: 1 }).then(() => null, (e: Error) => e);
      expect(fitErr?.name).toBe('NonFiniteError');
    } finally {
      await t.close();
    }
  });

  it("nonFinite 'error': an evaluation whose loss is not finite rejects with NonFiniteError too (LocalTrainer the same)", async () => {
    const t = new Trainer({ ...rnnConfig(), workers: 2 });
    try {
      const err = await t.evaluate(bad).then(() => null, (e: Error) => e);
      expect(err).toBeInstanceOf(NonFiniteError);
      expect(err?.message).toMatch(/^evaluation after step 0: the loss \(NaN\) is not finite/);
      expect((await t.evaluate(bad, { batchSize: 3 }).catch((e: Error) => e))).toBeInstanceOf(NonFiniteError);
      expect(() => new LocalTrainer(rnnConfig()).evaluate(bad)).toThrow(NonFiniteError);
    } finally {
      await t.close();
    }
    // With 'skip' it is reported as it is: a NaN loss, for the caller to judge.
    const s = new Trainer({ ...rnnConfig({ nonFinite: 'skip' }), workers: 1 });
    try {
      expect(Number.isNaN((await s.evaluate(bad)).loss)).toBe(true);
    } finally {
      await s.close();
    }
  });
});

describe('limits: refused before a worker allocates', () => {
  it('data with sequences too long for the memory: MemoryLimitError naming maxSteps, at once, nothing started', async () => {
    const T = 2_000_000;
    const long: SequenceDataset = {
      inputKind: 'dense', inputSize: 1, targetKind: 'value-per-step', outputSize: 1, count: 2, maxSteps: T,
      lengths: Int32Array.of(T, 3), inputs: new Float32Array(2 * T), targets: new Float32Array(2 * T),
    };
    const t = new Trainer({ ...rnnConfig({ model: { ...rnnConfig().model, hiddenSize: 64 } }), workers: 2 });
    try {
      for (const call of [() => t.fit(long, { epochs: 1 }), () => t.trainStep(long, [0, 1]), () => t.evaluate(long), () => t.predict(long)]) {
        const err = await call().then(() => null, (e: Error) => e);
        expect(err).toBeInstanceOf(MemoryLimitError);
        expect(err?.message).toMatch(/^maxSteps 2000000: training would need [\d.]+ GiB: .* of activations for \d+ sequences? of 2,000,000 steps; the limit is 4 GiB of WebAssembly memory$/);
      }
      expect(t.kernels).toBeUndefined(); // no worker was started
      // The trainer is as it was: data that fits trains.
      expect((await t.trainStep(denseData(8), [0, 1])).count).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });
});

describe('state, pools, options, close', () => {
  const batches = [0, 1].flatMap((e) => epochBatches(data.count, 8, cfg.seed!, e));

  it('getState / setState resume a run bit for bit on a new trainer', async () => {
    const a = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    const b = new Trainer({ ...cfg, workers: 1, kernels: 'reference' });
    try {
      for (const rows of batches.slice(0, 2)) await a.trainStep(data, rows);
      const saved = a.getState();
      for (const rows of batches.slice(2)) await a.trainStep(data, rows);
      b.setState(saved);
      expect(b.step).toBe(2);
      for (const rows of batches.slice(2)) await b.trainStep(data, rows);
      const sa = a.getState();
      const sb = b.getState();
      expect(firstDifference(sb.params, sa.params)).toBe(-1);
      sa.optimizer.states.forEach((s, k) => expect(firstDifference(sb.optimizer.states[k]!, s)).toBe(-1));
      // parameters: named views on the shared parameters
      const w = b.parameters.get('rnn.weight_hh_l1_reverse')!;
      expect(w.length).toBe(4 * 24 * 24);
      expect(w.buffer).toBe(b.arena.buffer);
      expect(() => b.setState({ ...saved, params: saved.params.subarray(1) })).toThrow(`state.params must have ${saved.params.length} values`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("runs on the application's own piscina pool and leaves it usable", async () => {
    // An application's pool; under vitest its threads must not inherit the `source` condition.
    const dir = mkdtempSync(path.join(tmpdir(), 'weft-pool-'));
    const task = path.join(dir, 'double.mjs');
    writeFileSync(task, 'export default (x) => 2 * x;\n');
    const pool = new Piscina({ minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 1, execArgv: workerExecArgv() });
    const t = new Trainer({ ...cfg, pool, kernels: 'reference' });
    try {
      expect(t.workers).toBe(2);
      const local = new LocalTrainer(cfg);
      for (const rows of batches.slice(0, 2)) {
        expect((await t.trainStep(data, rows)).loss).toBe(local.trainStep(data, rows).loss);
      }
      await t.close();
      expect(await pool.run(21, { filename: pathToFileURL(task).href })).toBe(42);
    } finally {
      await t.close();
      await pool.destroy();
    }
  });

  it('validates options with messages that name the option', async () => {
    const make = (o: Partial<TrainerOptions>) => () => new Trainer({ ...cfg, ...o });
    expect(make({ workers: 0 })).toThrow(OptionError);
    expect(make({ workers: 0 })).toThrow('workers must be a positive integer, got 0');
    expect(make({ workers: 1.5 })).toThrow('workers must be a positive integer, got 1.5');
    expect(make({ stepTimeoutMs: -1 })).toThrow('stepTimeoutMs must be a positive number of milliseconds, got -1');
    expect(make({ maxRetries: -1 })).toThrow('maxRetries must be a non-negative integer, got -1');
    expect(make({ kernels: 'gpu' as never })).toThrow(`kernels must be 'auto', 'native', 'wasm' or 'reference', got "gpu"`);
    expect(make({ faultInjection: { step: 0, shard: 0, kind: 'boom' as never } })).toThrow(`faultInjection.kind must be 'throw', 'exit', 'hang' or 'oom', got "boom"`);
    expect(make({ batchSize: 0 })).toThrow('batchSize must be a positive integer, got 0');
    // Limits, before any thread starts or any memory is taken: a worker computes whole shards...
    expect(make({ workers: 4 })).toThrow('workers is 4, more than the 3 shards of a batch (batchSize 8 in shards of 3): a worker computes whole shards, so 1 would have no work');
    const one = new Trainer({ ...cfg, batchSize: 2, shardSize: 2 });
    expect(one.workers).toBe(1); // the default: no more than the shards
    await one.close();
    // ... and the run must fit in its 4 GiB of WebAssembly memory.
    expect(make({ model: { ...cfg.model, hiddenSize: 100_000 } })).toThrow(MemoryLimitError);
    expect(make({ model: { ...cfg.model, hiddenSize: 100_000 } })).toThrow(/^model\.hiddenSize 100000: training would need .*; the limit is 4 GiB of WebAssembly memory$/);
    const busy = new Piscina({ maxThreads: 2, concurrentTasksPerWorker: 2 });
    try {
      expect(make({ pool: busy })).toThrow('pool must run one task per thread (concurrentTasksPerWorker 1), got concurrentTasksPerWorker 2');
      expect(make({ pool: {} as never })).toThrow('pool must be a Piscina instance');
    } finally {
      await busy.destroy();
    }
    const small = new Piscina({ maxThreads: 1 });
    try {
      expect(make({ pool: small, workers: 2 })).toThrow("workers (2) must not exceed the pool's maxThreads (1)");
    } finally {
      await small.destroy();
    }

    const t = new Trainer({ ...cfg, workers: 1 });
    try {
      await expect(t.fit(data, { epochs: 0 })).rejects.toThrow('epochs must be a positive integer, got 0');
      await expect(t.trainStep(data, [0, 24])).rejects.toThrow('rows[1] = 24 is not a row of the dataset (0..23)');
      await expect(t.trainStep(data, new Array(9).fill(0))).rejects.toThrow('rows must hold 1..batchSize (8) row indices, got 9');
      await expect(t.evaluate(denseData(4))).rejects.toThrow("dataset.inputKind is 'dense' but model.input.kind is 'tokens'");
    } finally {
      await t.close();
    }
  });

  it('refuses misspelt trainer, fit, evaluate and predict options with the closest valid one', async () => {
    const misspelt = () => new Trainer({ ...cfg, worker: 1 } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({
      message: 'worker is not an option of the trainer; did you mean workers?', option: 'worker', suggestion: 'workers',
    }));
    expect(() => new Trainer({ ...cfg, model: { ...cfg.model, bidirectinal: true } as never })).toThrow(expect.objectContaining({
      message: 'model.bidirectinal is not an option of the model config; did you mean bidirectional?', suggestion: 'bidirectional',
    }));
    expect(() => new Trainer({ ...cfg, faultInjection: { step: 0, shard: 0, kind: 'throw', phse: 'update' } as never })).toThrow(
      'faultInjection.phse is not an option of a fault injection; did you mean phase?',
    );
    expect(() => new Trainer({ ...cfg, epochs: 3 } as never)).toThrow(expect.objectContaining({
      message: 'epochs is not an option of the trainer; expected one of: model, optimizer, schedule, batchSize, shardSize, clipNorm, ' +
        'clipValue, seed, carryState, nonFinite, workers, pool, stepTimeoutMs, startTimeoutMs, maxRetries, kernels, parkAfterMs, faultInjection',
      suggestion: undefined,
    }));

    const t = new Trainer({ ...cfg, workers: 1 });
    try {
      await expect(t.fit(data, { epochs: 1, step: 1 } as never)).rejects.toThrow(expect.objectContaining({
        name: 'OptionError', message: 'step is not an option of fit; did you mean steps?', suggestion: 'steps',
      }));
      await expect(t.fit(data, { epochs: 1, validation: valData, evalBatch: 4 } as never)).rejects.toThrow(
        'evalBatch is not an option of fit; expected one of: epochs, startEpoch, steps, validation, validateEvery, evalBatchSize, validationOutputs, monitor, ' +
        'earlyStopping, reduceOnPlateau, checkpoint, resume, signal, onStep, onEpoch, onValidation',
      );
      await expect(t.evaluate(valData, { batch_size: 4 } as never)).rejects.toThrow(expect.objectContaining({
        name: 'OptionError', message: 'batch_size is not an option of evaluate; did you mean batchSize?',
      }));
      await expect(t.predict(valData, { batchsize: 4 } as never)).rejects.toThrow('batchsize is not an option of predict; did you mean batchSize?');
      // outputs is evaluate's (predict gives nothing else), and a boolean.
      await expect(t.predict(valData, { outputs: true } as never)).rejects.toThrow('outputs is not an option of predict');
      await expect(t.evaluate(valData, { outputs: 'yes' } as never)).rejects.toThrow('outputs must be a boolean, got "yes"');
      expect(t.step).toBe(0);
      // The right keys work.
      expect((await t.fit(data, { epochs: 1, steps: 1 })).steps).toBe(1);
      expect((await t.evaluate(valData, { batchSize: 4 })).count).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('close ends the worker loops; the trainer then refuses work', async () => {
    const pool = new Piscina({ minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 1, execArgv: workerExecArgv() });
    const t = new Trainer({ ...cfg, pool, workers: 2 });
    try {
      await t.trainStep(data, batches[0]!);
      expect(pool.completed).toBe(0); // the two loop tasks are running
      await t.close();
      expect(pool.completed).toBe(2); // ...and returned
      await t.close(); // twice is fine
      await expect(t.trainStep(data, batches[0]!)).rejects.toThrow('trainStep: the trainer is closed');
    } finally {
      await pool.destroy();
    }
  });
});
