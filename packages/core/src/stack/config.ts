/**
 * The recurrent stack's options: one typed object, one defaults table, one validator whose
 * messages name the option (piscina's pattern) and refuse keys the stack does not have.
 */
import { CELL_KINDS, type CellKind } from '../params/layout.js';
import { OptionError } from '../options/errors.js';
import { booleanOption, definedOnly, integerOption, keysOf, knownKeys, objectOption, oneOf, positiveInt, unitInterval } from '../options/validate.js';

export const MERGES = ['concat', 'sum', 'mean'] as const;
export type Merge = (typeof MERGES)[number];

export const NONLINEARITIES = ['tanh', 'relu'] as const;
export type Nonlinearity = (typeof NONLINEARITIES)[number];

export interface StackOptions {
  /** 'rnn' (Elman), 'lstm' or 'gru'. */
  cell: CellKind;
  /** Features per input step. */
  inputSize: number;
  /** Units per direction. */
  hiddenSize: number;
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Run a second direction from each sequence's true last step backwards (default false). */
  bidirectional?: boolean;
  /** How the two directions' outputs are combined (default 'concat', forward half first, as PyTorch). */
  merge?: Merge;
  /** Activation of the vanilla RNN (default 'tanh'). */
  nonlinearity?: Nonlinearity;
  /** Include bias_ih and bias_hh (default true). */
  bias?: boolean;
  /** PyTorch/Zaremba dropout on each layer's output except the last, in training (default 0). */
  dropout?: number;
  /** Keras `dropout`: a variational mask (one per sequence) on every layer's input (default 0). */
  inputDropout?: number;
  /** Keras `recurrent_dropout`: a variational mask (one per sequence) on the state passed to the next step (default 0). */
  recurrentDropout?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

export type ResolvedStackOptions = Required<StackOptions>;

/** Every key of StackOptions (what knownKeys accepts). */
export const STACK_KEYS = keysOf<StackOptions>({
  cell: true, inputSize: true, hiddenSize: true, numLayers: true, bidirectional: true, merge: true, nonlinearity: true,
  bias: true, dropout: true, inputDropout: true, recurrentDropout: true, seed: true,
});

/**
 * The deepest stack weft builds. Far beyond what recurrent stacks are trained with, and low
 * enough that a mistyped depth (`--layers 3000`, a damaged checkpoint's 1e7) is refused at once
 * rather than building layer after layer for minutes (train/limits.ts checks the memory).
 */
export const MAX_LAYERS = 256;

export const STACK_DEFAULTS = {
  numLayers: 1,
  bidirectional: false,
  merge: 'concat',
  nonlinearity: 'tanh',
  bias: true,
  dropout: 0,
  inputDropout: 0,
  recurrentDropout: 0,
  seed: 0,
} as const satisfies Partial<StackOptions>;

/** `where` is how the caller names the object in messages: `options`, `model`. */
export function resolveStackOptions(o: StackOptions, where = 'options'): ResolvedStackOptions {
  objectOption(o, where);
  knownKeys(o, STACK_KEYS, where, 'the recurrent stack');
  const r: ResolvedStackOptions = { ...STACK_DEFAULTS, ...definedOnly(o) } as ResolvedStackOptions;
  oneOf(r.cell, CELL_KINDS, `${where}.cell`);
  positiveInt(r.inputSize, `${where}.inputSize`);
  positiveInt(r.hiddenSize, `${where}.hiddenSize`);
  positiveInt(r.numLayers, `${where}.numLayers`);
  if (r.numLayers > MAX_LAYERS) {
    throw new OptionError(`${where}.numLayers is ${r.numLayers}, more than the ${MAX_LAYERS} layers a stack may have: each layer adds ` +
      'a pass over every step, so time and memory grow with the depth (recurrent stacks rarely go past 8)', `${where}.numLayers`);
  }
  booleanOption(r.bidirectional, `${where}.bidirectional`);
  booleanOption(r.bias, `${where}.bias`);
  oneOf(r.merge, MERGES, `${where}.merge`);
  oneOf(r.nonlinearity, NONLINEARITIES, `${where}.nonlinearity`);
  for (const k of ['dropout', 'inputDropout', 'recurrentDropout'] as const) unitInterval(r[k], `${where}.${k}`);
  integerOption(r.seed, `${where}.seed`);
  return r;
}
