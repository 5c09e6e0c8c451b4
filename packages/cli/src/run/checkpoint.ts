/**
 * The CLI's checkpoint (`model.weft`): core's checkpoint file (parameters by PyTorch name,
 * optimizer state, step; SHA-256, atomic write) with the run's config and data meta in
 * `config`, and where training stands in `extra`, so `--resume` continues exactly.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  loadCheckpointSync, modelLayout, paramsFromLayout, paramsIntoLayout, saveCheckpointSync,
  type Checkpoint, type Layout, type OptimizerSnapshot, type ResolvedTrainConfig,
} from '@weft/core';
import type { DataMeta } from '@weft/core';
import { InputError } from './errors.js';
import type { DataFlags, TaskName } from './task.js';

export const CHECKPOINT_NAME = 'model.weft';
export const BEST_NAME = 'best.weft';

/** What `config` holds in a weft CLI checkpoint. */
export interface RunConfig {
  kind: 'weft-run';
  task: TaskName;
  meta: DataMeta;
  train: ResolvedTrainConfig;
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
  const layout = modelLayout(r.config.train.model);
  const { params, shapes } = paramsFromLayout(layout, r.params);
  saveCheckpointSync(file, {
    config: { ...r.config, epochs: r.config.epochs === Infinity ? null : r.config.epochs },
    params, shapes, step: r.step,
    optimizer: r.optimizer ? { name: r.optimizer.name, options: r.optimizer.options, step: r.optimizer.step, states: r.optimizer.states } : undefined,
    extra: r.progress,
  });
}

/** `--model` may name the checkpoint or its run directory. */
export function resolveModelPath(p: string | undefined): string {
  if (p === undefined) throw new InputError('--model is required: a checkpoint (model.weft) or the run directory that holds it');
  if (existsSync(p) && statSync(p).isDirectory()) {
    const f = path.join(p, CHECKPOINT_NAME);
    if (!existsSync(f)) throw new InputError(`${p}: no ${CHECKPOINT_NAME} in this directory`);
    return f;
  }
  if (!existsSync(p)) throw new InputError(`${p}: no such checkpoint`);
  return p;
}

export function loadRun(p: string | undefined): RunCheckpoint {
  const file = resolveModelPath(p);
  const ck: Checkpoint = loadCheckpointSync(file);
  const config = ck.config as RunConfig;
  if (!config || config.kind !== 'weft-run' || !config.train?.model) {
    throw new InputError(`${file}: a weft checkpoint, but not one written by 'weft train' (no run config inside)`);
  }
  if (config.epochs === null) config.epochs = Infinity;
  const layout = modelLayout(config.train.model);
  const params = new Float32Array(layout.size);
  // Names, shapes and optimizer-state sizes against the model the config describes.
  paramsIntoLayout(ck, layout, params, file);
  const o = ck.optimizer;
  const optimizer = o ? { name: o.name, options: o.options, step: o.step, states: o.states } as OptimizerSnapshot : undefined;
  return { file, config, progress: ck.extra as RunProgress, layout, params, optimizer, step: ck.step };
}
