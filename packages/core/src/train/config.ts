/**
 * Everything that defines a training run besides the data: model, optimizer, schedule,
 * batch, shards, clipping, seed. One typed object with one defaults table, shared by the
 * single-thread trainer, the pool and the CLI (and stored in checkpoints).
 */
import { isModelSpec, planModel, type ModelDefinition } from '../model/model.js';
import { createOptimizer, createSchedule, type OptimizerSpec, type ScheduleSpec } from '../optim/index.js';
import { badOption, booleanOption, integerOption, keysOf, knownKeys, objectOption, oneOf, positiveInt } from '../options/validate.js';
import { checkTrainMemory } from './limits.js';
import { defaultShardSize } from './step.js';

export const NON_FINITE_POLICIES = ['skip', 'error'] as const;

export interface TrainConfig {
  /** A model spec (plain JSON: input, layers, loss) or a model config (the preset one-stack model). */
  model: ModelDefinition;
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
  /**
   * A non-finite loss or gradient: skip the step with a warning, or stop with an error (default
   * 'error'; an evaluation whose loss is not finite then throws NonFiniteError too).
   */
  nonFinite?: (typeof NON_FINITE_POLICIES)[number];
}

/** Every key of TrainConfig (what knownKeys accepts). */
export const TRAIN_CONFIG_KEYS = keysOf<TrainConfig>({
  model: true, optimizer: true, schedule: true, batchSize: true, shardSize: true, clipNorm: true, clipValue: true,
  seed: true, carryState: true, nonFinite: true,
});

export type ResolvedTrainConfig = Required<Omit<TrainConfig, 'schedule'>> & { schedule?: ScheduleSpec };

/** Messages name the options as written at the top level (`batchSize`, `model.hiddenSize`). */
export function resolveTrainConfig(c: TrainConfig): ResolvedTrainConfig {
  objectOption(c, 'train config');
  knownKeys(c, TRAIN_CONFIG_KEYS, '', 'the training config');
  const plan = planModel(c.model); // checked here, so a bad model fails before anything is built
  const batchSize = c.batchSize ?? 32;
  positiveInt(batchSize, 'batchSize');
  const shardSize = c.shardSize ?? defaultShardSize(batchSize);
  positiveInt(shardSize, 'shardSize');
  const clipNorm = c.clipNorm ?? 0;
  const clipValue = c.clipValue ?? 0;
  if (typeof clipNorm !== 'number' || !(clipNorm >= 0)) badOption('clipNorm', 'a number >= 0 (0 = off)', c.clipNorm);
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) badOption('clipValue', 'a number >= 0 (0 = off)', c.clipValue);
  const seed = c.seed ?? c.model.seed ?? 0;
  integerOption(seed, 'seed');
  const nonFinite = c.nonFinite ?? 'error';
  oneOf(nonFinite, NON_FINITE_POLICIES, 'nonFinite');
  const carryState = c.carryState ?? false;
  booleanOption(carryState, 'carryState');
  const optimizer = c.optimizer ?? { name: 'adam', lr: 1e-3 };
  // The optimizer and schedule are checked here too, so a stored config (a checkpoint) is checked whole.
  const lr = createOptimizer(optimizer).options.lr;
  if (c.schedule !== undefined) createSchedule(c.schedule, lr);
  const resolved: ResolvedTrainConfig = {
    carryState,
    // A spec with every default filled in (what checkpoints store); a model config as given (its preset form).
    model: isModelSpec(c.model) ? plan.spec : c.model, optimizer, schedule: c.schedule,
    batchSize, shardSize, clipNorm, clipValue, seed, nonFinite,
  };
  // What the config alone needs (parameters, optimizer state, one shard's activations) must fit.
  checkTrainMemory(resolved);
  return resolved;
}
