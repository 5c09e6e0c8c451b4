/**
 * The contract every layer keeps, built-in or a user's own (docs/layers.md): a layer type is ONE
 * table entry (`LayerDef`) that checks its options, declares its parameters (PyTorch names,
 * shapes and initialisation, into the model's one Layout) and its scratch, and makes instances
 * whose forward and backward sit side by side. Data between layers are flat Float32Arrays in the
 * kernels' memory:
 *
 *   a sequence   time-major [steps, batch, size]: row t*batch + b is step t of sequence b;
 *                steps t >= lengths[b] are padding, which must not influence anything
 *   rows         one row per sequence [batch, size] (after a pool layer)
 *
 * Gradients flow back in the same layouts. A layer's backward ACCUMULATES (+=) its parameter
 * gradients into `pass.grads` at its parameters' offsets, and returns the gradient of its input
 * (zero at padded steps), or null when `pass.inputGrad` is false. It may overwrite the `dy` it is
 * given (and return it as its dx); it must not write into its forward input or its parameters.
 */
import type { Init, ParamSpec } from '../params/layout.js';
import type { Rng } from '../rng.js';
import { allocF32 } from '../kernels/memory.js';

export type { Init, ParamSpec };

/** What flows into or out of a layer: token ids (the model's input only), a sequence, or rows. */
export interface Shape {
  kind: 'tokens' | 'sequence' | 'rows';
  /** Features per step or row; for tokens, the vocabulary size. */
  size: number;
}

/** The final recurrent states of a recurrent layer, for `pool` mode 'last' right after it. */
export interface FinalStates {
  /** [numLayers*D, batch, hidden], layer-major, forward direction before reverse. */
  hN: Float32Array;
  numLayers: number;
  directions: number;
  hidden: number;
  /** How the directions' outputs were merged ('concat', 'sum', 'mean'). */
  merge: string;
}

/** A layer's input or output in a forward pass. */
export interface Value {
  /** The data ([steps, batch, size] or [batch, size]); unused for tokens. */
  data: Float32Array;
  /** Token ids [batch, steps] BATCH-FIRST (the model's token input, to a layer that accepts tokens). */
  tokens?: Int32Array;
  /** `data` is batch-first [batch, steps, size] (the model's dense input, to a layer that accepts it). */
  batchFirst?: boolean;
  /** Set by a recurrent layer. */
  final?: FinalStates;
}

/** A gradient flowing back: of the data (null: zero), and of the final states (pool 'last'). */
export interface Grad {
  data: Float32Array | null;
  /** dL/d(hN), the shape of FinalStates.hN. */
  final?: Float32Array;
}

/** One forward or backward call: the batch, the flat parameter and gradient buffers, the mode. */
export interface Pass {
  batch: number;
  steps: number;
  /** True length of each sequence, 1..steps. */
  lengths: Int32Array;
  /** Training (dropout on) or evaluation. */
  training: boolean;
  /** Source of dropout masks, keyed by (seed, step, shard); draw in a fixed order. Absent when not training. */
  rng?: Rng;
  /** The model's parameters, one flat buffer; a layer reads its own at its offsets. */
  params: Float32Array;
  /** Gradients, the same layout; backward accumulates into them. */
  grads: Float32Array;
  /** Backward only: whether the input's gradient is wanted (false for the first layer). */
  inputGrad: boolean;
  /** Initial recurrent states [L*D, batch, H] for the model's recurrent layer (truncated BPTT). */
  h0?: Float32Array;
  c0?: Float32Array;
}

/** A layer's scratch buffers by the names its `scratch` declared, each at least as long as declared. */
export type Scratch = Record<string, Float32Array>;

export interface LayerInstance {
  forward(x: Value, pass: Pass, scratch: Scratch): Value;
  backward(dy: Grad, pass: Pass, scratch: Scratch): Grad;
  /** Final states of the last forward (recurrent layers), for carrying state. */
  readonly lastState?: { hN: Float32Array; cN?: Float32Array };
}

/** What `create` gets: where the layer's parameters are in the flat buffer. */
export interface LayerEnv {
  /** This layer's name (the PyTorch module name). */
  name: string;
  /** The model's parameter buffer and its gradient buffer at creation (`pass` carries the current ones). */
  params: Float32Array;
  grads: Float32Array;
  /** Offset in floats of a parameter declared by `params` (by its local name, `weight`). */
  offset(param: string): number;
  /** Offset of any parameter of the model by its full name (`embedding.weight`: weight tying). */
  offsetOf(fullName: string): number;
}

/** What `resolve` may look at besides the layer's own options. */
export interface ResolveContext {
  /** The layers before this one, resolved. */
  before: readonly ResolvedLayer[];
  /** The model's input. */
  input: { kind: 'tokens'; vocabSize: number } | { kind: 'dense'; size: number };
}

/** A layer entry of a spec with its defaults filled in (plain data: it travels to workers and checkpoints). */
export interface ResolvedLayer {
  type: string;
  name: string;
  [option: string]: unknown;
}

/**
 * One layer type: the table entry. `O` is its resolved options (without type and name).
 * Everything but `create` is pure and runs wherever a spec is checked.
 */
export interface LayerDef<O extends object = Record<string, unknown>> {
  /** The `type` a spec names it by. */
  readonly type: string;
  /** What it is, for messages: 'a linear layer'. */
  readonly what: string;
  /** Its option keys besides `type` and `name`: anything else is refused with the closest. */
  readonly keys: readonly string[];
  /** Inputs it takes as they come (default: time-major sequences and rows only; the model converts the rest). */
  readonly accepts?: { tokens?: boolean; batchFirst?: boolean };
  /**
   * Checks the options (throwing OptionError naming `${where}.key`) and fills in defaults.
   * `input` is what flows in: refuse it here if the layer cannot take it.
   */
  resolve(options: Record<string, unknown>, where: string, input: Shape, ctx: ResolveContext): O;
  /** What flows out. */
  output(o: O, input: Shape): Shape;
  /** Parameters, named relative to the layer (`weight`), in PyTorch's shapes and init. */
  params(o: O, input: Shape): ParamSpec[];
  /** Scratch floats by name for a batch of `batch` sequences of `steps` steps (allocated by the model, reused). */
  scratch?(o: O, input: Shape, batch: number, steps: number): Record<string, number>;
  create(o: O, input: Shape, env: LayerEnv): LayerInstance;
}

/** Rows of a value of this shape in a batch: steps*batch for a sequence, batch for rows. */
export function rowsOf(shape: Shape, batch: number, steps: number): number {
  return shape.kind === 'rows' ? batch : batch * steps;
}

/** `a` if it holds n floats, else a new buffer of n in the kernels' memory (scratch grows, never per step). */
export function growF32(a: Float32Array, n: number): Float32Array {
  return a.length >= n ? a : allocF32(n);
}
