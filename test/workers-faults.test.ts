/**
 * Failure handling with real threads: a worker that throws, exits or hangs in the middle of a
 * shard is replaced and the step redone from the unchanged parameters, so the run ends exactly
 * where an undisturbed one does (nothing counted twice, nothing lost: the injected fault first
 * fills the shard's slot with garbage). A worker that fails after it began writing parameters
 * (phase C) has its chunks rolled back from the arena's undo first. Past maxRetries, fit rejects
 * naming the shard and cause. Memory that runs out is not a worker's fault: never redone.
 */
import { describe, it, expect } from 'vitest';
import { LocalTrainer, type SequenceDataset, type TrainConfig } from '@weft/core';
import { Trainer, type FaultInjection, type WarningEvent } from '@weft/workers';
import { bilstmConfig, denseData, firstDifference, rnnConfig, tokenData } from './helpers/workers-data.js';

const data = tokenData(24);
const cfg = bilstmConfig();

/** The undisturbed run: LocalTrainer, two epochs (6 steps). */
function reference(): Float32Array {
  const t = new LocalTrainer(cfg);
  t.fit(data, { epochs: 2 });
  return t.runner.params.slice();
}

async function faultyFit(
  workers: number, fault: FaultInjection, extra: { stepTimeoutMs?: number; maxRetries?: number } = {},
  run: { config: TrainConfig; data: SequenceDataset } = { config: cfg, data },
) {
  const t = new Trainer({ ...run.config, workers, kernels: 'reference', faultInjection: fault, ...extra });
  const warnings: WarningEvent[] = [];
  t.on('warning', (w) => warnings.push(w));
  let error: Error | undefined;
  try {
    await t.fit(run.data, { epochs: 2 });
  } catch (e) {
    error = e as Error;
  }
  const state = t.getState();
  await t.close();
  return { warnings, error, state };
}

describe('a worker that fails in the middle of a step', () => {
  const expected = reference();

  it.each([
    ['throws', 2, { step: 2, shard: 1, kind: 'throw' }],
    ['exits', 2, { step: 3, shard: 2, kind: 'exit' }],
    ['exits (3 workers)', 3, { step: 1, shard: 0, kind: 'exit' }],
  ] as const)('%s: it is replaced, the step redone, and the result unchanged', async (_name, workers, fault) => {
    const r = await faultyFit(workers, fault);
    expect(r.error).toBeUndefined();
    expect(r.warnings.map((w) => w.kind)).toEqual(['worker-failed']);
    expect(r.warnings[0]!.message).toContain(`step ${fault.step}, shard ${fault.shard} failed`);
    expect(r.state.step).toBe(6);
    expect(firstDifference(r.state.params, expected), 'first differing parameter').toBe(-1);
  });

  it.each([
    ['throws', { step: 2, shard: 0, kind: 'throw', phase: 'update' }],
    ['exits', { step: 4, shard: 0, kind: 'exit', phase: 'update' }],
  ] as const)('%s while updating the parameters: what it had written is rolled back, the step redone, the result unchanged', async (_name, fault) => {
    const r = await faultyFit(2, fault);
    expect(r.error).toBeUndefined();
    expect(r.warnings.length).toBeGreaterThanOrEqual(1);
    expect(r.warnings.every((w) => w.kind === 'worker-failed')).toBe(true);
    expect(r.warnings[0]!.message).toMatch(new RegExp(`step ${fault.step}.*(updating|injected fault at step ${fault.step}, while updating|exited)`));
    expect(r.state.step).toBe(6);
    expect(r.state.optimizer.step).toBe(6);
    expect(firstDifference(r.state.params, expected), 'first differing parameter').toBe(-1);
  });

  it.each([
    ['computing a shard', { step: 1, shard: 3, kind: 'exit' }],
    ['updating', { step: 2, shard: 0, kind: 'exit', phase: 'update' }],
  ] as const)('exits while %s on a model of one norm chunk (no barrier: the worker that finished the last shard reduces and updates alone): redone, the result unchanged', async (phase, fault) => {
    const small = { config: rnnConfig({ optimizer: { name: 'adam', lr: 0.05 }, clipNorm: 0.05 }), data: denseData(16) };
    const local = new LocalTrainer(small.config);
    local.fit(small.data, { epochs: 2 });
    const r = await faultyFit(2, fault, {}, small);
    expect(r.error).toBeUndefined();
    expect(r.warnings.length).toBeGreaterThanOrEqual(1);
    expect(r.warnings[0]!.message).toMatch(phase === 'updating' ? /^step 2 .*updating/ : /^step 1, shard 3 failed/);
    expect(r.state.step).toBe(4);
    expect(r.state.optimizer.step).toBe(4);
    expect(firstDifference(r.state.params, local.runner.params), 'first differing parameter').toBe(-1);
  });

  it('hangs: after stepTimeoutMs its thread is terminated and the step redone', async () => {
    const r = await faultyFit(2, { step: 1, shard: 0, kind: 'hang' }, { stepTimeoutMs: 1000 });
    expect(r.error).toBeUndefined();
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.message).toMatch(/step 1, shard 0 failed \(worker \d made no progress for 1000 ms while computing shards \(shard 0\)/);
    expect(firstDifference(r.state.params, expected)).toBe(-1);
  });

  it('keeps failing: after maxRetries fit rejects naming the shard and the cause, the model as after the last whole step', async () => {
    const r = await faultyFit(2, { step: 2, shard: 1, kind: 'throw', times: 10 }, { maxRetries: 1 });
    expect(r.error?.message).toBe('step 2, shard 1 failed 2 time(s) (maxRetries 1); last cause: injected fault at step 2, shard 1');
    expect(r.warnings).toHaveLength(1);
    expect(r.state.step).toBe(2);
    const local = new LocalTrainer(cfg);
    let n = 0;
    try {
      local.fit(data, { epochs: 1, onStep: () => { if (++n === 2) throw new Error('stop'); } });
    } catch { /* stopped after 2 steps */ }
    expect(local.step).toBe(2);
    expect(firstDifference(r.state.params, local.runner.params)).toBe(-1);
    expect(r.state.params.every(Number.isFinite)).toBe(true);
  });

  it('runs out of memory: not a worker fault, so nothing is redone; fit rejects at once saying so, the model as before the step', async () => {
    const t0 = performance.now();
    const r = await faultyFit(2, { step: 2, shard: 1, kind: 'oom', times: 10 }, { maxRetries: 5 });
    expect(r.error).toBeInstanceOf(RangeError);
    expect(r.error?.message).toMatch(/^step 2, shard 1 ran out of memory \(out of WebAssembly memory: \d+ bytes requested, \d+ of 4294967296 left \(4 GiB is the most WebAssembly memory can hold\)\); not redone/);
    expect(r.warnings).toEqual([]); // no 'worker-failed ... redone' as for a faulty worker
    expect(r.state.step).toBe(2);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});
