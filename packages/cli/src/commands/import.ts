/**
 * `weft import DIR`: a PyTorch export directory (run/pytorch.ts: `weft export --format pytorch`,
 * perhaps trained on by train_ddp.py since) back into a weft model file that eval, predict,
 * generate and `train --resume` read. Nothing is guessed: the weights must be exactly the
 * tensors of meta.json's model (every name, shape and dtype; a missing, extra or misshapen one is
 * refused by name), and the optimizer state, when there is one, exactly the state weft's
 * optimizer keeps for each of them. The file written is checked by the reader every command uses
 * before it takes the place of --out (atomically; an existing one only with --force).
 *
 * A resumed import continues with the weights, the optimizer state and the step count (so the
 * learning-rate schedule), the run's data and settings; its epochs count from 0 again (PyTorch's
 * epochs are not weft's), so `--resume M --epochs N` trains N more.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  MODEL_FILE_KIND, StepRunner, createOptimizer, decodeCheckpoint, decodeSafetensors, encodeCheckpoint, modelCheckpoint, planModel,
  tensorsIntoLayout, writeFileAtomicSync, type Layout, type ModelPlan, type OptimizerSnapshot, type Tensor,
} from '@weft/core';
import { encodeRun, runFromCheckpoint, BEST_NAME, CHECKPOINT_NAME, LAST_NAME, type RunConfig, type RunProgress } from '../run/checkpoint.js';
import { fileError, InputError } from '../run/errors.js';
import type { Output } from '../run/output.js';
import { META_FILE, OPTIMIZER_FILE, WEIGHTS_FILE, pytorchMetaProblem, type PytorchMeta } from '../run/pytorch.js';

export interface ImportArgs {
  dir?: string;
  out?: string;
  force?: boolean;
}

export async function importCommand(a: ImportArgs, out: Output): Promise<number> {
  const dir = a.dir!; // required (run/flags.ts)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new InputError(`${dir}: no such directory; weft import reads the directory that weft export --format pytorch wrote`);
  }
  const target = a.out ?? path.join(dir, CHECKPOINT_NAME);
  const asFile = target.endsWith('.weft');
  const meta = readMeta(path.join(dir, META_FILE));
  const plan = planOf(meta, path.join(dir, META_FILE));
  // Where the model goes: one file, or a run directory with model.weft (and last.weft to resume from).
  const optimizerFile = path.join(dir, OPTIMIZER_FILE);
  const files = asFile ? [target] : [path.join(target, CHECKPOINT_NAME), ...(existsSync(optimizerFile) ? [path.join(target, LAST_NAME)] : [])];
  if (!asFile && existsSync(target) && !statSync(target).isDirectory()) throw new InputError(`${target} is a file: --out names a model file ending in .weft, or a directory`);
  const existing = files.find((f) => existsSync(f)) ?? (asFile ? undefined : [BEST_NAME].map((f) => path.join(target, f)).find((f) => existsSync(f)));
  if (existing && !a.force) throw new InputError(`${existing} already exists: choose another --out, or replace it with --force`);

  const params = new Float32Array(plan.layout.size);
  const weightsFile = path.join(dir, WEIGHTS_FILE);
  const weights = readTensors(weightsFile, 'the weights');
  intoLayout(weights, plan.layout, params, weightsFile);
  const optimizer = existsSync(optimizerFile) ? readOptimizer(optimizerFile, meta, plan.layout) : undefined;
  const bytes = encode(meta, params, optimizer);

  try {
    mkdirSync(path.dirname(files[0]!), { recursive: true });
  } catch (e) {
    throw fileError(path.dirname(files[0]!), e, 'make the directory');
  }
  // The bytes are checked once, as every command reads a model (model.weft and last.weft hold the
  // same ones), before anything is written; each file is then written atomically.
  try {
    runFromCheckpoint(decodeCheckpoint(bytes, files[0]!), files[0]!);
  } catch (e) {
    throw new InputError(`${path.join(dir, META_FILE)}: the model it describes is not one weft can load: ${(e as Error).message.replace(`${files[0]!}: `, '')}`);
  }
  for (const f of files) {
    try {
      writeFileAtomicSync(f, bytes);
    } catch (e) {
      throw fileError(f, e, 'write the model');
    }
  }
  out.result({ command: 'import', from: dir, out: asFile ? target : files[0], files, tensors: plan.layout.entries.length, parameterCount: plan.layout.size, step: meta.step, optimizer: optimizer !== undefined },
    `weft import: ${dir} → ${files.join(', ')} (${plan.layout.entries.length} tensors, ${plan.layout.size.toLocaleString('en-US')} parameters, step ${meta.step}` +
      `${optimizer ? `, ${optimizer.name} state` : ', no optimizer state: not resumable'})`);
  return 0;
}

function readMeta(file: string): PytorchMeta {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${file}: no such file; an export of weft export --format pytorch has one`);
    throw fileError(file, e, 'read the export\'s meta.json');
  }
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const bad = pytorchMetaProblem(m);
  if (bad !== undefined) throw new InputError(`${file}: ${bad}`);
  return m as PytorchMeta;
}

function planOf(meta: PytorchMeta, file: string): ModelPlan {
  try {
    return planModel(meta.spec, 'spec');
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
}

function readTensors(file: string, what: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new InputError(`${file}: no such file; the export's ${what} are missing`);
    throw fileError(file, e, `read ${what}`);
  }
  try {
    return decodeSafetensors(bytes, file);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/** Names, shapes (and, by decodeSafetensors, dtypes) against the model's layout, then the values into `params`. */
function intoLayout(t: { tensors: Map<string, Tensor> }, layout: Layout, params: Float32Array, file: string): void {
  try {
    tensorsIntoLayout(t.tensors, layout, params, file);
  } catch (e) {
    throw new InputError(`${(e as Error).message} (the model of meta.json)`);
  }
}

/** optimizer.safetensors: for each state buffer of the run's optimizer, `<parameter>.<state>` for every parameter. */
function readOptimizer(file: string, meta: PytorchMeta, layout: Layout): OptimizerSnapshot {
  const opt = createOptimizer(meta.training.optimizer);
  const { tensors } = readTensors(file, 'optimizer state');
  const states = opt.stateNames.map((state) => {
    const mine = new Map<string, Tensor>();
    for (const [name, t] of tensors) if (name.endsWith(`.${state}`)) mine.set(name.slice(0, -state.length - 1), t);
    const buf = new Float32Array(layout.size);
    try {
      tensorsIntoLayout(mine, layout, buf, file);
    } catch (e) {
      throw new InputError(`${(e as Error).message.replace(/'([^']+)'/, `'$1.${state}'`)} (${opt.name} keeps ${opt.stateNames.join(', ')} for every parameter)`);
    }
    return buf;
  });
  const known = new Set(layout.entries.flatMap((e) => opt.stateNames.map((s) => `${e.name}.${s}`)));
  const extra = [...tensors.keys()].find((n) => !known.has(n));
  if (extra !== undefined) {
    throw new InputError(`${file}: unexpected tensor '${extra}'; ${opt.name} keeps ${opt.stateNames.join(', ') || 'no state'} for each parameter of the model (meta.json's training.optimizer)`);
  }
  return { name: opt.name, options: opt.options, step: meta.step, states };
}

/** The model file's bytes: a run's checkpoint (resumable) when the export came from `weft train`, else a model file. */
function encode(meta: PytorchMeta, params: Float32Array, optimizer: OptimizerSnapshot | undefined): Uint8Array {
  const train = { ...meta.training, model: meta.spec };
  if (meta.run === null || meta.run === undefined) {
    return encodeCheckpoint(modelCheckpoint({ config: { kind: MODEL_FILE_KIND, train, meta: meta.data }, params, step: meta.step, ...(optimizer ? { optimizer } : {}) }));
  }
  const config: RunConfig = { kind: MODEL_FILE_KIND, train, meta: meta.data, ...meta.run, epochs: meta.run.epochs ?? Infinity, steps: null };
  const progress: RunProgress = {
    epoch: 0, batch: 0, bestValidLoss: null, staleEpochs: 0, seconds: meta.progress?.seconds ?? 0,
    ...(train.carryState ? { carry: new Float32Array(StepRunner.carrySize(train.model, train.batchSize)) } : {}),
  };
  return encodeRun({ config, progress, params, optimizer, step: meta.step });
}
