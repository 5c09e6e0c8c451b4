/**
 * The CLI's checkpoint: @weft/core's model file (train/trained.ts: parameters by PyTorch name,
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
  RUN_CHECKPOINT_NAME, StepRunner, encodeCheckpoint, loadCheckpointSync, modelCheckpoint, modelFromCheckpoint, writeFileAtomicSync,
  type Checkpoint, type Layout, type ModelFileConfig, type OptimizerSnapshot,
} from '@weft/core';
import type { DataMeta, LoopState } from '@weft/core';
import { fileError, InputError, UsageError } from './errors.js';
import { storedFlagsProblem } from './flags.js';
import type { ValidScores } from './metrics.js';
import { TASKS, type DataFlags, type TaskName } from './task.js';

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

/**
 * Where training stands (`extra`): the training loop's position (epoch, batch of the next step)
 * and, optional for older checkpoints, its meter; the rest in this file's own terms (1-based best
 * epoch with the run's scores, the early-stopping count, seconds, the carried state), which
 * train.ts's loopStateOf/progressOf translate to and from core's LoopState.
 */
export interface RunProgress extends Pick<LoopState, 'epoch' | 'batch'>, Partial<Pick<LoopState, 'meter'>> {
  bestValidLoss: number | null;
  /** The epoch (1-based) of bestValidLoss, its step and validation accuracy (absent in older checkpoints). */
  best?: { epoch: number; step: number } & ValidScores;
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

/** A run's state as the bytes of its checkpoint file. */
export function encodeRun(r: Omit<RunCheckpoint, 'file' | 'layout'>): Uint8Array {
  const config: RunConfig = { ...r.config, epochs: r.config.epochs === Infinity ? null : r.config.epochs };
  return encodeCheckpoint(modelCheckpoint({
    config, params: r.params, step: r.step, optimizer: r.optimizer, extra: r.progress,
  }));
}

/** Writes a run's checkpoint atomically; a failure names the file and the cause (a full disk, a read-only file system). */
export function saveRun(file: string, r: Omit<RunCheckpoint, 'file' | 'layout'>): void {
  try {
    writeFileAtomicSync(file, encodeRun(r));
  } catch (e) {
    throw fileError(file, e, 'save the checkpoint');
  }
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
  return runFromCheckpoint(loadCheckpointSync(file), file);
}

/** A run of a checkpoint already read (and its checksum checked), `file` naming it in messages. */
export function runFromCheckpoint(data: Checkpoint, file: string): RunCheckpoint {
  // Core's one reader: the model config (training config and meta checked whole, limits
  // included), names, shapes and optimizer-state sizes.
  const m = modelFromCheckpoint(data, file);
  const config = m.config as RunConfig;
  if (config.meta === undefined) {
    throw new InputError(`${file}: a weft model saved without its data meta (vocabulary, labels), which weft commands need: save it with { meta }`);
  }
  let progress: RunProgress;
  if (config.task === undefined) {
    // Saved by the library (TrainedModel.save), not by 'weft train': none of a run's settings.
    Object.assign(config, { task: config.meta.task, epochs: null, steps: null, patience: null, data: { file: null, valid: null, flags: { seed: config.train.seed } } });
    progress = { epoch: 0, batch: 0, bestValidLoss: null, staleEpochs: 0, seconds: 0 };
  } else {
    // The run's own fields, before anything reads them.
    const bad = runConfigProblem(config) ?? progressProblem(m.extra, config);
    if (bad !== undefined) throw new InputError(`${file}: ${bad}`);
    progress = m.extra as RunProgress;
  }
  if (config.epochs === null) config.epochs = Infinity;
  return { file, config, progress, layout: m.layout, params: m.params, optimizer: m.optimizer, step: m.step };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown, min: number): boolean => Number.isSafeInteger(v) && (v as number) >= min;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const got = (v: unknown): string => (v === undefined ? 'it is missing' : `got ${typeof v === 'string' ? JSON.stringify(v) : v instanceof Float32Array ? `${v.length} floats` : JSON.stringify(v)}`);

/** The first wrong field of a run's settings (beyond core's train and meta), as `config.<field> must be ..., got ...`. */
function runConfigProblem(c: RunConfig): string | undefined {
  const u = c as unknown as Record<string, unknown>;
  if (!(TASKS as readonly unknown[]).includes(u.task)) return `config.task must be one of ${TASKS.join(', ')}, ${got(u.task)}`;
  const metaTask = c.task === 'names' ? 'classify' : c.task;
  if (c.meta.task !== metaTask) return `config.task is '${c.task}' but config.meta is the meta of a ${c.meta.task} model`;
  for (const k of ['epochs', 'steps', 'patience'] as const) {
    if (u[k] !== null && !isCount(u[k], 1)) return `config.${k} must be a positive integer or null, ${got(u[k])}`;
  }
  const d = u.data;
  if (!isObject(d)) return `config.data must be an object { file, valid, flags }, ${got(d)}`;
  for (const k of ['file', 'valid'] as const) {
    if (d[k] !== null && (typeof d[k] !== 'string' || d[k] === '')) return `config.data.${k} must be a file name or null, ${got(d[k])}`;
  }
  if (!isObject(d.flags)) return `config.data.flags must be an object of the run's data flags, ${got(d.flags)}`;
  const flag = storedFlagsProblem(d.flags);
  if (flag !== undefined) return `config.data.flags.${flag}`;
  if (d.sha256 !== undefined) {
    if (!isObject(d.sha256)) return `config.data.sha256 must be an object { data?, valid? }, ${got(d.sha256)}`;
    for (const [k, v] of Object.entries(d.sha256)) {
      if (!['data', 'valid'].includes(k) || typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) return `config.data.sha256.${k} must be the SHA-256 of the ${k} file in hex, ${got(v)}`;
    }
  }
  return undefined;
}

/** The first wrong field of where a run stands (the checkpoint's `extra`), as `extra.<field> must be ..., got ...`. */
function progressProblem(extra: unknown, c: RunConfig): string | undefined {
  if (!isObject(extra)) return `extra (where the run stands) must be an object { epoch, batch, ... }, ${got(extra)}`;
  for (const k of ['epoch', 'batch', 'staleEpochs'] as const) {
    if (!isCount(extra[k], 0)) return `extra.${k} must be a non-negative integer, ${got(extra[k])}`;
  }
  if (c.epochs !== null && (extra.epoch as number) > c.epochs) return `extra.epoch is ${extra.epoch as number}, past the run's ${c.epochs} epochs (config.epochs)`;
  if (extra.bestValidLoss !== null && !isFiniteNumber(extra.bestValidLoss)) return `extra.bestValidLoss must be a finite number or null, ${got(extra.bestValidLoss)}`;
  if (!isFiniteNumber(extra.seconds) || extra.seconds < 0) return `extra.seconds must be a number of seconds ≥ 0, ${got(extra.seconds)}`;
  const b = extra.best;
  if (b !== undefined) {
    if (!isObject(b)) return `extra.best must be an object { epoch, step, loss }, ${got(b)}`;
    if (!isCount(b.epoch, 1)) return `extra.best.epoch must be a positive integer, ${got(b.epoch)}`;
    if (!isCount(b.step, 0)) return `extra.best.step must be a non-negative integer, ${got(b.step)}`;
    if (!isFiniteNumber(b.loss)) return `extra.best.loss must be a finite number, ${got(b.loss)}`;
    if (b.accuracy !== undefined && !(isFiniteNumber(b.accuracy) && b.accuracy >= 0 && b.accuracy <= 1)) return `extra.best.accuracy must be a number in [0, 1], ${got(b.accuracy)}`;
  }
  if (extra.carry != null || c.train.carryState) {
    const n = c.train.carryState ? StepRunner.carrySize(c.train.model, c.train.batchSize) : 0;
    if (!(extra.carry instanceof Float32Array) || extra.carry.length !== n) {
      return `extra.carry must be the ${n} floats of state the run carries between batches, ${got(extra.carry)}`;
    }
  }
  return undefined;
}

/** Parameter tensors holding values that are not finite (NaN, ±Infinity): name and count; empty when all are. */
export function nonFiniteParameters(run: Pick<RunCheckpoint, 'layout' | 'params'>): { name: string; count: number }[] {
  const out: { name: string; count: number }[] = [];
  for (const e of run.layout.entries) {
    let n = 0;
    for (let i = e.offset; i < e.offset + e.size; i++) if (!Number.isFinite(run.params[i]!)) n++;
    if (n > 0) out.push({ name: e.name, count: n });
  }
  return out;
}

/** What to say of a model whose weights are not all finite, or undefined when they are. */
export function nonFiniteMessage(run: Pick<RunCheckpoint, 'file' | 'layout' | 'params'>): string | undefined {
  const bad = nonFiniteParameters(run);
  if (!bad.length) return undefined;
  const total = bad.reduce((a, b) => a + b.count, 0);
  const where = bad.slice(0, 3).map((b) => `${b.name} (${b.count})`).join(', ') + (bad.length > 3 ? `, and ${bad.length - 3} more` : '');
  return `${run.file}: ${total} of its ${run.layout.size} parameter values are not finite (NaN or infinite), in ${where}: ` +
    'the training that wrote it diverged, and its outputs would be NaN; train again with a lower --lr or with --clip-norm';
}
