/**
 * The CLI's checkpoint: @weft/core's model file (model/trained.ts: parameters by PyTorch name,
 * optimizer state, step, the training config and data meta; SHA-256, atomic write), read and
 * written with core's modelFromCheckpoint / modelCheckpoint, plus the run's settings in `config`
 * and where training stands in `extra`, so `--resume` continues exactly from it. `loadModel` of
 * @weft/core reads these files too.
 *
 * A run directory holds three: `last.weft`, the latest state (what --resume continues);
 * `best.weft`, the state after the epoch with the lowest validation loss; and `model.weft`, the
 * run's model (what --model RUNDIR loads): a copy of best.weft, or of last.weft with
 * --keep-last or without validation data.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  RUN_CHECKPOINT_NAME, loadCheckpointSync, modelCheckpoint, modelFromCheckpoint, saveCheckpointSync,
  type Layout, type ModelFileConfig, type OptimizerSnapshot,
} from '@weft/core';
import type { DataMeta } from '@weft/core';
import { InputError, UsageError } from './errors.js';
import type { DataFlags, TaskName } from './task.js';

export const CHECKPOINT_NAME = RUN_CHECKPOINT_NAME;
export const BEST_NAME = 'best.weft';
export const LAST_NAME = 'last.weft';

/** What `config` holds in a weft CLI checkpoint: core's model file config and the run's settings. */
export interface RunConfig extends ModelFileConfig {
  task: TaskName;
  meta: DataMeta;
  /** Epochs the run was asked for (Infinity is stored as null: steps decide). */
  epochs: number | null;
  /** Step limit, or null. */
  steps: number | null;
  patience: number | null;
  /** The data the run was trained on (for messages and resume). */
  data: { file: string | null; valid: string | null; flags: DataFlags; sha256?: { data?: string; valid?: string } };
}

/** Where training stands (`extra`). */
export interface RunProgress {
  /** Epoch of the next batch (0-based). */
  epoch: number;
  /** Index of the next batch within that epoch. */
  batch: number;
  bestValidLoss: number | null;
  /** The epoch (1-based) of bestValidLoss, its step and validation accuracy (absent in older checkpoints). */
  best?: { epoch: number; step: number; loss: number; accuracy?: number };
  /** Epochs without improvement of the validation loss. */
  staleEpochs: number;
  /** lm: the streams' carried state before the next batch. */
  carry?: Float32Array;
  /** Seconds trained so far. */
  seconds: number;
}

export interface RunCheckpoint {
  file: string;
  config: RunConfig;
  progress: RunProgress;
  layout: Layout;
  params: Float32Array;
  optimizer?: OptimizerSnapshot;
  step: number;
}

export function saveRun(file: string, r: Omit<RunCheckpoint, 'file' | 'layout'>): void {
  const config: RunConfig = { ...r.config, epochs: r.config.epochs === Infinity ? null : r.config.epochs };
  saveCheckpointSync(file, modelCheckpoint({
    config, params: r.params, step: r.step, optimizer: r.optimizer, extra: r.progress,
  }));
}

/** `--model` may name the checkpoint or its run directory. */
export function resolveModelPath(p: string | undefined): string {
  if (p === undefined) throw new UsageError('--model is required: a checkpoint (model.weft) or the run directory that holds it');
  if (existsSync(p) && statSync(p).isDirectory()) {
    const f = path.join(p, CHECKPOINT_NAME);
    if (!existsSync(f)) throw new InputError(`${p}: no ${CHECKPOINT_NAME} in this directory`);
    return f;
  }
  if (!existsSync(p)) throw new InputError(`${p}: no such checkpoint`);
  return p;
}

/** `--resume` may name a checkpoint or a run directory: its last.weft (model.weft in runs that have none). */
export function resolveResumePath(p: string): string {
  if (existsSync(p) && statSync(p).isDirectory()) {
    const last = path.join(p, LAST_NAME);
    if (existsSync(last)) return last;
    const model = path.join(p, CHECKPOINT_NAME);
    if (existsSync(model)) return model;
    throw new InputError(`${p}: no ${LAST_NAME} in this directory to resume from`);
  }
  return resolveModelPath(p);
}

export function loadRun(p: string | undefined): RunCheckpoint {
  const file = resolveModelPath(p);
  // Core's one reader: the model config, names, shapes and optimizer-state sizes, the meta.
  const m = modelFromCheckpoint(loadCheckpointSync(file), file);
  const config = m.config as RunConfig;
  if (config.meta === undefined) {
    throw new InputError(`${file}: a weft model saved without its data meta (vocabulary, labels), which weft commands need: save it with { meta }`);
  }
  if (config.task === undefined) {
    // Saved by the library (TrainedModel.save), not by 'weft train': none of a run's settings.
    Object.assign(config, { task: config.meta.task, epochs: null, steps: null, patience: null, data: { file: null, valid: null, flags: { seed: config.train.seed } } });
  }
  if (config.epochs === null) config.epochs = Infinity;
  return { file, config, progress: m.extra as RunProgress, layout: m.layout, params: m.params, optimizer: m.optimizer, step: m.step };
}
