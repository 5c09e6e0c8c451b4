/**
 * Everything that defines a training run besides the data: model, optimizer, schedule,
 * batch, shards, clipping, seed. One typed object with one defaults table, shared by the
 * single-thread trainer, the pool and the CLI (and stored in checkpoints).
 */
import type { ModelConfig } from '../model/model.js';
import type { OptimizerSpec, ScheduleSpec } from '../optim/index.js';
import { positiveInt } from '../stack/config.js';
import { defaultShardSize } from './step.js';

export interface TrainConfig {
  model: ModelConfig;
  /** Default { name: 'adam', lr: 1e-3 }. */
  optimizer?: OptimizerSpec;
  /** Default constant learning rate. */
  schedule?: ScheduleSpec;
  /** Sequences per global batch (default 32). */
  batchSize?: number;
  /** Sequences per shard (default: the batch cut into at most 16 shards). Fixes the result; the worker count does not. */
  shardSize?: number;
  /** Global-norm clipping threshold, 0 = off (default 0). */
  clipNorm?: number;
  /** Element-wise clipping threshold, 0 = off (default 0). */
  clipValue?: number;
  /** Seed of data order and dropout (default: the model's seed). */
  seed?: number;
  /**
   * Truncated BPTT over streams: batches are taken in dataset order, row i of a batch continues
   * row i of the previous batch, and each row's final state starts the same row of the next
   * batch (gradients stop at the batch boundary). The state restarts at each epoch (default false).
   */
  carryState?: boolean;
  /** A non-finite loss or gradient: skip the step with a warning, or stop with an error (default 'error'). */
  nonFinite?: 'skip' | 'error';
}

export type ResolvedTrainConfig = Required<Omit<TrainConfig, 'schedule'>> & { schedule?: ScheduleSpec };

export function resolveTrainConfig(c: TrainConfig): ResolvedTrainConfig {
  if (c === null || typeof c !== 'object') throw new TypeError('train config must be an object');
  if (!c.model || typeof c.model !== 'object') throw new TypeError('model must be an object (the model config)');
  const batchSize = c.batchSize ?? 32;
  positiveInt(batchSize, 'batchSize');
  const shardSize = c.shardSize ?? defaultShardSize(batchSize);
  positiveInt(shardSize, 'shardSize');
  const clipNorm = c.clipNorm ?? 0;
  const clipValue = c.clipValue ?? 0;
  if (typeof clipNorm !== 'number' || !(clipNorm >= 0)) throw new RangeError(`clipNorm must be a number >= 0 (0 = off), got ${JSON.stringify(c.clipNorm)}`);
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new RangeError(`clipValue must be a number >= 0 (0 = off), got ${JSON.stringify(c.clipValue)}`);
  const seed = c.seed ?? c.model.seed ?? 0;
  if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${JSON.stringify(seed)}`);
  const nonFinite = c.nonFinite ?? 'error';
  if (nonFinite !== 'skip' && nonFinite !== 'error') throw new TypeError(`nonFinite must be 'skip' or 'error', got ${JSON.stringify(nonFinite)}`);
  const carryState = c.carryState ?? false;
  if (typeof carryState !== 'boolean') throw new TypeError(`carryState must be a boolean, got ${JSON.stringify(c.carryState)}`);
  return {
    carryState,
    model: c.model, optimizer: c.optimizer ?? { name: 'adam', lr: 1e-3 }, schedule: c.schedule,
    batchSize, shardSize, clipNorm, clipValue, seed, nonFinite,
  };
}
