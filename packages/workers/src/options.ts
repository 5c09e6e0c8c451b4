/**
 * The Trainer's options: everything of a training run (@weft/core's TrainConfig) plus how to
 * run it on threads. One type, one defaults table, one validator whose messages name the option
 * (piscina's pattern), run in the constructor so a mistake surfaces before any thread starts.
 */
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import { KERNEL_CHOICES, resolveTrainConfig, type ResolvedTrainConfig, type TrainConfig } from '@weft/core';
import type { FaultInjection, KernelChoice } from './loop.js';

export interface TrainerOptions extends TrainConfig {
  /** Worker threads (default: the pool's maxThreads when `pool` is given, else os.availableParallelism()). */
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
  /** FOR TESTS ONLY: make a worker fail at a given step and shard (see FaultInjection). */
  faultInjection?: FaultInjection;
}

export const TRAINER_DEFAULTS = {
  stepTimeoutMs: 300_000,
  startTimeoutMs: 60_000,
  maxRetries: 2,
} as const;

export interface ResolvedTrainerOptions {
  config: ResolvedTrainConfig;
  workers: number;
  pool?: Piscina;
  stepTimeoutMs: number;
  startTimeoutMs: number;
  maxRetries: number;
  kernels: KernelChoice;
  faultInjection?: FaultInjection;
}

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : typeof v === 'number' || v == null || typeof v === 'boolean' ? String(v) : JSON.stringify(v) ?? String(v));

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${name} must be a positive integer, got ${show(v)}`);
  return v;
}

function positiveNumber(v: unknown, name: string): number {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new TypeError(`${name} must be a positive number of milliseconds, got ${show(v)}`);
  return v;
}

export function resolveTrainerOptions(o: TrainerOptions): ResolvedTrainerOptions {
  if (o === null || typeof o !== 'object') throw new TypeError(`options must be an object, got ${show(o)}`);
  const pool = o.pool;
  if (pool !== undefined) {
    const p = pool as Partial<Piscina>;
    if (p === null || typeof p !== 'object' || typeof p.run !== 'function' || !p.options) {
      throw new TypeError('pool must be a Piscina instance');
    }
    if (p.options.concurrentTasksPerWorker !== 1) {
      throw new RangeError(`pool must run one task per thread (concurrentTasksPerWorker 1), got concurrentTasksPerWorker ${p.options.concurrentTasksPerWorker}`);
    }
  }
  const workers = positiveInt(o.workers ?? pool?.options.maxThreads ?? availableParallelism(), 'workers');
  if (pool && pool.options.maxThreads < workers) {
    throw new RangeError(`workers (${workers}) must not exceed the pool's maxThreads (${pool.options.maxThreads})`);
  }
  const stepTimeoutMs = positiveNumber(o.stepTimeoutMs ?? TRAINER_DEFAULTS.stepTimeoutMs, 'stepTimeoutMs');
  const startTimeoutMs = positiveNumber(o.startTimeoutMs ?? TRAINER_DEFAULTS.startTimeoutMs, 'startTimeoutMs');
  const maxRetries = o.maxRetries ?? TRAINER_DEFAULTS.maxRetries;
  if (typeof maxRetries !== 'number' || !Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new TypeError(`maxRetries must be a non-negative integer, got ${show(maxRetries)}`);
  }
  const kernels = o.kernels ?? 'auto';
  if (!KERNEL_CHOICES.includes(kernels)) throw new TypeError(`kernels must be one of ${KERNEL_CHOICES.join(', ')}, got ${show(kernels)}`);
  const f = o.faultInjection;
  if (f !== undefined) {
    if (f === null || typeof f !== 'object') throw new TypeError(`faultInjection must be an object { step, shard, kind }, got ${show(f)}`);
    if (typeof f.step !== 'number' || !Number.isInteger(f.step) || f.step < 0) throw new TypeError(`faultInjection.step must be a non-negative integer, got ${show(f.step)}`);
    if (typeof f.shard !== 'number' || !Number.isInteger(f.shard) || f.shard < 0) throw new TypeError(`faultInjection.shard must be a non-negative integer, got ${show(f.shard)}`);
    if (!['throw', 'exit', 'hang'].includes(f.kind)) throw new TypeError(`faultInjection.kind must be 'throw', 'exit' or 'hang', got ${show(f.kind)}`);
    if (f.times !== undefined) positiveInt(f.times, 'faultInjection.times');
  }
  const { workers: _w, pool: _p, stepTimeoutMs: _s, startTimeoutMs: _st, maxRetries: _m, kernels: _k, faultInjection: _f, ...train } = o;
  const config = resolveTrainConfig(train);
  return {
    config, workers, stepTimeoutMs, startTimeoutMs, maxRetries, kernels,
    ...(pool ? { pool } : {}),
    ...(f ? { faultInjection: { ...f } } : {}),
  };
}
