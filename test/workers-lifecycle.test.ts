/**
 * The Trainer around its training: a program that never calls close() still exits once training
 * is done (idle worker loops are parked, and the next command starts them again with the same
 * results and no new memory); a worker count above the cores is warned about; a cosine or linear
 * schedule shorter than the training fit is about to run is an error, in the pool and in
 * LocalTrainer alike; the arena is advised onto huge pages before its parameters are written.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTrainer, arenaUsage, nativeAddon } from '@weft/core';
import { Trainer } from '@weft/workers';
import { transparentHugePagesOn, vmFlagsAt } from '../packages/core/src/kernels/testkit.js';
import { repoRoot } from './helpers/compare.js';
import { tempDir } from './helpers/cli.js';
import { bilstmConfig, tokenData } from './helpers/workers-data.js';

const tmp = tempDir('weft-lifecycle-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const data = tokenData(24); // batches of 8: 3 steps per epoch

/**
 * Runs a script that trains with the built @weft/workers and never calls close(); resolves with
 * the milliseconds from its "trained" line to its exit, or null if it is still running after
 * `limitMs` (then it is killed).
 */
function trainWithoutClose(trainerOptions: string, limitMs: number, how: 'Trainer' | 'RemoteTrainer' = 'Trainer'): Promise<{ afterMs: number | null; code: number | null; stderr: string }> {
  const workers = pathToFileURL(path.join(repoRoot, 'packages/workers/dist/index.js')).href;
  const script = path.join(tmp, `no-close-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(script, `
import { availableParallelism } from 'node:os';
import { Trainer, createRemoteTrainer } from ${JSON.stringify(workers)};
const T = 5, count = 16;
const lengths = new Int32Array(count).fill(T);
const inputs = Int32Array.from({ length: count * T }, (_, i) => (i * 7) % 5);
const targets = Int32Array.from(inputs, (x) => (x + 1) % 5);
const data = { inputKind: 'tokens', inputSize: 5, targetKind: 'class-per-step', outputSize: 5, count, maxSteps: T, lengths, inputs, targets };
const trainer = ${how === 'Trainer' ? 'new Trainer' : 'await createRemoteTrainer'}({
  model: { cell: 'lstm', hiddenSize: 8, input: { kind: 'tokens', vocabSize: 5 }, task: 'class-per-step', outputSize: 5, seed: 1 },
  batchSize: 8, workers: Math.min(2, availableParallelism()), ${trainerOptions}
});
const r = await trainer.fit(data, { epochs: 2 });
console.log('trained ' + r.steps);
`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let trainedAt: number | undefined;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { if (b.toString().includes('trained 4')) trainedAt = performance.now(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, limitMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const ended = performance.now();
      resolve({ afterMs: code === null || trainedAt === undefined ? null : ended - trainedAt, code, stderr });
    });
  });
}

describe('a program that does not call close()', () => {
  it('exits soon after its training is done with a RemoteTrainer too (its thread is referenced only during calls)', async () => {
    const r = await trainWithoutClose('', 60_000, 'RemoteTrainer');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.afterMs).not.toBeNull();
    expect(r.afterMs!).toBeLessThan(5_000);
  });

  it('exits soon after its training is done (the idle loops are parked), and would not without parking', async () => {
    const [parked, kept] = await Promise.all([
      trainWithoutClose('', 60_000),
      // The control: loops kept running (parkAfterMs: Infinity) hold the process, so this one is killed.
      trainWithoutClose('parkAfterMs: Infinity', 8_000),
    ]);
    expect(parked.stderr).toBe('');
    expect(parked.code).toBe(0);
    // The default parkAfterMs is 1000 ms; the rest is the threads ending.
    expect(parked.afterMs).not.toBeNull();
    expect(parked.afterMs!).toBeLessThan(5_000);
    expect(kept.afterMs).toBeNull();
  });

  it('a parked trainer goes on where it was: the same bits as without a pause, and no new memory', async () => {
    const cfg = bilstmConfig();
    const straight = new Trainer({ ...cfg, workers: 2, parkAfterMs: Infinity });
    const paused = new Trainer({ ...cfg, workers: 2, parkAfterMs: 20 });
    try {
      await straight.fit(data, { epochs: 2 });
      await paused.fit(data, { epochs: 1 });
      const used = arenaUsage(paused.memory).used;
      await new Promise((r) => setTimeout(r, 500)); // parked by now
      await paused.fit(data, { epochs: 2, startEpoch: 1 });
      expect(paused.getParams()).toEqual(straight.getParams());
      expect(paused.getOptimizerState()).toEqual(straight.getOptimizerState());
      // The restarted loops took over their threads' runners: the arena did not grow.
      expect(arenaUsage(paused.memory).used).toBe(used);
      expect((await paused.evaluate(data)).loss).toBe((await straight.evaluate(data)).loss);
    } finally {
      await Promise.all([straight.close(), paused.close()]);
    }
  });
});

describe('workers beyond the cores', () => {
  async function warningsOf(workers: number): Promise<(Error & { code?: string })[]> {
    const seen: (Error & { code?: string })[] = [];
    const on = (w: Error) => seen.push(w);
    process.on('warning', on);
    try {
      const t = new Trainer({ ...bilstmConfig(), workers });
      await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on the next tick
      await t.close();
    } finally {
      process.off('warning', on);
    }
    return seen.filter((w) => w.code === 'WEFT_WORKERS_EXCEED_CORES');
  }

  it('are warned about (process.emitWarning), naming both counts; as many as the cores are not', async () => {
    const cores = availableParallelism();
    const over = await warningsOf(cores + 1);
    expect(over).toHaveLength(1);
    expect(over[0]!.name).toBe('WeftWarning');
    expect(over[0]!.message).toContain(`workers is ${cores + 1}, more than the ${cores} cores of this machine`);
    expect(await warningsOf(cores)).toHaveLength(0);
  });
});

describe('a schedule shorter than the training', () => {
  const cosine = (totalSteps: number) => bilstmConfig({ schedule: { kind: 'cosine', totalSteps } });

  it('is an error before fit runs a step (Trainer), naming totalSteps and where the training would end', async () => {
    const t = new Trainer({ ...cosine(5), workers: 1 });
    try {
      await expect(t.fit(data, { epochs: 2 })).rejects.toThrow(/schedule\.totalSteps is 5, but this training runs to step 6 \(6 steps from step 0\); past step 5 the cosine schedule stays at minLr \(0\)/);
      expect(t.step).toBe(0);
      // Within the schedule: fine, and a run resumed past its end is refused too.
      await t.fit(data, { epochs: 2, steps: 5 });
      expect(t.step).toBe(5);
      await expect(t.fit(data, { epochs: 3, startEpoch: 2 })).rejects.toThrow(/runs to step 8 \(3 steps from step 5\)/);
    } finally {
      await t.close();
    }
  });

  it('is an error in LocalTrainer.fit too; a linear schedule that covers the run is not', () => {
    expect(() => new LocalTrainer(cosine(5)).fit(data, { epochs: 2 })).toThrow(/schedule\.totalSteps is 5, but this training runs to step 6/);
    const linear = new LocalTrainer(bilstmConfig({ schedule: { kind: 'linear', totalSteps: 6 } }));
    linear.fit(data, { epochs: 2 });
    expect(linear.step).toBe(6);
  });
});

const thp = transparentHugePagesOn();

describe.skipIf(!thp || !nativeAddon())('the arena\'s pages (Linux with transparent huge pages, the native addon built)', () => {
  it('a Trainer asks for huge pages under its arena as it creates it (before any worker binds), unless its kernels are wasm or reference', async () => {
    for (const [kernels, advised] of [['native', true], ['auto', true], ['wasm', false]] as const) {
      const t = new Trainer({ ...bilstmConfig(), workers: 1, kernels });
      try {
        expect(vmFlagsAt(nativeAddon()!.address(t.arena)).includes('hg'), `kernels: ${kernels}`).toBe(advised);
      } finally {
        await t.close();
      }
    }
  });
});

