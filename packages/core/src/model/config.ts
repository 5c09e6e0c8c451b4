/**
 * The model config: today's one-shape model (input encoding → recurrent stack → linear head →
 * softmax cross-entropy or MSE) as a flat options object, the stack's options plus the
 * input, the task and the head's width. It is a PRESET: `specFromConfig` turns it into the
 * model spec it stands for (model/spec.ts), which is what is built and trained; the parameter
 * names (`embedding.weight`, `rnn.weight_ih_l0`, ..., `head.weight`, `head.bias`), their order,
 * initial values and every result are those of the model weft trained before specs existed.
 */
import { resolveStackOptions, STACK_KEYS, type ResolvedStackOptions, type StackOptions } from '../stack/config.js';
import { INPUT_KINDS, TARGET_KINDS, targetIsClass, targetPerStep, type TargetKind } from '../data/dataset.js';
import { keysOf, knownKeys, objectOption, oneOf, positiveInt, splitKeys } from '../options/validate.js';
import type { LayerSpec, ModelSpec } from './spec.js';

export interface TokenInput {
  kind: 'tokens';
  /** Token ids are 0..vocabSize-1. */
  vocabSize: number;
  /** Width of a trained embedding; without it the tokens enter the stack one-hot. */
  embeddingDim?: number;
}

export interface DenseInput {
  kind: 'dense';
  /** Features per step. */
  size: number;
}

export type ModelInput = TokenInput | DenseInput;

const INPUT_KEYS = {
  tokens: keysOf<TokenInput>({ kind: true, vocabSize: true, embeddingDim: true }),
  dense: keysOf<DenseInput>({ kind: true, size: true }),
};

export const POOLINGS = ['last', 'mean'] as const;
export type Pooling = (typeof POOLINGS)[number];

/** What a model adds to its recurrent stack's options: the input, what it predicts, the head. */
export interface ModelParts {
  /** How a step's input enters the stack (which also sets the stack's inputSize). */
  input: ModelInput;
  /** What the head predicts, and so which loss applies. */
  task: TargetKind;
  /** Classes, or values per target. */
  outputSize: number;
  /** For per-sequence tasks: the last states of the top layer (h_n, both directions) or the mean of its outputs. */
  pooling?: Pooling;
}

/** The recurrent stack's options (all but inputSize, which the input sets) and the model's own parts. */
export interface ModelConfig extends Omit<StackOptions, 'inputSize'>, ModelParts {}

const MODEL_PARTS = keysOf<ModelParts>({ input: true, task: true, outputSize: true, pooling: true });
/** Every key of ModelConfig (what knownKeys accepts). */
export const MODEL_KEYS: readonly (keyof ModelConfig)[] = [...STACK_KEYS.filter((k) => k !== 'inputSize'), ...MODEL_PARTS] as (keyof ModelConfig)[];

/** A model config with every default filled in. */
export type ResolvedModelConfig = Omit<ResolvedStackOptions, 'inputSize'> & Required<ModelParts>;

/** The tasks a model config has: the spec losses' targets without multi-label. */
const CONFIG_TASKS = TARGET_KINDS.filter((k) => !k.startsWith('multilabel'));

export function resolveModelConfig(c: ModelConfig): ResolvedModelConfig {
  objectOption(c, 'model');
  knownKeys(c, MODEL_KEYS, 'model', 'the model config');
  const [parts, stack] = splitKeys(c, MODEL_PARTS);
  // The input sets the stack's inputSize; 1 stands in for it while the other options are checked.
  const { inputSize: _, ...s } = resolveStackOptions({ ...stack, inputSize: 1 }, 'model');
  const inp = parts.input;
  objectOption(inp, 'model.input', "an object { kind: 'tokens', vocabSize } or { kind: 'dense', size }");
  oneOf(inp.kind, INPUT_KINDS, 'model.input.kind');
  knownKeys(inp, INPUT_KEYS[inp.kind], 'model.input', `a '${inp.kind}' input`);
  if (inp.kind === 'tokens') {
    positiveInt(inp.vocabSize, 'model.input.vocabSize');
    if (inp.embeddingDim !== undefined) positiveInt(inp.embeddingDim, 'model.input.embeddingDim');
  } else {
    positiveInt(inp.size, 'model.input.size');
  }
  oneOf(parts.task, CONFIG_TASKS, 'model.task');
  positiveInt(parts.outputSize, 'model.outputSize');
  const pooling = parts.pooling ?? 'last';
  oneOf(pooling, POOLINGS, 'model.pooling');
  return { ...s, input: { ...inp }, task: parts.task, outputSize: parts.outputSize, pooling };
}

/**
 * The spec a model config stands for: [embedding] → recurrent 'rnn' → [pool] → linear 'head',
 * cross-entropy for classes, MSE for values.
 */
export function specFromConfig(config: ModelConfig): ModelSpec {
  const c = resolveModelConfig(config);
  const { input, task, outputSize, pooling, seed, ...stack } = c;
  const layers: LayerSpec[] = [];
  if (input.kind === 'tokens' && input.embeddingDim) layers.push({ type: 'embedding', name: 'embedding', dim: input.embeddingDim });
  layers.push({ type: 'recurrent', name: 'rnn', ...stack });
  if (!targetPerStep(task)) layers.push({ type: 'pool', name: 'pool', mode: pooling });
  layers.push({ type: 'linear', name: 'head', outputSize });
  return {
    input: input.kind === 'tokens' ? { kind: 'tokens', vocabSize: input.vocabSize } : { kind: 'dense', size: input.size },
    layers,
    loss: { kind: targetIsClass(task) ? 'crossEntropy' : 'mse' },
    seed,
  };
}
