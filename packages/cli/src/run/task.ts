/**
 * From command-line flags to data and a model: which loader a task uses, how its meta (the
 * vocabulary, labels, normalisation stored in the checkpoint) becomes a model config, and how
 * evaluation data is encoded the way the training data was.
 */
import { modelShape, type ModelConfig, type SequenceDataset } from '@weft/core';
import {
  loadClassify, loadClassifyEval, loadLm, loadLmEval, loadMultilabel, loadMultilabelEval, loadNames, loadRegress, loadRegressEval, loadTag, loadTagEval,
  type DataMeta, type EvalData, type LmLayout, type Longest, type RegressEvalData,
} from '@weft/core';
import { UsageError } from './errors.js';

export const TASKS = ['names', 'classify', 'multilabel', 'tag', 'lm', 'regress'] as const;
export type TaskName = (typeof TASKS)[number];

/** The data flags every command shares (a subset of yargs' parsed argv). */
export interface DataFlags {
  task?: string;
  data?: string;
  valid?: string;
  validFraction?: number;
  seed: number;
  textColumn?: string;
  labelColumn?: string;
  maxLen?: number;
  lowercase?: boolean;
  seqLen?: number;
  window?: number;
  horizon?: number;
  inputs?: string[];
  targets?: string[];
  perStep?: boolean;
  batch?: number;
  /** CSV field delimiter (classify, regress); default: guessed from the header. */
  delimiter?: string;
}

export interface RunData {
  task: TaskName;
  train: SequenceDataset;
  valid?: SequenceDataset;
  meta: DataMeta;
  summary: string;
  /** lm: the stream layout (batch size = streams) of each part. */
  lm?: { train: LmLayout; valid?: LmLayout };
  /** names: the names on both lists. */
  ambiguous?: string[];
  /** classify, multilabel, tag: where the longest sequence of the training and validation data is. */
  longest?: Longest;
}

export function resolveTask(f: DataFlags): TaskName {
  if (f.task === undefined) {
    if (f.data === undefined) return 'names';
    if (f.data.endsWith('.txt')) return 'lm';
    throw new UsageError(`--task is required with --data ${f.data}: one of ${TASKS.filter((t) => t !== 'names').join(', ')}`);
  }
  if (!(TASKS as readonly string[]).includes(f.task)) {
    throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(f.task)}`);
  }
  if (f.task !== 'names' && f.data === undefined) throw new UsageError(`--data is required for --task ${f.task}`);
  return f.task as TaskName;
}

/** Loads the training (and validation) data of a run. */
export function loadTrainData(f: DataFlags): RunData {
  const task = resolveTask(f);
  const split = { validFraction: f.valid ? 0 : f.validFraction, seed: f.seed };
  let r: RunData;
  switch (task) {
    case 'names': {
      const d = loadNames(split);
      r = { task, train: d.train, valid: d.valid, meta: d.meta, summary: d.summary, ambiguous: d.ambiguous };
      break;
    }
    case 'classify': {
      const d = loadClassify(f.data!, { ...split, textField: f.textColumn, labelField: f.labelColumn, maxLen: f.maxLen, lowercase: f.lowercase, delimiter: f.delimiter });
      r = { task, ...d };
      break;
    }
    case 'multilabel': {
      const d = loadMultilabel(f.data!, { ...split, textField: f.textColumn, labelField: f.labelColumn, maxLen: f.maxLen, lowercase: f.lowercase });
      r = { task, ...d };
      break;
    }
    case 'tag': {
      const d = loadTag(f.data!, { ...split, maxLen: f.maxLen, lowercase: f.lowercase });
      r = { task, ...d };
      break;
    }
    case 'lm': {
      const d = loadLm(f.data!, { seqLen: f.seqLen, streams: f.batch, validFraction: f.valid ? 0 : f.validFraction });
      r = { task, train: d.train, valid: d.valid, meta: d.meta, summary: d.summary, lm: { train: d.trainLayout, valid: d.validLayout } };
      break;
    }
    case 'regress': {
      if (f.window === undefined) throw new UsageError('--window is required for --task regress (rows per input sequence)');
      const d = loadRegress(f.data!, {
        window: f.window, horizon: f.horizon, inputColumns: f.inputs, targetColumns: f.targets, perStep: f.perStep,
        validFraction: f.valid ? 0 : f.validFraction, delimiter: f.delimiter,
      });
      r = { task, ...d };
      break;
    }
  }
  if (f.valid) {
    const v = loadEvalData(r.meta, f.valid, f);
    r.valid = v.dataset;
    if (v.longest && !(r.longest && r.longest.steps >= v.longest.steps)) r.longest = v.longest;
  }
  return r;
}

/** Encodes a labelled file with a trained model's meta (evaluation, validation files). */
export function loadEvalData(meta: DataMeta, file: string, f: Partial<DataFlags>): EvalData | RegressEvalData {
  switch (meta.task) {
    case 'classify':
      return loadClassifyEval(file, meta, { textField: f.textColumn, labelField: f.labelColumn, maxLen: f.maxLen, delimiter: f.delimiter });
    case 'multilabel':
      return loadMultilabelEval(file, meta, { textField: f.textColumn, labelField: f.labelColumn, maxLen: f.maxLen });
    case 'tag':
      return loadTagEval(file, meta, { maxLen: f.maxLen });
    case 'lm':
      return loadLmEval(file, meta, { streams: f.batch });
    case 'regress':
      return loadRegressEval(file, meta, { delimiter: f.delimiter });
  }
}

/** Model flags (yargs names). */
export interface ModelFlags {
  cell: 'rnn' | 'lstm' | 'gru';
  hidden: number;
  layers: number;
  bidirectional?: boolean;
  nonlinearity: 'tanh' | 'relu';
  dropout: number;
  inputDropout: number;
  recurrentDropout: number;
  embedding?: number;
  /** attention and max make the model a spec (run/spec.ts); its config pools last. */
  pooling: 'last' | 'mean' | 'max' | 'attention';
  seed: number;
}

/** The model a task's data calls for, shaped by the flags. */
export function modelConfigFor(meta: DataMeta, m: ModelFlags): ModelConfig {
  const causal = meta.task === 'lm';
  const bidirectional = m.bidirectional ?? !(causal || meta.task === 'regress');
  if (causal && bidirectional) {
    throw new UsageError('--bidirectional cannot be used with --task lm: a language model must not see the characters it predicts');
  }
  const common = {
    cell: m.cell, hiddenSize: m.hidden, numLayers: m.layers, bidirectional, nonlinearity: m.nonlinearity,
    dropout: m.dropout, inputDropout: m.inputDropout, recurrentDropout: m.recurrentDropout, seed: m.seed, pooling: m.pooling === 'mean' ? 'mean' as const : 'last' as const,
  };
  const tokens = (vocabSize: number): ModelConfig['input'] => {
    // One-hot for small vocabularies (characters); an embedding for words unless told otherwise.
    const dim = m.embedding ?? (vocabSize > 128 ? 64 : 0);
    return dim > 0 ? { kind: 'tokens', vocabSize, embeddingDim: dim } : { kind: 'tokens', vocabSize };
  };
  // The input, head and loss the data calls for (core's modelShape), token inputs as above.
  const shape = modelShape(meta);
  return { ...common, ...shape, input: shape.input.kind === 'tokens' ? tokens(shape.input.vocabSize) : shape.input };
}
