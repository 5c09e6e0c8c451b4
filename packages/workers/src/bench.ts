/**
 * The engine that times the reference workloads of WORKLOADS.md (their table is @weft/core's
 * train/workloads.ts) on the pool: one optimizer step (Adam, lr 1e-3) at a time on one synthetic global batch,
 * median over several steps after warm-up. The CLI's `weft bench` and bench/workers.mjs call
 * `runWorkload`; nothing here is a test.
 */
import { keysOf, knownKeys, nonNegativeInt, nonNegativeNumber, objectOption, positiveInt, synthesizeWorkload, workload, workloadFlops, type WorkloadName } from '@weft/core';
import type { KernelChoice } from './options.js';
import type { StepPhases } from './events.js';
import { Trainer } from './trainer.js';

export interface RunWorkloadOptions {
  /** Worker threads (default: os.availableParallelism()). */
  workers?: number;
  /** Timed steps (default 5): at least these, and more while `minSeconds` has not passed. */
  steps?: number;
  /** Untimed steps first (default 1): at least these, and more while `warmupSeconds` has not passed. */
  warmup?: number;
  /**
   * Keep timing steps past `steps` until they add up to this many seconds (default 0: exactly
   * `steps`), at most MAX_STEPS: a workload of 5 ms steps needs hundreds for a stable median
   * (the JIT is still at work after a few).
   */
  minSeconds?: number;
  /** Keep warming up past `warmup` until this many seconds have passed (default 0), at most MAX_STEPS. */
  warmupSeconds?: number;
  /** Sequences per shard (default: the batch cut into 16 shards). */
  shardSize?: number;
  kernels?: KernelChoice;
}

const RUN_WORKLOAD_KEYS = keysOf<RunWorkloadOptions>({
  workers: true, steps: true, warmup: true, minSeconds: true, warmupSeconds: true, shardSize: true, kernels: true,
});

/** The most steps a time floor (minSeconds, warmupSeconds) adds up to. */
export const MAX_STEPS = 2000;

export interface WorkloadResult {
  name: WorkloadName;
  workers: number;
  kernels: string;
  batch: number;
  seqLength: number;
  shards: number;
  params: number;
  /** Median wall time of one step (ms). */
  stepMs: number;
  /** B*T / median step time. */
  tokensPerSecond: number;
  gflops: number;
  /** Median over steps of the mean per-worker time at barriers + reduce (ms). */
  syncMs: number;
  /** Median over steps of the mean per-worker time computing shards (ms). */
  computeMs: number;
  /** Median over steps of each phase of the step's critical path (ms; StepEvent.phases). */
  phases: StepPhases;
  /** Every timed step's wall time (ms). */
  stepTimes: number[];
  /** Peak resident memory of the process so far (MB): main thread and workers together. */
  peakRssMB: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Times the workload on a fresh Trainer with `workers` threads. */
export async function runWorkload(name: WorkloadName | string, opts: RunWorkloadOptions = {}): Promise<WorkloadResult> {
  const w = workload(name);
  objectOption(opts, 'options');
  knownKeys(opts, RUN_WORKLOAD_KEYS, '', 'runWorkload');
  const steps = opts.steps ?? 5;
  const warmup = opts.warmup ?? 1;
  const minMs = 1000 * (opts.minSeconds ?? 0);
  const warmupMs = 1000 * (opts.warmupSeconds ?? 0);
  positiveInt(steps, 'steps');
  nonNegativeInt(warmup, 'warmup');
  nonNegativeNumber(opts.minSeconds ?? 0, 'minSeconds');
  nonNegativeNumber(opts.warmupSeconds ?? 0, 'warmupSeconds');
  const data = synthesizeWorkload(w.name);
  const rows = Int32Array.from({ length: w.batch }, (_, i) => i);
  const trainer = new Trainer({
    model: w.model, optimizer: { name: 'adam', lr: 1e-3 }, batchSize: w.batch, seed: 1,
    ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    ...(opts.shardSize !== undefined ? { shardSize: opts.shardSize } : {}),
    ...(opts.kernels !== undefined ? { kernels: opts.kernels } : {}),
  });
  try {
    await trainer.start();
    const t0 = performance.now();
    for (let i = 0; i < Math.max(warmup, MAX_STEPS) && (i < warmup || performance.now() - t0 < warmupMs); i++) await trainer.trainStep(data, rows);
    const times: number[] = [];
    const sync: number[] = [];
    const compute: number[] = [];
    const phases: StepPhases[] = [];
    let timed = 0;
    for (let i = 0; i < Math.max(steps, MAX_STEPS) && (i < steps || timed < minMs); i++) {
      const e = await trainer.trainStep(data, rows);
      timed += e.stepMs;
      times.push(e.stepMs);
      sync.push(e.syncMs);
      compute.push(e.computeMs);
      phases.push(e.phases);
    }
    const phase = (k: keyof StepPhases): number => median(phases.map((p) => p[k]));
    const stepMs = median(times);
    return {
      name: w.name,
      workers: trainer.workers,
      kernels: trainer.kernels ?? 'unknown',
      batch: w.batch,
      seqLength: w.steps,
      shards: trainer.layout.shards,
      params: trainer.layout.paramCount,
      stepMs,
      tokensPerSecond: (w.batch * w.steps * 1000) / stepMs,
      gflops: workloadFlops(w.name) / (stepMs * 1e6),
      syncMs: median(sync),
      computeMs: median(compute),
      phases: { wakeMs: phase('wakeMs'), shardsMs: phase('shardsMs'), reduceMs: phase('reduceMs'), updateMs: phase('updateMs'), ackMs: phase('ackMs') },
      stepTimes: times,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    await trainer.close();
  }
}
