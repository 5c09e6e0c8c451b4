/**
 * The pool's central promise: the same seed, data and global batch give bit-identical weights,
 * optimizer state and losses whatever the worker count, and the same as the single-thread
 * LocalTrainer (the reference). Real worker threads, built JavaScript (`pnpm test` builds).
 */
import { describe, it, expect } from 'vitest';
import {
  LocalTrainer, SequenceModel, epochBatches, evaluateModel, gatherBatch, lossTerms, nativeTurnedOff,
  type TrainConfig,
} from '@weft/core';
import { Trainer, type KernelChoice, type StepEvent, type TrainerState } from '@weft/workers';
import { expectClose } from './helpers/compare.js';
import { bilstmConfig, denseData, firstDifference, rnnConfig, tokenData } from './helpers/workers-data.js';

const data = tokenData(24);
// Two epochs of 3 batches of 8 (the order LocalTrainer.fit and Trainer.fit use).
const batches = [0, 1].flatMap((e) => epochBatches(data.count, 8, 7, e));

interface Run {
  events: Pick<StepEvent, 'loss' | 'gradNorm' | 'count' | 'correct' | 'lr' | 'skipped'>[];
  state: TrainerState;
  /** The reduced (and clipped) gradient of the last step. */
  grad: Float32Array;
}

async function poolRun(workers: number, kernels: KernelChoice = 'reference', cfg: TrainConfig = bilstmConfig()): Promise<Run> {
  const t = new Trainer({ ...cfg, workers, kernels });
  try {
    const events: Run['events'] = [];
    for (const rows of batches) {
      const e = await t.trainStep(data, rows);
      events.push({ loss: e.loss, gradNorm: e.gradNorm, count: e.count, correct: e.correct, lr: e.lr, skipped: e.skipped });
    }
    if (kernels !== 'auto') expect(t.kernels).toBe({ wasm: 'wasm-simd', native: 'native', reference: 'reference' }[kernels]);
    const P = t.layout.paramCount;
    return { events, state: t.getState(), grad: t.arena.slice(t.layout.grad, t.layout.grad + P) };
  } finally {
    await t.close();
  }
}

function localRun(cfg: TrainConfig = bilstmConfig()): Run {
  const t = new LocalTrainer(cfg);
  const events: Run['events'] = [];
  for (const rows of batches) {
    const e = t.trainStep(data, rows);
    events.push({ loss: e.loss, gradNorm: e.gradNorm, count: e.count, correct: e.correct, lr: e.lr, skipped: e.skipped });
  }
  const P = t.layout.paramCount;
  return {
    events,
    state: { step: t.step, params: t.runner.params.slice(), optimizer: { name: t.optimizer.name, options: t.optimizer.options, step: t.step, states: t.runner.states.map((s) => s.slice()) } },
    grad: t.arena.slice(t.layout.grad, t.layout.grad + P),
  };
}

function expectSameRun(a: Run, b: Run, label: string): void {
  expect(a.events, `${label}: losses, norms`).toEqual(b.events);
  expect(a.state.step, `${label}: step`).toBe(b.state.step);
  expect(firstDifference(a.state.params, b.state.params), `${label}: first differing parameter`).toBe(-1);
  expect(a.state.optimizer.states.length).toBe(b.state.optimizer.states.length);
  a.state.optimizer.states.forEach((s, k) => {
    expect(firstDifference(s, b.state.optimizer.states[k]!), `${label}: optimizer state ${k}`).toBe(-1);
  });
  expect(firstDifference(a.grad, b.grad), `${label}: reduced gradient`).toBe(-1);
}

describe('worker count does not change the result', () => {
  it('1, 2, 3 (and 8 on 8 shards) workers and LocalTrainer give bit-identical weights, optimizer state and losses (biLSTM, dropout, clipping)', async () => {
    const local = localRun();
    // The run must actually move: otherwise equality would prove nothing.
    const init = new SequenceModel(bilstmConfig().model).paramBuffer;
    expect(firstDifference(local.state.params, init)).not.toBe(-1);
    expect(local.events.some((e) => e.gradNorm > 0.1)).toBe(true); // clipping was active at least once
    for (const n of [1, 2, 3]) expectSameRun(await poolRun(n), local, `${n} worker(s)`);
    // 8 workers need 8 shards (a worker computes whole shards): shards of one sequence.
    const ones = bilstmConfig({ shardSize: 1 });
    expectSameRun(await poolRun(8, 'reference', ones), localRun(ones), '8 workers, 8 shards');
  });

  it('a model of one norm chunk (reduced and updated by whichever worker finished the last shard, no barrier) gives the same bits with 1, 2 and 3 workers', async () => {
    // 5 hidden units: well under one chunk of 4096 parameters, so no worker count shares the
    // reduce and the update; the worker finishing the last shard does both, a different one
    // from step to step. Adam and clipping make every bit of the reduced gradient count.
    const cfg = rnnConfig({ optimizer: { name: 'adam', lr: 0.05 }, clipNorm: 0.05, batchSize: 16, shardSize: 2 });
    const dense = denseData(32);
    const order = [0, 1, 2].flatMap((e) => epochBatches(dense.count, 16, 5, e));
    const local = new LocalTrainer(cfg);
    const want = order.map((rows) => local.trainStep(dense, rows).loss);
    expect(firstDifference(local.runner.params, new SequenceModel(cfg.model).paramBuffer)).not.toBe(-1);
    for (const workers of [1, 2, 3]) {
      const t = new Trainer({ ...cfg, workers, kernels: 'reference' });
      try {
        const got: number[] = [];
        for (const rows of order) got.push((await t.trainStep(dense, rows)).loss);
        expect(got, `${workers} worker(s): losses`).toEqual(want);
        expect(firstDifference(t.getParams(), local.runner.params), `${workers} worker(s): first differing parameter`).toBe(-1);
        const states = t.getOptimizerState().states;
        states.forEach((st, k) => expect(firstDifference(st, local.runner.states[k]!), `${workers} worker(s): optimizer state ${k}`).toBe(-1));
      } finally {
        await t.close();
      }
    }
  });

  it('with the WebAssembly kernels, 1 and 3 workers are bit-identical', async () => {
    const one = await poolRun(1, 'wasm');
    const three = await poolRun(3, 'wasm');
    expectSameRun(three, one, 'wasm, 3 vs 1 worker(s)');
    // And the fast path agrees with the reference to float rounding.
    const ref = localRun();
    expectClose(one.state.params, ref.state.params, { rtol: 1e-3, atol: 1e-5, name: 'wasm vs reference params' });
  });

  // WEFT_NATIVE=0: the native path is off on purpose; otherwise a missing addon fails this test.
  it.skipIf(nativeTurnedOff())('with the native kernels, 1, 2, 3 (and 8 on 8 shards) workers are bit-identical', async () => {
    const one = await poolRun(1, 'native');
    for (const n of [2, 3]) expectSameRun(await poolRun(n, 'native'), one, `native, ${n} vs 1 worker(s)`);
    // 8 workers need 8 shards (a worker computes whole shards): shards of one sequence.
    const ones = bilstmConfig({ shardSize: 1 });
    expectSameRun(await poolRun(8, 'native', ones), await poolRun(1, 'native', ones), 'native, 8 vs 1 worker(s), 8 shards');
    const ref = localRun();
    expectClose(one.state.params, ref.state.params, { rtol: 1e-3, atol: 1e-5, name: 'native vs reference params' });
  });

  it('the reduced gradient is the gradient of the whole batch computed by one model', async () => {
    // No dropout (masks are drawn per shard) and no clipping, so the whole-batch gradient is the oracle.
    const base = bilstmConfig();
    const cfg = bilstmConfig({ model: { ...base.model, dropout: 0 }, clipNorm: 0 });
    const t = new Trainer({ ...cfg, workers: 2, kernels: 'reference' });
    try {
      const rows = batches[0]!;
      const before = t.getState().params;
      await t.trainStep(data, rows);
      const P = t.layout.paramCount;
      const reduced = t.arena.subarray(t.layout.grad, t.layout.grad + P);
      const m = new SequenceModel(cfg.model, { params: before.slice() });
      m.zeroGrad();
      m.forwardBackward(gatherBatch(data, rows), 1 / lossTerms(data, rows));
      expect(t.layout.shards).toBe(3);
      expectClose(reduced, m.gradBuffer.subarray(0, P), { rtol: 1e-4, atol: 1e-7, name: 'reduced gradient' });
      // It is the sum of the shards' slots, not any one of them.
      const slot0 = t.arena.subarray(t.layout.slots[0]!, t.layout.slots[0]! + P);
      expect(firstDifference(slot0, reduced)).not.toBe(-1);
    } finally {
      await t.close();
    }
  });

  it('evaluate and predict give LocalTrainer\'s numbers exactly', async () => {
    const t = new Trainer({ ...bilstmConfig(), workers: 2, kernels: 'reference' });
    const local = new LocalTrainer(bilstmConfig());
    try {
      for (const rows of batches.slice(0, 2)) {
        await t.trainStep(data, rows);
        local.trainStep(data, rows);
      }
      expect(await t.evaluate(data)).toEqual(local.evaluate(data));
      expect(await t.evaluate(data, { batchSize: 5 })).toEqual(evaluateModel(local.model, data, 5));
      const p = await t.predict(data, { batchSize: 5 });
      expect(p.shape).toEqual([data.count, data.maxSteps, data.outputSize]);
      // The oracle: the reference model's head output, one sequence at a time.
      const O = data.outputSize;
      for (const r of [0, 7, 23]) {
        local.model.evaluate(gatherBatch(data, [r]));
        const y = local.model.lastOutput; // [steps, O]
        const L = data.lengths[r]!;
        const got = p.outputs.subarray(r * data.maxSteps * O, (r * data.maxSteps + L) * O);
        expectClose(got, y.subarray(0, L * O), { rtol: 1e-6, atol: 1e-6, name: `outputs of row ${r}` });
        expect(p.outputs.subarray((r * data.maxSteps + L) * O, (r + 1) * data.maxSteps * O).every((v) => v === 0)).toBe(true);
      }
      // An evaluation that returns its outputs (per step here: each row's own steps, zero past them) gives predict's bits and the plain evaluation's numbers.
      for (const e of [await t.evaluate(data, { batchSize: 5, outputs: true }), local.evaluate(data, { batchSize: 5, outputs: true })]) {
        expect(e.shape).toEqual(p.shape);
        expect(firstDifference(e.outputs!, p.outputs)).toBe(-1);
        expect({ ...e, outputs: undefined, shape: undefined }).toEqual(evaluateModel(local.model, data, 5));
      }
    } finally {
      await t.close();
    }
  });
});
