/**
 * The recurrent stack's options: one typed object, one defaults table, one validator whose
 * messages name the option (piscina's pattern).
 */
import type { CellKind } from '../model/layout.js';

export type Merge = 'concat' | 'sum' | 'mean';

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
  nonlinearity?: 'tanh' | 'relu';
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

export function resolveStackOptions(o: StackOptions, where = 'options'): ResolvedStackOptions {
  if (o === null || typeof o !== 'object') throw new TypeError(`${where} must be an object`);
  const r: ResolvedStackOptions = { ...STACK_DEFAULTS, ...stripUndefined(o) } as ResolvedStackOptions;
  if (!['rnn', 'lstm', 'gru'].includes(r.cell)) {
    throw new TypeError(`${where}.cell must be 'rnn', 'lstm' or 'gru', got ${JSON.stringify(r.cell)}`);
  }
  positiveInt(r.inputSize, `${where}.inputSize`);
  positiveInt(r.hiddenSize, `${where}.hiddenSize`);
  positiveInt(r.numLayers, `${where}.numLayers`);
  if (typeof r.bidirectional !== 'boolean') throw new TypeError(`${where}.bidirectional must be a boolean, got ${JSON.stringify(r.bidirectional)}`);
  if (typeof r.bias !== 'boolean') throw new TypeError(`${where}.bias must be a boolean, got ${JSON.stringify(r.bias)}`);
  if (!['concat', 'sum', 'mean'].includes(r.merge)) {
    throw new TypeError(`${where}.merge must be 'concat', 'sum' or 'mean', got ${JSON.stringify(r.merge)}`);
  }
  if (!['tanh', 'relu'].includes(r.nonlinearity)) {
    throw new TypeError(`${where}.nonlinearity must be 'tanh' or 'relu', got ${JSON.stringify(r.nonlinearity)}`);
  }
  for (const k of ['dropout', 'inputDropout', 'recurrentDropout'] as const) {
    const p = r[k];
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) throw new RangeError(`${where}.${k} must be a number in [0, 1), got ${JSON.stringify(p)}`);
  }
  if (!Number.isInteger(r.seed)) throw new TypeError(`${where}.seed must be an integer, got ${JSON.stringify(r.seed)}`);
  return r;
}

export function positiveInt(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new TypeError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
