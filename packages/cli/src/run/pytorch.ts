/**
 * The PyTorch export directory, both ways (docs/scale.md): what `weft export --format pytorch`
 * writes and `weft import` reads back, in one place, so the two cannot drift apart.
 *
 *   model.safetensors      the weights, weft's (= PyTorch's) names, layout order
 *   optimizer.safetensors  the optimizer's state, `<parameter>.<torch state name>` (exp_avg, ...),
 *                          when the checkpoint has one; metadata `step`
 *   meta.json              PytorchMeta: the resolved spec, the data meta (vocabulary, labels,
 *                          normalisation), the training settings, the step, the run's settings
 *   weft_model.py          the nn.Module, loss and data readers, built from meta.json
 *   train_ddp.py           torchrun-ready training that saves the first three again
 *
 * The two .py files are static (packages/cli/pytorch/), copied as they are.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT_IN_LAYERS, firstLayerNotIn, tempPathFor, type DataMeta, type ResolvedModelSpec, type ResolvedTrainConfig } from '@weft/core';
import type { RunConfig, RunProgress } from './checkpoint.js';

export const PYTORCH_FORMAT = 'weft-pytorch';
export const PYTORCH_VERSION = 1;
export const WEIGHTS_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const META_FILE = 'meta.json';
/** The static Python files an export carries, from packages/cli/pytorch/. */
export const PYTHON_FILES = ['weft_model.py', 'train_ddp.py'] as const;
export const PYTHON_DIR = fileURLToPath(new URL('../../pytorch/', import.meta.url));

/** meta.json. */
export interface PytorchMeta {
  format: typeof PYTORCH_FORMAT;
  version: typeof PYTORCH_VERSION;
  producer: string;
  /** The model spec with every default filled in: what weft_model.py builds. */
  spec: ResolvedModelSpec;
  /** The preprocessing: vocabulary, labels or tags, normalisation (weft's data meta). */
  data: DataMeta;
  /** Optimizer, schedule, batch size, shards, clipping, seed, state carrying: the run's, without the model. */
  training: Omit<ResolvedTrainConfig, 'model'>;
  /** Updates done so far (weft's, then train_ddp.py's). */
  step: number;
  /** `weft train`'s settings (task, epochs, the data files and flags) when the model is a run's; null for a library-saved model. */
  run: Pick<RunConfig, 'task' | 'epochs' | 'steps' | 'patience' | 'data'> | null;
  /** Where weft's run stood (its epoch, best validation loss), for the record. */
  progress: Omit<RunProgress, 'carry'> | null;
  /** Appended by train_ddp.py: what each PyTorch run did. */
  history?: unknown[];
}

/**
 * A spec's first layer that weft_model.py cannot build (a layer type of the user's own), as a
 * message; undefined when all are built in. Reads the spec as plain data (a stored one).
 */
export function foreignLayer(spec: { layers?: unknown; modules?: readonly string[] }): string | undefined {
  const l = firstLayerNotIn(spec.layers, BUILT_IN_LAYERS);
  if (!l) return undefined;
  return `model.layers[${l.index}] '${l.name ?? l.type}' is of type '${l.type}', a layer of your own (${spec.modules?.join(', ') || 'a registered module'}): ` +
    `weft_model.py builds weft's built-in layers only (${BUILT_IN_LAYERS.join(', ')}), so this model cannot be exported to PyTorch; ` +
    `--format safetensors still writes its weights`;
}

/** Whether a directory is there with something in it. */
export function nonEmptyDir(dir: string): boolean {
  return existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0);
}

/**
 * Fills a fresh temporary directory beside `dir` with `fill`, then puts it in `dir`'s place:
 * a reader never sees a half-written export, and a replaced one (--force) is removed only once
 * the new one is complete.
 */
export async function writeDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  const tmp = tempPathFor(dir);
  mkdirSync(tmp);
  try {
    await fill(tmp);
    if (existsSync(dir)) {
      const old = tempPathFor(dir);
      renameSync(dir, old);
      renameSync(tmp, dir);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(tmp, dir);
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The first wrong top-level field of a meta.json, as a message; undefined when its shape is right (the contents are checked by core). */
export function pytorchMetaProblem(m: unknown): string | undefined {
  if (m === null || typeof m !== 'object' || Array.isArray(m)) return 'must be a JSON object { format, version, spec, data, training, step, ... }';
  const o = m as Record<string, unknown>;
  if (o.format !== PYTORCH_FORMAT) return `format must be '${PYTORCH_FORMAT}' (written by weft export --format pytorch), got ${JSON.stringify(o.format)}`;
  if (o.version !== PYTORCH_VERSION) return `version must be ${PYTORCH_VERSION}, got ${JSON.stringify(o.version)}`;
  for (const k of ['spec', 'data', 'training'] as const) {
    if (o[k] === null || typeof o[k] !== 'object' || Array.isArray(o[k])) return `${k} must be an object, got ${JSON.stringify(o[k])}`;
  }
  if (!Number.isSafeInteger(o.step) || (o.step as number) < 0) return `step must be a non-negative integer, got ${JSON.stringify(o.step)}`;
  if (o.run !== undefined && o.run !== null && (typeof o.run !== 'object' || Array.isArray(o.run))) return `run must be an object or null, got ${JSON.stringify(o.run)}`;
  return undefined;
}

