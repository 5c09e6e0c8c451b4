/**
 * The Trainer's options: everything of a training run (@weft/core's TrainConfig) plus how to
 * run it on threads, and the options of its calls (fit, evaluate, predict). One type, one
 * defaults table and one validator each, built on @weft/core's option checks, so a mistake
 * (a misspelt key included) surfaces as an OptionError before any thread starts.
 */
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import {
  KERNEL_CHOICES, OptionError, TRAIN_CONFIG_KEYS, badOption, checkTrainMemory, definedOnly, keysOf, knownKeys, nonNegativeInt, objectOption, oneOf,
  positiveInt, positiveNumber, resolveTrainConfig, shardCount, splitKeys,
  type KernelChoice, type ResolvedTrainConfig, type TrainConfig,
} from '@weft/core';

// The kernel paths are @weft/core's (kernels/choose.ts); the pool resolves 'auto' once for all workers.
export { KERNEL_CHOICES, type KernelChoice };

export const FAULT_KINDS = ['throw', 'exit', 'hang', 'oom'] as const;
export const FAULT_PHASES = ['shards', 'update'] as const;

/** FOR TESTS: make a worker fail in the middle of a shard, to exercise recovery. */
export interface FaultInjection {
  /** 0-based step whose shard fails. */
  step: number;
  /** Shard that fails. */
  shard: number;
  /**
   * 'throw' an Error, 'exit' the thread (process.exit in a worker), 'hang' (never finish: the
   * step timeout must catch it), or 'oom' (ask the arena for more than it can hold: the real
   * out-of-memory error of an allocation, which must not be retried).
   */
  kind: (typeof FAULT_KINDS)[number];
  /**
   * Where: 'shards' (default) while computing `shard`; 'update' in phase C, right after the
   * worker has written the first chunk of its range (parameters partly updated; `shard` is ignored).
   */
  phase?: (typeof FAULT_PHASES)[number];
  /** On how many attempts of the step the fault fires (default 1: the first attempt fails, the retry succeeds). */
  times?: number;
}

const FAULT_KEYS = keysOf<FaultInjection>({ step: true, shard: true, kind: true, phase: true, times: true });

/** How to run a training config on threads: the Trainer's own options. */
export interface ThreadOptions {
  /**
   * Worker threads: at most the shards of a batch (ceil(batchSize / shardSize)), since a worker
   * computes whole shards (default: that many, or fewer: the pool's maxThreads when `pool` is
   * given, else os.availableParallelism()).
   */
  workers?: number;
  /**
   * The application's own piscina pool. The trainer runs one long task per worker on it (with
   * its own worker file), so it needs maxThreads >= workers and concurrentTasksPerWorker 1, and
   * those threads are busy until close(). The trainer does not destroy it.
   */
  pool?: Piscina;
  /** A command (step, evaluation) that makes no progress for this long counts as hung: its busy threads are terminated and it is redone (default 300000). */
  stepTimeoutMs?: number;
  /** How long starting (or replacing) worker loops may take (default 60000). */
  startTimeoutMs?: number;
  /** Redos of a step whose worker failed, before fit rejects (default 2). */
  maxRetries?: number;
  /**
   * Kernels of the workers: 'auto' (default: WEFT_KERNELS if set, else native where the addon
   * is built, else WebAssembly SIMD), 'native' or 'wasm' (fail where unavailable) or 'reference'
   * (TypeScript). The coordinator resolves it once for all workers. Results are bit-identical
   * for any worker count with a given path; across paths they agree to float rounding.
   */
  kernels?: KernelChoice;
  /**
   * Worker loops idle this long are parked: their tasks end, so the threads no longer keep the
   * process alive and a program that forgets close() still exits once training is done; the
   * next command starts them again, reusing what they had (default 1000; Infinity: never, until close()).
   */
  parkAfterMs?: number;
  /** FOR TESTS ONLY: make a worker fail at a given step and shard (see FaultInjection). */
  faultInjection?: FaultInjection;
}

const THREAD_KEYS = keysOf<ThreadOptions>({
  workers: true, pool: true, stepTimeoutMs: true, startTimeoutMs: true, maxRetries: true, kernels: true, parkAfterMs: true, faultInjection: true,
});

export interface TrainerOptions extends TrainConfig, ThreadOptions {}

/** Every key of TrainerOptions: the training config's and the threads'. */
export const TRAINER_KEYS: readonly (keyof TrainerOptions)[] = [...TRAIN_CONFIG_KEYS, ...THREAD_KEYS];

export const TRAINER_DEFAULTS = {
  stepTimeoutMs: 300_000,
  startTimeoutMs: 60_000,
  maxRetries: 2,
  kernels: 'auto',
  parkAfterMs: 1000,
} as const satisfies ThreadOptions;

/** The thread options with their defaults filled in: what the worker pool runs with, as they are. */
export type ResolvedThreadOptions = Required<Omit<ThreadOptions, 'pool' | 'faultInjection'>> & Pick<ThreadOptions, 'pool' | 'faultInjection'>;

export type ResolvedTrainerOptions = ResolvedThreadOptions & { config: ResolvedTrainConfig };

export function resolveTrainerOptions(o: TrainerOptions): ResolvedTrainerOptions {
  objectOption(o, 'options');
  knownKeys(o, TRAINER_KEYS, '', 'the trainer');
  const [t, train] = splitKeys(o, THREAD_KEYS);
  const pool = t.pool;
  if (pool !== undefined) {
    const p = pool as Partial<Piscina>;
    if (p === null || typeof p !== 'object' || typeof p.run !== 'function' || !p.options) throw new OptionError('pool must be a Piscina instance', 'pool');
    if (p.options.concurrentTasksPerWorker !== 1) {
      throw new OptionError(`pool must run one task per thread (concurrentTasksPerWorker 1), got concurrentTasksPerWorker ${p.options.concurrentTasksPerWorker}`, 'pool');
    }
  }
  const config = resolveTrainConfig(train);
  // A worker computes whole shards: more workers than shards would have nothing to do.
  const shards = shardCount(config.batchSize, config.shardSize);
  const workers = t.workers ?? Math.min(pool?.options.maxThreads ?? availableParallelism(), shards);
  positiveInt(workers, 'workers');
  if (pool && pool.options.maxThreads < workers) {
    throw new OptionError(`workers (${workers}) must not exceed the pool's maxThreads (${pool.options.maxThreads})`, 'workers');
  }
  if (workers > shards) {
    throw new OptionError(`workers is ${workers}, more than the ${shards} shard${shards === 1 ? '' : 's'} of a batch (batchSize ${config.batchSize} ` +
      `in shards of ${config.shardSize}): a worker computes whole shards, so ${workers - shards} would have no work; ` +
      `give at most ${shards} workers, or more shards with a smaller shardSize`, 'workers');
  }
  // Every worker holds its own activations: the run must fit with all of them.
  checkTrainMemory(config, { workers });
  const r = { ...TRAINER_DEFAULTS, ...definedOnly(t), workers };
  positiveNumber(r.stepTimeoutMs, 'stepTimeoutMs', 'milliseconds');
  positiveNumber(r.startTimeoutMs, 'startTimeoutMs', 'milliseconds');
  nonNegativeInt(r.maxRetries, 'maxRetries');
  oneOf(r.kernels, KERNEL_CHOICES, 'kernels');
  if (typeof r.parkAfterMs !== 'number' || !(r.parkAfterMs >= 0)) badOption('parkAfterMs', 'a number of milliseconds >= 0 (Infinity: never park)', r.parkAfterMs);
  const f = r.faultInjection;
  if (f !== undefined) {
    objectOption(f, 'faultInjection', 'an object { step, shard, kind }');
    knownKeys(f, FAULT_KEYS, 'faultInjection', 'a fault injection');
    nonNegativeInt(f.step, 'faultInjection.step');
    nonNegativeInt(f.shard, 'faultInjection.shard');
    oneOf(f.kind, FAULT_KINDS, 'faultInjection.kind');
    if (f.phase !== undefined) oneOf(f.phase, FAULT_PHASES, 'faultInjection.phase');
    if (f.times !== undefined) positiveInt(f.times, 'faultInjection.times');
    r.faultInjection = { ...f };
  }
  return { ...r, config };
}

// fit's options are the training loop's, checked by @weft/core's resolveFitOptions (train/loop.ts).
export { resolveFitOptions } from '@weft/core';

// evaluate's and predict's options are LocalTrainer's (@weft/core), checked by the same function.
export { checkPredictOptions as checkEvalOptions } from '@weft/core';
