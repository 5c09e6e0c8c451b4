/**
 * A trained model as one typed object: the network's parameters, the training configuration,
 * and the data meta that says how raw inputs (texts, token lists, rows of numbers) are encoded
 * and outputs decoded (vocabulary, labels, tags, normalisation). `save(path)`, `loadModel(path)`
 * and `predict(inputs)` are the library's front door; before them, saving took a layout, a copy
 * of the parameters and a hand-made checkpoint, and a loaded config was `unknown`.
 *
 * The file is a weft checkpoint (checkpoint.ts) whose `config` is a ModelFileConfig. The CLI's
 * runs (`weft train`) write the same format with more fields in `config` (the task, the data
 * flags, the epochs) and where training stands in `extra`; both sides read a file with
 * `modelFromCheckpoint` and write one with `modelCheckpoint`, so there is one reader: a run's
 * model.weft or best.weft loads here, and a model saved here with a meta is read by
 * `weft predict` and `weft eval`.
 */
import { existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataMeta } from '../data/index.js';
import { encodeClassifyInputs, type ClassifyMeta } from '../data/classify.js';
import { encodeMultilabelInputs, type MultilabelMeta } from '../data/multilabel.js';
import { denormalize, encodeRegressInputs, type RegressMeta } from '../data/regress.js';
import { encodeTagInputs, type TagMeta } from '../data/tag.js';
import { Vocab, symbolsOf } from '../data/vocab.js';
import type { OptimizerSnapshot } from '../optim/index.js';
import { resolveTrainConfig, type ResolvedTrainConfig, type TrainConfig } from './config.js';
import { checkDataMeta } from '../data/meta.js';
import { OptionError } from '../options/errors.js';
import type { SequenceDataset, TargetKind } from '../data/dataset.js';
import {
  loadCheckpoint, loadCheckpointSync, paramsFromLayout, paramsIntoLayout, saveCheckpoint, saveCheckpointSync,
  type Checkpoint, type CheckpointData,
} from '../io/checkpoint.js';
import type { Layout } from '../params/layout.js';
import { SequenceModel, modelLayout, planModel, type ModelInput, type ModelPlan, type SpecInput } from '../model/model.js';
import { argmax, isThreshold, multilabelRow, predictAll, softmaxRow } from './outputs.js';
import { InferenceStream, type StreamOptions } from '../model/stream.js';

/** `config.kind` of a model file (the name the CLI's runs have always written). */
export const MODEL_FILE_KIND = 'weft-run';

/** What `config` holds in a model file. Writers may add fields of their own (the CLI does). */
export interface ModelFileConfig {
  kind: typeof MODEL_FILE_KIND;
  /** The training configuration; `train.model` is the network. */
  train: ResolvedTrainConfig;
  /** How raw inputs are encoded and outputs decoded; absent for a model trained on hand-made datasets. */
  meta?: DataMeta;
}

/** A model file, decoded and checked. */
export interface ModelFile {
  /** The config as stored, including any fields its writer added. */
  config: ModelFileConfig;
  /** The parameter layout of `config.train.model`. */
  layout: Layout;
  /** All parameters in layout order [layout.size]. */
  params: Float32Array;
  /** The optimizer's state, when the file was saved to resume training. */
  optimizer?: OptimizerSnapshot;
  /** Training steps completed when saved. */
  step: number;
  /** Whatever else the writer stored (the CLI: where training stands). */
  extra?: unknown;
}

const TASKS: readonly DataMeta['task'][] = ['classify', 'multilabel', 'tag', 'lm', 'regress'];

/** The checkpoint contents of a model file (for saveCheckpoint / saveCheckpointSync). */
export function modelCheckpoint(m: Omit<ModelFile, 'layout'>): CheckpointData {
  const layout = modelLayout(m.config.train.model);
  if (m.params.length !== layout.size) throw new RangeError(`params has ${m.params.length} floats, the model has ${layout.size} parameters`);
  const { params, shapes } = paramsFromLayout(layout, m.params);
  const o = m.optimizer;
  return {
    config: m.config, params, shapes, step: m.step,
    ...(o ? { optimizer: { name: o.name, options: o.options, step: o.step, states: o.states } } : {}),
    ...(m.extra !== undefined ? { extra: m.extra } : {}),
  };
}

/**
 * Checks a loaded checkpoint as a model file: a model config inside, parameters and optimizer
 * state of the shapes that config describes, a meta that fits the network. `file` names it in
 * the messages.
 */
export function modelFromCheckpoint(ck: Checkpoint, file = 'checkpoint'): ModelFile {
  const c = ck.config as Partial<ModelFileConfig> | null;
  if (c === null || typeof c !== 'object' || c.kind !== MODEL_FILE_KIND || c.train === null || typeof c.train !== 'object' ||
    c.train.model === null || typeof c.train.model !== 'object') {
    throw new Error(`${file}: a weft checkpoint, but not a model (no model config inside: save models with TrainedModel.save or 'weft train')`);
  }
  const config = c as ModelFileConfig;
  // The whole stored config, by the checks a trainer's options go through (the memory limits
  // included), before anything is built from it: a damaged or hand-made file is refused with
  // the field it gets wrong, never a hang or an allocation of its numbers.
  stored(file, 'config.train', () => resolveTrainConfig(config.train));
  if (config.meta !== undefined) stored(file, 'config.meta', () => checkDataMeta(config.meta, 'meta'));
  const plan: ModelPlan = planModel(config.train.model);
  const layout: Layout = plan.layout;
  if (config.meta !== undefined) checkMeta(config.meta, plan, `${file}: config.meta`);
  const params = new Float32Array(layout.size);
  // Names, shapes and optimizer-state sizes against the network the config describes.
  paramsIntoLayout(ck, layout, params, file);
  const o = ck.optimizer;
  return {
    config, layout, params, step: ck.step,
    ...(o ? { optimizer: { name: o.name, options: o.options, step: o.step, states: o.states } as OptimizerSnapshot } : {}),
    ...(ck.extra !== undefined ? { extra: ck.extra } : {}),
  };
}

/**
 * Runs a check of a stored config part; its error becomes `file: <part>.<option> ...` (an
 * Error, not an OptionError: the file is at fault, not the caller's options).
 */
function stored(file: string, part: string, check: () => void): void {
  try {
    check();
  } catch (err) {
    const e = err as Error;
    const where = part.slice(part.lastIndexOf('.') + 1);
    // Option paths start the messages: `model.numLayers ...`, `meta.labels ...`, `batchSize ...`.
    const m = e.message;
    const msg = m.startsWith(`${where}.`) || m.startsWith(`${where} `) ? m.slice(where.length) : e instanceof OptionError ? `.${m}` : `: ${m}`;
    throw new Error(`${file}: ${part}${msg}`, { cause: err });
  }
}

/**
 * The input, head and loss a task's data calls for: spread it into a model config
 * (`{ cell: 'lstm', hiddenSize: 64, ...modelShape(data.meta) }`). Token inputs are one-hot; add
 * `embeddingDim` to `input` for an embedding.
 */
export function modelShape(meta: DataMeta): { input: ModelInput; task: TargetKind; outputSize: number } {
  switch (meta.task) {
    case 'classify':
      return {
        input: meta.input.kind === 'chars' ? { kind: 'tokens', vocabSize: meta.input.vocab.symbols.length + Vocab.RESERVED } : { kind: 'dense', size: meta.input.size },
        task: 'class-per-sequence', outputSize: meta.labels.length,
      };
    case 'multilabel':
      return { input: { kind: 'tokens', vocabSize: meta.input.vocab.symbols.length + Vocab.RESERVED }, task: 'multilabel-per-sequence', outputSize: meta.labels.length };
    case 'tag':
      return { input: { kind: 'tokens', vocabSize: meta.vocab.symbols.length + Vocab.RESERVED }, task: 'class-per-step', outputSize: meta.tags.length };
    case 'lm': {
      const V = meta.vocab.symbols.length + Vocab.RESERVED;
      return { input: { kind: 'tokens', vocabSize: V }, task: 'class-per-step', outputSize: V };
    }
    case 'regress':
      return {
        input: { kind: 'dense', size: meta.inputColumns.length },
        task: meta.perStep ? 'value-per-step' : 'value-per-sequence', outputSize: meta.targetColumns.length,
      };
  }
}

/** Throws unless `meta` is a known task's meta whose inputs and outputs fit the model (a spec's plan). */
function checkMeta(meta: DataMeta, model: ModelPlan, where: string): void {
  if (meta === null || typeof meta !== 'object' || !TASKS.includes(meta.task)) {
    throw new TypeError(`${where} must be the meta of a data loader (task ${TASKS.map((t) => `'${t}'`).join(', ')}), got ${JSON.stringify((meta as { task?: unknown } | null)?.task ?? meta)}`);
  }
  const want = modelShape(meta);
  const size = (i: SpecInput) => (i.kind === 'tokens' ? `${i.vocabSize} token ids` : `${i.size} features per step`);
  const input = model.spec.input;
  if (want.input.kind !== input.kind || size(want.input) !== size(input)) {
    throw new RangeError(`${where} (${meta.task}) encodes inputs as ${size(want.input)}, the model reads ${size(input)}`);
  }
  if (want.task !== model.task || want.outputSize !== model.outputSize) {
    throw new RangeError(`${where} (${meta.task}) needs a '${want.task}' head of ${want.outputSize} outputs, the model has '${model.task}' with ${model.outputSize}`);
  }
}

/** What makes a TrainedModel: a trainer's `toModel` fills it in; `loadModel` reads it from a file. */
export interface TrainedModelInit<M extends DataMeta | undefined = DataMeta | undefined> {
  /** The training configuration (resolved or not); `train.model` is the network. */
  train: TrainConfig | ResolvedTrainConfig;
  /** All parameters in layout order (copied). */
  params: Float32Array;
  /** How raw inputs are encoded and outputs decoded (a data loader's `meta`); needed by `predict`. */
  meta?: M;
  /** Training steps completed (default 0). */
  step?: number;
  /** The optimizer's state, to save a file that training can resume from. */
  optimizer?: OptimizerSnapshot;
  /** Stored as the checkpoint's `extra`. */
  extra?: unknown;
  /** Further fields of the stored config (the CLI's run settings). */
  configFields?: Record<string, unknown>;
}

/** A classifier's answer for one input. */
export interface ClassPrediction {
  task: 'classify';
  /** The most probable label. */
  label: string;
  /** Its probability. */
  probability: number;
  /** Every label's probability (softmax of the head's outputs). */
  probabilities: Record<string, number>;
  /** Characters of the input never seen in training (read as unknown). */
  unknown: number;
}

/** A multi-label model's answer for one input. */
export interface LabelsPrediction {
  task: 'multilabel';
  /** The labels whose probability is at least the threshold (default 0.5), in label order; possibly none. */
  labels: string[];
  /** Every label's probability (a sigmoid of its output, each on its own: they need not sum to 1). */
  probabilities: Record<string, number>;
  /** Characters of the input never seen in training (read as unknown). */
  unknown: number;
}

/** A tagger's answer for one sentence. */
export interface TagPrediction {
  task: 'tag';
  /** The tokens as read (a text is split as the tag task's vocabulary splits it). */
  tokens: string[];
  /** The most probable tag of each token. */
  tags: string[];
  /** The probability of each chosen tag. */
  probabilities: number[];
  /** Tokens never seen in training (read as unknown). */
  unknown: number;
}

/** A regression model's answer for one window, in the target columns' own units. */
export interface ValuePrediction {
  task: 'regress';
  /** Target column → value: after the window (or, for a per-step model, at its last step). */
  values: Record<string, number>;
  /** Per-step models: the values at every step of the window. */
  steps?: Record<string, number>[];
}

export type Prediction = ClassPrediction | LabelsPrediction | TagPrediction | ValuePrediction;

/** What `predict` takes for a model of meta M: texts, token lists, or windows of rows of numbers. */
export type PredictInput<M> =
  M extends ClassifyMeta ? string | readonly (readonly number[])[] :
  M extends MultilabelMeta ? string :
  M extends TagMeta ? string | readonly string[] :
  M extends RegressMeta ? readonly (readonly number[])[] :
  never;

/** What `predict` answers for a model of meta M. */
export type PredictionOf<M> =
  M extends ClassifyMeta ? ClassPrediction : M extends MultilabelMeta ? LabelsPrediction : M extends TagMeta ? TagPrediction : M extends RegressMeta ? ValuePrediction : never;

/**
 * A trained network with its configuration and (optionally) its data meta. Predicting runs in
 * the calling thread on the active kernels (call `useKernels()` first for the native or WebAssembly ones).
 */
export class TrainedModel<M extends DataMeta | undefined = DataMeta | undefined> {
  /** The stored config: kind, train, meta, and any fields its writer added. */
  readonly config: ModelFileConfig;
  readonly train: ResolvedTrainConfig;
  readonly meta: M;
  readonly step: number;
  readonly optimizer?: OptimizerSnapshot;
  readonly extra?: unknown;
  /** The network, holding the parameters (`net.parameters` by PyTorch name). */
  readonly net: SequenceModel;

  constructor(init: TrainedModelInit<M>) {
    if (init === null || typeof init !== 'object') throw new TypeError('TrainedModel needs { train, params, meta?, step?, optimizer? }');
    this.train = resolveTrainConfig(init.train);
    this.net = new SequenceModel(this.train.model);
    if (!(init.params instanceof Float32Array) || init.params.length !== this.net.layout.size) {
      throw new RangeError(`params must be a Float32Array of the model's ${this.net.layout.size} parameters, got ${init.params?.length ?? String(init.params)}`);
    }
    this.net.paramBuffer.set(init.params);
    if (init.meta !== undefined) checkMeta(init.meta, this.net.plan, 'meta');
    this.meta = init.meta as M;
    this.step = init.step ?? 0;
    if (!Number.isInteger(this.step) || this.step < 0) throw new TypeError(`step must be a non-negative integer, got ${String(init.step)}`);
    if (init.optimizer !== undefined) this.optimizer = init.optimizer;
    if (init.extra !== undefined) this.extra = init.extra;
    this.config = {
      ...init.configFields,
      kind: MODEL_FILE_KIND, train: this.train, ...(init.meta !== undefined ? { meta: init.meta as DataMeta } : {}),
    };
  }

  /** A model file's contents as a TrainedModel. */
  static fromFile(f: ModelFile): TrainedModel {
    const { kind: _k, train, meta, ...configFields } = f.config;
    return new TrainedModel({ train, meta, params: f.params, step: f.step, optimizer: f.optimizer, extra: f.extra, configFields });
  }

  /** All parameters in layout order (the network's buffer itself, not a copy). */
  get params(): Float32Array {
    return this.net.paramBuffer;
  }

  /** The task of the data the model was trained on, from its meta; undefined without one. */
  get task(): DataMeta['task'] | undefined {
    return this.meta?.task;
  }

  /** Writes the model (atomically: a temporary file, then a rename) for `loadModel` and the CLI. */
  async save(path: string): Promise<void> {
    await saveCheckpoint(path, this.checkpoint());
  }

  saveSync(path: string): void {
    saveCheckpointSync(path, this.checkpoint());
  }

  /** The head's outputs for every row of an encoded dataset: [count, outputSize] or [count, maxSteps, outputSize]. */
  outputs(data: SequenceDataset, batchSize = 64): Float32Array {
    return predictAll(this.net, data, batchSize);
  }

  /** Stateful inference: feed a long input chunk by chunk, the recurrent state carried between chunks (model/stream.ts). */
  stream(options: StreamOptions = {}): InferenceStream {
    return new InferenceStream(this.net, options);
  }

  /** Raw inputs encoded as the training data was (the meta's vocabulary, case, normalisation). */
  encode(inputs: readonly PredictInput<M>[]): SequenceDataset {
    const meta = this.requireMeta('encode');
    if (!Array.isArray(inputs)) throw new TypeError(`inputs must be an array, got ${typeof inputs}`);
    switch (meta.task) {
      case 'classify':
        return encodeClassifyInputs(meta, inputs as readonly (string | readonly (readonly number[])[])[]);
      case 'multilabel':
        return encodeMultilabelInputs(meta, inputs as readonly string[]);
      case 'tag':
        return encodeTagInputs(meta, (inputs as readonly (string | readonly string[])[]).map((s) => [...symbolsOf('word', s)]));
      case 'regress':
        return encodeRegressInputs(meta, inputs as readonly (readonly (readonly number[])[])[]);
      case 'lm':
        throw new TypeError('a language model predicts the next character at every step: encode with Vocab and read outputs(), or sample with `weft generate`');
    }
  }

  /**
   * Answers for raw inputs: for a classifier, each input's label with its probability and every
   * label's; for a multi-label model, the labels of probability ≥ `threshold` (default 0.5) and
   * every label's probability; for a tagger, a tag per token; for a regression model, values in the targets' units.
   *
   *   classify  texts (or, for a model of number sequences, arrays of steps)
   *   multilabel texts
   *   tag       sentences: texts (split into tokens as the vocabulary splits them) or token arrays
   *   regress   windows: arrays of rows, each the values of meta.inputColumns in the data's units
   */
  predict(inputs: readonly PredictInput<M>[], options: { batchSize?: number; threshold?: number } = {}): PredictionOf<M>[] {
    const meta = this.requireMeta('predict');
    const threshold = options.threshold ?? 0.5;
    if (!isThreshold(threshold)) throw new RangeError(`threshold must be a number between 0 and 1 (exclusive), got ${String(threshold)}`);
    const d = this.encode(inputs);
    const y = this.outputs(d, options.batchSize);
    const O = this.net.outputSize;
    const S = d.maxSteps;
    const unknownIn = (i: number): number => {
      let n = 0;
      for (let t = 0; t < d.lengths[i]!; t++) if (d.inputs[i * S + t] === Vocab.UNK) n++;
      return n;
    };
    const out: Prediction[] = [];
    for (let i = 0; i < d.count; i++) {
      switch (meta.task) {
        case 'classify': {
          const p = softmaxRow(y, i * O, O);
          const k = argmax(p, 0, O);
          out.push({
            task: 'classify', label: meta.labels[k]!, probability: p[k]!,
            probabilities: Object.fromEntries(meta.labels.map((l, j) => [l, p[j]!])),
            unknown: meta.input.kind === 'chars' ? unknownIn(i) : 0,
          });
          break;
        }
        case 'multilabel': {
          out.push({ task: 'multilabel', ...multilabelRow(meta.labels, y, i * O, threshold), unknown: unknownIn(i) });
          break;
        }
        case 'tag': {
          const tokens = [...symbolsOf('word', inputs[i] as string | readonly string[])];
          const tags: string[] = [];
          const probabilities: number[] = [];
          for (let t = 0; t < d.lengths[i]!; t++) {
            const p = softmaxRow(y, (i * S + t) * O, O);
            const k = argmax(p, 0, O);
            tags.push(meta.tags[k]!);
            probabilities.push(p[k]!);
          }
          out.push({ task: 'tag', tokens, tags, probabilities, unknown: unknownIn(i) });
          break;
        }
        case 'regress': {
          const cols = meta.targetColumns;
          const at = (off: number) => denormalize(meta, y.subarray(off, off + O));
          const row = (v: Float32Array) => Object.fromEntries(cols.map((c, j) => [c, v[j]!]));
          if (!meta.perStep) {
            out.push({ task: 'regress', values: row(at(i * O)) });
          } else {
            const steps = Array.from({ length: d.lengths[i]! }, (_, t) => row(at((i * S + t) * O)));
            out.push({ task: 'regress', values: steps[steps.length - 1]!, steps });
          }
          break;
        }
        case 'lm':
          break; // encode threw
      }
    }
    return out as PredictionOf<M>[];
  }

  private requireMeta(what: string): DataMeta {
    if (this.meta === undefined) {
      throw new TypeError(`${what}: this model has no data meta (vocabulary, labels): give the data loader's meta when saving ` +
        '(trainer.toModel({ meta })), or read the head\'s raw outputs with outputs(dataset)');
    }
    return this.meta;
  }

  private checkpoint(): CheckpointData {
    return modelCheckpoint({
      config: this.config, params: this.params, step: this.step,
      ...(this.optimizer ? { optimizer: this.optimizer } : {}),
      ...(this.extra !== undefined ? { extra: this.extra } : {}),
    });
  }
}

/** Options of loadModel; `task` checks the file's task and types the model accordingly. */
export interface LoadModelOptions<T extends DataMeta['task'] = DataMeta['task']> {
  /** The task the model must have been trained for; another one (or none) is an error. */
  task?: T;
}

/**
 * Reads a model file: one saved by `TrainedModel.save` (or a trainer's `save`), or a checkpoint
 * of `weft train` (`runs/<name>/model.weft`, `best.weft`; a run directory is read as its
 * model.weft). With `{ task }` the result is typed for that task, and a file of another task is
 * refused.
 */
export async function loadModel<T extends DataMeta['task']>(path: string, options: LoadModelOptions<T> & { task: T }): Promise<TrainedModel<Extract<DataMeta, { task: T }>>>;
export async function loadModel(path: string, options?: LoadModelOptions): Promise<TrainedModel>;
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<TrainedModel> {
  const file = await modelPath(path);
  return checkedModel(modelFromCheckpoint(await loadCheckpoint(file), file), file, options);
}

/** loadModel, synchronously. */
export function loadModelSync<T extends DataMeta['task']>(path: string, options: LoadModelOptions<T> & { task: T }): TrainedModel<Extract<DataMeta, { task: T }>>;
export function loadModelSync(path: string, options?: LoadModelOptions): TrainedModel;
export function loadModelSync(path: string, options: LoadModelOptions = {}): TrainedModel {
  const file = modelPathSync(path);
  return checkedModel(modelFromCheckpoint(loadCheckpointSync(file), file), file, options);
}

function checkedModel(f: ModelFile, file: string, options: LoadModelOptions): TrainedModel {
  if (options.task !== undefined && f.config.meta?.task !== options.task) {
    throw new TypeError(`${file}: a model of task '${f.config.meta?.task ?? 'none (no data meta)'}', not '${options.task}'`);
  }
  return TrainedModel.fromFile(f);
}

/** The name of the checkpoint in a run directory (`weft train --out DIR`). */
export const RUN_CHECKPOINT_NAME = 'model.weft';

/** The file a path names: itself, or a run directory's model.weft. */
function resolveModelFile(p: string, isDirectory: boolean | undefined): string {
  if (typeof p !== 'string' || p === '') throw new TypeError(`path must be a model file or a run directory, got ${JSON.stringify(p)}`);
  if (isDirectory === undefined) throw new Error(`${p}: no such model file or run directory`);
  if (!isDirectory) return p;
  const f = join(p, RUN_CHECKPOINT_NAME);
  if (!existsSync(f)) throw new Error(`${p}: a directory without ${RUN_CHECKPOINT_NAME} (give a model file, or a run directory of 'weft train')`);
  return f;
}

async function modelPath(p: string): Promise<string> {
  const s = typeof p === 'string' ? await stat(p).catch(() => undefined) : undefined;
  return resolveModelFile(p, s?.isDirectory());
}

function modelPathSync(p: string): string {
  const s = typeof p === 'string' ? statSync(p, { throwIfNoEntry: false }) : undefined;
  return resolveModelFile(p, s?.isDirectory());
}
