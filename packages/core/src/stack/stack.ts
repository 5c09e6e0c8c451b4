/**
 * RecurrentStack: layers × directions × time of RNN/LSTM/GRU cells, PyTorch's `nn.RNN/LSTM/GRU`
 * (batch_first) with hand-written backward through time.
 *
 * Where the time goes, and how the code is shaped for it: per layer and direction, ONE large
 * product projects the inputs of all steps at once (X[T*B, I] · W_ihᵀ, biases folded in), then
 * each step does one small product h[B, H] · W_hhᵀ and the cell's elementwise gate code.
 * Backward walks the steps in reverse doing only the gate derivatives and dh·W_hh per step;
 * the weight gradients (dZᵀ·X, dZᵀ·H_prev) and the input gradient (dZ·W_ih) are then ONE large
 * product each over all steps. Internally everything is time-major ([T, B, W]). The gate math of
 * a step is one fused kernel call over the batch's active rows (cells/*.ts → kernels), the biases
 * are broadcast and summed by row kernels, and:
 *   - one-hot inputs come as token ids (`forwardTokens`): the input projection is a gather of
 *     W_ih's columns and dW_ih a scatter-add, with no [T, B, V] matrix and no product;
 *   - backward skips layer 0's input gradient when nobody needs it (tokens, `inputGrad: false`);
 *   - with `timeMajor` the output (and dOutput) stay in the internal layout, uncopied;
 *   - the per-step product is h·(W_hhᵀ), against a transposed copy of W_hh made once per layer
 *     and direction, at `productRows` rows (a multiple of 4: there every row's bits
 *     depend on that row alone on every kernel path);
 *   - several stacks over the same parameters (the shards of a batch) can run in lockstep
 *     (`forwardGroup`, `backwardGroup`): each step's product is one product over all their rows,
 *     so W_hh is read from cache once per step, not once per shard, with the same bits.
 *
 * Variable lengths follow PyTorch's packed sequences: row b is active at step t iff
 * t < lengths[b]; an inactive row carries its state unchanged and outputs 0. So h_n is the state
 * at each sequence's true last step, and the reverse direction starts at each sequence's true
 * last step (from h0, carried through the padding). Padding adds nothing to any gradient.
 *
 * Between layers the directions are always concatenated (so weight_ih_l{k>0} has PyTorch's
 * shape [G*H, D*H] and a state_dict moves to PyTorch unchanged); `merge` only shapes the
 * stack's final output.
 *
 * Dropout (only with `training: true`; masks drawn from the `rng` option, in this fixed order):
 * for each layer l = 0..L-1: for each direction d (forward, then reverse): the input mask
 * [B, I_l] if inputDropout > 0, then the recurrent mask [B, H] if recurrentDropout > 0; then,
 * if l < L-1 and dropout > 0, the inter-layer mask over layer l's output in time-major order
 * [T, B, D*H] (padding included, so the draws do not depend on lengths). Each element takes one
 * `rng.uniform()` and is dropped iff it is < p (see dropout.ts).
 *   - dropout: PyTorch's, elementwise on each layer's output except the last's.
 *   - inputDropout: Keras `dropout`, one mask per sequence (same at every step) on the layer
 *     input, independent per direction.
 *   - recurrentDropout: Keras `recurrent_dropout`, one mask per sequence on h_{t-1} where it
 *     enters W_hh (the state itself, GRU's z*h term and the carried state are not masked).
 *
 * Truncated BPTT needs nothing special: forward with h0/c0 = the previous chunk's hN/cN;
 * backward's dH0/dC0 is what would flow into the previous chunk.
 *
 * Returned arrays are views into preallocated scratch, valid until the next forward (results of
 * forward) or the next backward/forward (results of backward). Copy what you keep.
 */
import { kernels } from '../kernels/index.js';
import { allocF32 } from '../kernels/memory.js';
import { GATES, Layout, stackParamSpecs } from '../params/layout.js';
import { Rng } from '../rng.js';
import { lstmBackwardStep, lstmForwardStep } from '../cells/lstm.js';
import { gruBackwardStep, gruForwardStep } from '../cells/gru.js';
import { rnnBackwardStep, rnnForwardStep } from '../cells/rnn.js';
import { mulAddInto, mulInto } from '../cells/elementwise.js';
import { copyInto, copyRows } from '../kernels/copy.js';
import { resolveStackOptions, type ResolvedStackOptions, type StackOptions } from './config.js';
import { OptionError } from '../options/errors.js';
import { booleanOption, keysOf, knownKeys, objectOption, positiveInt } from '../options/validate.js';
import { accumulateSequenceMask, applySequenceMask, drawDropoutMask } from './dropout.js';
import { GroupScratch, StackScratch, WHH_PAD, whhCopyFloats } from './scratch.js';
import { productRows, RowSegments } from '../kernels/group-product.js';

export interface StackBuffers {
  /** Parameters (a view into a caller-owned, possibly shared buffer): used as is, NOT initialised. */
  params?: Float32Array;
  /** Gradients accumulate here (allocated zeroed if absent). */
  grads?: Float32Array;
}

export const BUFFER_KEYS = keysOf<StackBuffers>({ params: true, grads: true });

export interface ForwardOptions {
  batch: number;
  steps: number;
  /** True length of each sequence, in [1, steps] (default: all = steps). */
  lengths?: ArrayLike<number>;
  /** Initial states [numLayers*D, batch, hiddenSize] (default 0). */
  h0?: ArrayLike<number>;
  /** LSTM initial cell states [numLayers*D, batch, hiddenSize] (default 0). */
  c0?: ArrayLike<number>;
  /** Apply dropout (default false). */
  training?: boolean;
  /** Source of the dropout masks; required when training with any dropout > 0. */
  rng?: Rng;
  /**
   * Return `output` time-major, [steps, batch, outputSize], the stack's own layout (default
   * false: batch-first). With one direction or merge 'concat' it is then the top layer's output
   * itself, not a copy. The next backward's dOutput is then time-major too.
   */
  timeMajor?: boolean;
  /**
   * `x` is time-major, [steps, batch, inputSize] (default false: batch-first); the next
   * backward's dInput is then time-major too, and is the stack's own buffer, not a copy. For
   * models whose layers pass sequences time-major (not forwardTokens).
   */
  inputTimeMajor?: boolean;
}

const FORWARD_KEYS = keysOf<ForwardOptions>({
  batch: true, steps: true, lengths: true, h0: true, c0: true, training: true, rng: true, timeMajor: true, inputTimeMajor: true,
});

export interface ForwardResult {
  /** [batch, steps, outputSize] ([steps, batch, outputSize] with timeMajor), 0 at padded steps. */
  output: Float32Array;
  /** The state at each sequence's true last step, [numLayers*D, batch, hiddenSize]. */
  hN: Float32Array;
  /** LSTM only: [numLayers*D, batch, hiddenSize]. */
  cN?: Float32Array;
}

export interface BackwardInput {
  /** dL/d(output) [batch, steps, outputSize], time-major if the forward was (default 0; ignored at padded steps). */
  dOutput?: ArrayLike<number>;
  /**
   * Compute dL/dx (default true). false skips layer 0's input-gradient product and returns an
   * empty dInput; so does a forward on tokens (`forwardTokens`), whose inputs have no gradient.
   */
  inputGrad?: boolean;
  /** dL/dh_n [numLayers*D, batch, hiddenSize] (default 0). */
  dHN?: ArrayLike<number>;
  /** dL/dc_n [numLayers*D, batch, hiddenSize] (LSTM; default 0). */
  dCN?: ArrayLike<number>;
}

const BACKWARD_KEYS = keysOf<BackwardInput>({ dOutput: true, inputGrad: true, dHN: true, dCN: true });

export interface BackwardResult {
  /** dL/dx [batch, steps, inputSize], 0 at padded steps; empty when not asked for (see BackwardInput.inputGrad). */
  dInput: Float32Array;
  /** dL/dh0 [numLayers*D, batch, hiddenSize]. */
  dH0: Float32Array;
  /** LSTM only: dL/dc0 [numLayers*D, batch, hiddenSize]. */
  dC0?: Float32Array;
}

/** One member of a group run in lockstep (RecurrentStack.forwardGroup): a stack, its input (x, or token ids) and its options. */
export interface GroupForward {
  stack: RecurrentStack;
  x?: ArrayLike<number> | null;
  tokens?: ArrayLike<number> | null;
  opts: ForwardOptions;
}

/** One member of a group's backward (RecurrentStack.backwardGroup). */
export interface GroupBackward {
  stack: RecurrentStack;
  g?: BackwardInput;
}

/** Offsets of one layer and direction's parameters in the flat buffer (-1: no bias). */
interface DirParams {
  wih: number;
  whh: number;
  bih: number;
  bhh: number;
}

/** What backward needs to know about the last forward. */
interface LastForward {
  B: number;
  T: number;
  /** Layer 0's input was token ids (no input gradient)... */
  tokens: boolean;
  /** ...projected by gathering rows of W_ihᵀ (sc.ids holds them; not with input dropout). */
  gather: boolean;
  /** output and dOutput are [T, B, outputSize]. */
  timeMajor: boolean;
  /** x and dInput are [T, B, inputSize]. */
  inputTimeMajor: boolean;
  useInput: boolean;
  useRec: boolean;
  useDrop: boolean;
}

/** A member's forward in progress. */
interface Fw {
  st: RecurrentStack;
  sc: StackScratch;
  B: number;
  T: number;
  opts: ForwardOptions;
  rng: Rng;
  last: LastForward;
}

/** A member's backward in progress: dL/d(the current layer's output) in `cur`, of its input in `nxt`. */
interface Bw {
  st: RecurrentStack;
  sc: StackScratch;
  B: number;
  T: number;
  last: LastForward;
  g: BackwardInput;
  inputGrad: boolean;
  cur: Float32Array;
  nxt: Float32Array;
}

/** The lead of a group (its first member), once the members are checked to share one shape and one parameter buffer. */
function checkGroup(stacks: readonly RecurrentStack[]): RecurrentStack {
  const lead = stacks[0];
  if (!lead) throw new RangeError('a group of stacks needs at least one member');
  const a = lead.options;
  const pa = lead.paramBuffer;
  stacks.forEach((s, i) => {
    const b = s.options;
    const pb = s.paramBuffer;
    if (i > 0 && stacks.indexOf(s) !== i) throw new RangeError(`group member ${i} is member ${stacks.indexOf(s)} again: each member needs its own stack`);
    if (b.cell !== a.cell || b.inputSize !== a.inputSize || b.hiddenSize !== a.hiddenSize || b.numLayers !== a.numLayers ||
      b.bidirectional !== a.bidirectional || b.bias !== a.bias || b.nonlinearity !== a.nonlinearity || b.merge !== a.merge ||
      b.dropout !== a.dropout || b.inputDropout !== a.inputDropout || b.recurrentDropout !== a.recurrentDropout) {
      throw new RangeError(`group member ${i} is not shaped like member 0: a group runs stacks of one shape and the same dropout`);
    }
    if (pb.buffer !== pa.buffer || pb.byteOffset !== pa.byteOffset) throw new RangeError(`group member ${i} has other parameters than member 0: a group shares one parameter buffer`);
  });
  return lead;
}

export class RecurrentStack {
  readonly options: ResolvedStackOptions;
  /** Parameter table, PyTorch names without prefix (`weight_ih_l0`, `bias_hh_l1_reverse`, ...). */
  readonly layout: Layout;
  /** Directions: 1 or 2. */
  readonly numDirections: number;
  /** Width of one output step: D*H for merge 'concat', H for 'sum'/'mean'. */
  readonly outputSize: number;
  readonly paramBuffer: Float32Array;
  /** Named views into `paramBuffer`. */
  readonly parameters: Map<string, Float32Array>;
  private _gradBuffer: Float32Array;
  private _grads: Map<string, Float32Array>;
  private readonly dirParams: DirParams[]; // index l*D + d
  private scratch: StackScratch | null = null;
  /** The rows a group this stack leads works in (forwardGroup: GRU's W_hh h, dropout's products, the copying paths' rows)... */
  private group: GroupScratch | null = null;
  /** The members' rows of each step's product (forwardSteps, backwardSteps). */
  private readonly segments = new RowSegments();
  /** ...and W_hh of the layer and direction being run, rows padded (W_hhᵀ for the forward steps), made once per layer and direction. */
  private whhCopy: Float32Array | null = null;
  private lens = new Int32Array(0);        // [B] lengths of the last forward
  private last: LastForward | null = null;

  /** The parameter table a stack with these options has (for models that embed a stack). */
  static layoutFor(options: StackOptions): Layout {
    const o = resolveStackOptions(options);
    const D = o.bidirectional ? 2 : 1;
    return new Layout(stackParamSpecs({
      cell: o.cell, inputSize: o.inputSize, hiddenSize: o.hiddenSize, numLayers: o.numLayers,
      bidirectional: o.bidirectional, bias: o.bias,
      layerInputSize: (l) => (l === 0 ? o.inputSize : D * o.hiddenSize),
    }));
  }

  constructor(options: StackOptions, buffers: StackBuffers = {}) {
    const o = resolveStackOptions(options);
    objectOption(buffers, 'buffers');
    knownKeys(buffers, BUFFER_KEYS, 'buffers', 'the stack\'s buffers');
    this.options = o;
    this.layout = RecurrentStack.layoutFor(o);
    this.numDirections = o.bidirectional ? 2 : 1;
    this.outputSize = o.merge === 'concat' ? this.numDirections * o.hiddenSize : o.hiddenSize;
    const n = this.layout.size;
    if (buffers.params !== undefined) {
      if (!(buffers.params instanceof Float32Array)) throw new TypeError('buffers.params must be a Float32Array');
      if (buffers.params.length < n) throw new RangeError(`buffers.params has ${buffers.params.length} floats, the stack needs ${n}`);
      this.paramBuffer = buffers.params;
    } else {
      this.paramBuffer = allocF32(n);
      this.layout.initialize(this.paramBuffer, new Rng(o.seed));
    }
    this.parameters = this.layout.views(this.paramBuffer);
    const grads = buffers.grads ?? allocF32(n);
    this.checkGradBuffer(grads, 'buffers.grads');
    this._gradBuffer = grads;
    this._grads = this.layout.views(grads);
    this.dirParams = [];
    for (let l = 0; l < o.numLayers; l++) {
      for (let d = 0; d < this.numDirections; d++) {
        const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
        this.dirParams.push({
          wih: this.layout.get(`weight_ih${sfx}`).offset,
          whh: this.layout.get(`weight_hh${sfx}`).offset,
          bih: o.bias ? this.layout.get(`bias_ih${sfx}`).offset : -1,
          bhh: o.bias ? this.layout.get(`bias_hh${sfx}`).offset : -1,
        });
      }
    }
  }

  get gradBuffer(): Float32Array {
    return this._gradBuffer;
  }

  /** Named views into `gradBuffer`. */
  get grads(): Map<string, Float32Array> {
    return this._grads;
  }

  /** Accumulate gradients into another flat buffer from now on (a worker's gradient slot). */
  bindGrads(buf: Float32Array): void {
    this.checkGradBuffer(buf, 'bindGrads(buf)');
    this._gradBuffer = buf;
    this._grads = this.layout.views(buf);
  }

  zeroGrad(): void {
    this._gradBuffer.fill(0, 0, this.layout.size);
  }

  /**
   * Copy tensors in by name (PyTorch's state_dict of nn.RNN/LSTM/GRU, without prefix). Every
   * parameter must be given exactly once with its full size; nothing is written unless all are.
   */
  loadStateDict(sd: Record<string, ArrayLike<number>> | Map<string, ArrayLike<number>>): void {
    const entries: [string, ArrayLike<number>][] = sd instanceof Map ? [...sd.entries()] : Object.entries(sd);
    const problems: string[] = [];
    const given = new Set<string>();
    for (const [name, v] of entries) {
      given.add(name);
      if (!this.layout.has(name)) {
        problems.push(`unknown tensor '${name}'`);
        continue;
      }
      const e = this.layout.get(name);
      if (v === null || typeof v !== 'object' || typeof v.length !== 'number') {
        problems.push(`tensor '${name}' must be an array of numbers`);
      } else if (v.length !== e.size) {
        problems.push(`tensor '${name}' has ${v.length} values, expected ${e.size} (shape [${e.shape.join(', ')}])`);
      }
    }
    for (const name of this.layout.names()) if (!given.has(name)) problems.push(`missing tensor '${name}'`);
    if (problems.length > 0) throw new RangeError(`loadStateDict: ${problems.join('; ')}`);
    for (const [name, v] of entries) {
      const e = this.layout.get(name);
      for (let i = 0; i < e.size; i++) this.paramBuffer[e.offset + i] = v[i]!;
    }
  }

  /** Copies of every parameter by name, in layout order. */
  stateDict(): Map<string, Float32Array> {
    const m = new Map<string, Float32Array>();
    for (const [k, v] of this.parameters) m.set(k, v.slice());
    return m;
  }

  /** x: [batch, steps, inputSize], batch-first. See the file comment for semantics. */
  forward(x: ArrayLike<number>, opts: ForwardOptions): ForwardResult {
    return this.run(x, null, opts);
  }

  /**
   * The same as `forward` on the one-hot encoding of `tokens` [batch, steps] (ids in
   * 0..inputSize-1; ids at padded steps are ignored), without building it: layer 0's input
   * projection becomes a gather of W_ih's columns and its weight gradient a scatter-add, and
   * backward returns no dInput (token ids have no gradient).
   */
  forwardTokens(tokens: ArrayLike<number>, opts: ForwardOptions): ForwardResult {
    if (tokens === null || typeof tokens !== 'object') {
      throw new TypeError('forwardTokens tokens must be an Int32Array (or array of integers) [batch, steps]');
    }
    return this.run(null, tokens, opts);
  }

  private run(x: ArrayLike<number> | null, tokens: ArrayLike<number> | null, opts: ForwardOptions): ForwardResult {
    return RecurrentStack.forwardGroup([{ stack: this, x, tokens, opts }])[0]!;
  }

  /**
   * Forward of a group of stacks in lockstep: stacks of one shape over the same parameters (the
   * shards of a batch, each with its own input, lengths, states, masks and scratch), layer by
   * layer and direction by direction, each step's recurrent product ONE product over the rows of
   * every member (kernels.gemmRows), so that W_hh is read once per step for all of them. Each
   * member's result is exactly its own `forward`'s: the product runs at `productRows(rows)` rows,
   * where every row's bits depend on that row alone, and each member draws its masks from its own
   * `rng` in the order of the file comment.
   */
  static forwardGroup(members: readonly GroupForward[]): ForwardResult[] {
    const lead = checkGroup(members.map((m) => m.stack));
    // Every member checked before any is begun: a refused group leaves each stack as it was.
    const shapes = members.map((m) => m.stack.validateForward(m.x ?? null, m.tokens ?? null, m.opts));
    const mode = (m: GroupForward) => `${m.tokens ? 'token ids' : 'dense input'}${m.opts.training ? ', training' : ''}`;
    const odd = members.findIndex((m) => mode(m) !== mode(members[0]!));
    if (odd > 0) throw new RangeError(`group member ${odd} runs ${mode(members[odd]!)}, member 0 ${mode(members[0]!)}: a group's members run alike`);
    const fs = members.map((m, i) => m.stack.beginForward(m.x ?? null, m.tokens ?? null, m.opts, shapes[i]!));
    const L = lead.options.numLayers;
    for (let l = 0; l < L; l++) {
      for (let d = 0; d < lead.numDirections; d++) {
        // One-hot input: the rows layer 0's projection gathers, made once for the group.
        const table = l === 0 && fs[0]!.last.gather ? lead.tokenTable(d) : null;
        for (const f of fs) f.st.beginDirection(f, l, d, table);
        lead.forwardSteps(fs, l, d);
        for (const f of fs) f.st.endDirection(f, l, d);
      }
      if (l < L - 1) for (const f of fs) f.st.dropBetween(f, l);
    }
    return fs.map((f) => f.st.finishForward(f));
  }

  /** A member's forward up to its first layer (its input checked by validateForward, `shape`): scratch sized, layer 0's input time-major. */
  private beginForward(x: ArrayLike<number> | null, tokens: ArrayLike<number> | null, opts: ForwardOptions, shape: { B: number; T: number }): Fw {
    const o = this.options;
    const { B, T } = shape; // validateForward's
    const I0 = o.inputSize;
    const training = opts.training ?? false;
    const useInput = training && o.inputDropout > 0;
    const sc = this.ensureScratch(T, B);
    const lens = this.lens;
    if (opts.lengths) for (let b = 0; b < B; b++) lens[b] = opts.lengths[b]!;
    else lens.fill(T, 0, B);

    // Layer 0's input, time-major; padded positions zeroed so that nothing non-finite a caller
    // left there can reach a product. Tokens stay ids (gathered), unless input dropout scales
    // the one-hot rows: then they are expanded and take the dense path.
    const gather = tokens !== null && !useInput;
    const inputTimeMajor = tokens === null && opts.inputTimeMajor === true;
    if (gather) {
      const ids = sc.ids; // [T, B]
      for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) ids[t * B + b] = t < lens[b]! ? tokens[b * T + t]! : 0;
    } else {
      const xs = sc.x; // [T, B, I0]
      for (let t = 0; t < T; t++) {
        for (let b = 0; b < B; b++) {
          const dst = (t * B + b) * I0;
          if (t >= lens[b]!) xs.fill(0, dst, dst + I0);
          else if (tokens) {
            xs.fill(0, dst, dst + I0);
            xs[dst + tokens[b * T + t]!] = 1;
          } else {
            const src = (inputTimeMajor ? t * B + b : b * T + t) * I0;
            for (let i = 0; i < I0; i++) xs[dst + i] = x![src + i]!;
          }
        }
      }
    }
    this.last = {
      B, T, tokens: tokens !== null, gather, timeMajor: opts.timeMajor === true, inputTimeMajor,
      useInput, useRec: training && o.recurrentDropout > 0, useDrop: training && o.dropout > 0 && o.numLayers > 1,
    };
    return { st: this, sc, B, T, opts, rng: opts.rng as Rng, last: this.last }; // rng: validated when a mask is drawn
  }

  /**
   * Layer l, direction d of a member before its steps: its dropout masks (input, then
   * recurrent), its input projection of all steps (for one-hot input, gathered from `table`),
   * its initial state.
   */
  private beginDirection(f: Fw, l: number, d: number, table: Float32Array | null): void {
    const o = this.options;
    const { sc, B, T, last } = f;
    const H = o.hiddenSize;
    const D = this.numDirections;
    const I = l === 0 ? o.inputSize : D * H;
    const ds = sc.layers[l]!.dirs[d]!;
    const X = this.layerInput(sc, l, last.useDrop); // [T, B, I]
    if (last.useInput) drawDropoutMask(ds.inMask, 0, B * I, o.inputDropout, f.rng);
    if (last.useRec) drawDropoutMask(ds.recMask, 0, B * H, o.recurrentDropout, f.rng);
    let Xd = X;
    if (last.useInput) {
      applySequenceMask(ds.xDrop, X, ds.inMask, T, B, I);
      Xd = ds.xDrop;
    }
    this.project(sc, l, d, Xd, I, B, T, table);

    const BH = B * H;
    const k = (l * D + d) * BH;
    const first = d === 0 ? 0 : T * BH;
    const { h0, c0 } = f.opts;
    if (h0) for (let i = 0; i < BH; i++) ds.h[first + i] = h0[k + i]!;
    else ds.h.fill(0, first, first + BH);
    if (o.cell === 'lstm') {
      if (c0) for (let i = 0; i < BH; i++) ds.c[first + i] = c0[k + i]!;
      else ds.c.fill(0, first, first + BH);
    }
  }

  /** Layer l, direction d of a member after its steps: the final states out. */
  private endDirection(f: Fw, l: number, d: number): void {
    const { sc, B, T } = f;
    const BH = B * this.options.hiddenSize;
    const k = (l * this.numDirections + d) * BH;
    const ds = sc.layers[l]!.dirs[d]!;
    const final = d === 0 ? T * BH : 0;
    copyInto(sc.hN, k, ds.h, final, BH);
    if (this.options.cell === 'lstm') copyInto(sc.cN, k, ds.c, final, BH);
  }

  /** Inter-layer dropout over layer l's output (padding included), when the member uses it. */
  private dropBetween(f: Fw, l: number): void {
    if (!f.last.useDrop) return;
    const layer = f.sc.layers[l]!;
    const n = f.T * f.B * this.numDirections * this.options.hiddenSize;
    drawDropoutMask(layer.dropMask, 0, n, this.options.dropout, f.rng);
    mulInto(layer.dropped, 0, layer.out, 0, layer.dropMask, 0, n);
  }

  /** A member's top layer output to batch-first [B, T, outputSize] (or left time-major), directions merged if asked. */
  private finishForward(f: Fw): ForwardResult {
    const o = this.options;
    const { sc, B, T } = f;
    const H = o.hiddenSize;
    const D = this.numDirections;
    const L = o.numLayers;
    const top = sc.layers[L - 1]!.out; // [T, B, D*H]
    const timeMajor = f.last.timeMajor;
    let out = sc.output;
    const W = D * H;
    if (D === 1 || o.merge === 'concat') {
      if (timeMajor) out = top;
      else for (let b = 0; b < B; b++) copyRows(out, b * T * W, W, top, b * W, B * W, T, W);
    } else {
      const s = o.merge === 'mean' ? 0.5 : 1;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const src = (t * B + b) * W;
          const dst = (timeMajor ? t * B + b : b * T + t) * H;
          for (let j = 0; j < H; j++) out[dst + j] = (top[src + j]! + top[src + H + j]!) * s;
        }
      }
    }
    const n = L * D * B * H;
    return {
      output: out.subarray(0, B * T * this.outputSize),
      hN: sc.hN.subarray(0, n),
      ...(o.cell === 'lstm' ? { cN: sc.cN.subarray(0, n) } : {}),
    };
  }

  /**
   * Backward through time of the last forward. ACCUMULATES (+=) parameter gradients into the
   * gradient buffer; returns input and initial-state gradients (views into scratch).
   */
  backward(g: BackwardInput = {}): BackwardResult {
    return RecurrentStack.backwardGroup([{ stack: this, g }])[0]!;
  }

  /**
   * Backward of a group's last `forwardGroup` (or of each member's last forward), in lockstep as
   * forwardGroup: per step one product dz·W_hh over every member's rows. Each member's result
   * and gradients are exactly its own `backward`'s (each accumulates into its own gradient buffer).
   */
  static backwardGroup(members: readonly GroupBackward[]): BackwardResult[] {
    const lead = checkGroup(members.map((m) => m.stack));
    const bs = members.map((m) => m.stack.beginBackward(m.g ?? {}));
    for (let l = lead.options.numLayers - 1; l >= 0; l--) {
      for (const b of bs) if (b.st.wantDx(b, l)) kernels.zero(b.nxt, 0, b.T * b.B * b.st.layerWidth(l)); // dL/d(layer input), summed over directions
      for (let d = 0; d < lead.numDirections; d++) {
        for (const b of bs) b.st.beginDirectionBackward(b, l, d);
        lead.backwardSteps(bs, l, d);
        for (const b of bs) b.st.endDirectionBackward(b, l, d);
      }
      for (const b of bs) b.st.endLayerBackward(b, l);
    }
    return bs.map((b) => b.st.finishBackward(b));
  }

  /** A member's backward up to its top layer: input checked, dL/d(top layer output) time-major [T, B, D*H] in `cur`. */
  private beginBackward(g: BackwardInput): Bw {
    const last = this.last;
    if (!last || !this.scratch) throw new Error('backward() needs a forward() first');
    objectOption(g, 'backward input');
    knownKeys(g, BACKWARD_KEYS, 'backward input', 'backward');
    const o = this.options;
    const { B, T } = last;
    const H = o.hiddenSize;
    const D = this.numDirections;
    const W = D * H;
    const TB = T * B;
    const nState = o.numLayers * D * B * H;
    if (g.inputGrad !== undefined) booleanOption(g.inputGrad, 'backward inputGrad');
    checkSize(g.dOutput, B * T * this.outputSize, 'backward dOutput', 'batch*steps*outputSize');
    checkSize(g.dHN, nState, 'backward dHN', 'numLayers*D*batch*hiddenSize');
    if (g.dCN !== undefined && o.cell !== 'lstm') throw new OptionError(`backward dCN is only accepted by cell 'lstm', this stack is '${o.cell}'`, 'backward dCN');
    checkSize(g.dCN, nState, 'backward dCN', 'numLayers*D*batch*hiddenSize');

    const sc = this.scratch;
    const cur = sc.dA;
    const dOut = g.dOutput;
    const tm = last.timeMajor;
    if (!dOut) kernels.zero(cur, 0, TB * W);
    else if ((D === 1 || o.merge === 'concat') && tm) {
      if (dOut instanceof Float32Array) cur.set(dOut); // the same layout: one copy
      else for (let i = 0; i < TB * W; i++) cur[i] = dOut[i]!;
    } else if (D === 1 || o.merge === 'concat') {
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const src = (b * T + t) * W;
          const dst = (t * B + b) * W;
          for (let j = 0; j < W; j++) cur[dst + j] = dOut[src + j]!;
        }
      }
    } else {
      const s = o.merge === 'mean' ? 0.5 : 1;
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          const src = (tm ? t * B + b : b * T + t) * H;
          const dst = (t * B + b) * W;
          for (let j = 0; j < H; j++) {
            const v = dOut[src + j]! * s;
            cur[dst + j] = v;
            cur[dst + H + j] = v;
          }
        }
      }
    }
    return { st: this, sc, B, T, last, g, inputGrad: !last.tokens && g.inputGrad !== false, cur, nxt: sc.dB };
  }

  /** Width of layer l's input. */
  private layerWidth(l: number): number {
    return l === 0 ? this.options.inputSize : this.numDirections * this.options.hiddenSize;
  }

  /** Whether dL/d(layer l's input) is needed at all. */
  private wantDx(b: Bw, l: number): boolean {
    return l > 0 || b.inputGrad;
  }

  /** Layer l, direction d of a member before its steps: dL/dh and dL/dc from dHN/dCN (or 0). */
  private beginDirectionBackward(b: Bw, l: number, d: number): void {
    const BH = b.B * this.options.hiddenSize;
    const k = (l * this.numDirections + d) * BH;
    const { dh, dc } = b.sc; // [B, H] each
    const { dHN, dCN } = b.g;
    if (dHN) for (let i = 0; i < BH; i++) dh[i] = dHN[k + i]!;
    else dh.fill(0, 0, BH);
    if (dCN) for (let i = 0; i < BH; i++) dc[i] = dCN[k + i]!;
    else dc.fill(0, 0, BH);
  }

  /**
   * Layer l, direction d of a member after its steps: dH0/dC0 out, then the weight, bias and
   * input gradients, one large product each over all T*B rows.
   */
  private endDirectionBackward(b: Bw, l: number, d: number): void {
    const o = this.options;
    const { sc, B, T, nxt } = b;
    const { gather, useInput, useRec, useDrop } = b.last;
    const H = o.hiddenSize;
    const GH = GATES[o.cell] * H;
    const BH = B * H;
    const TB = T * B;
    const I = this.layerWidth(l);
    const ds = sc.layers[l]!.dirs[d]!;
    const p = this.dirParams[l * this.numDirections + d]!;
    const k = (l * this.numDirections + d) * BH;
    const P = this.paramBuffer;
    const Gr = this._gradBuffer;
    const gemm = kernels.gemm;
    copyInto(sc.dH0, k, sc.dh, 0, BH);
    if (o.cell === 'lstm') copyInto(sc.dC0, k, sc.dc, 0, BH);

    const X = this.layerInput(sc, l, useDrop); // [T, B, I]
    const scatter = gather && l === 0; // dW_ih by a scatter, last: it may use dz's buffer once dz is spent
    if (!scatter) gemm(true, false, GH, I, TB, sc.dzx, 0, GH, useInput ? ds.xDrop : X, 0, I, Gr, p.wih, I, true);
    if (useRec) gemm(true, false, GH, H, TB, sc.dzh, 0, GH, ds.hDrop, 0, H, Gr, p.whh, H, true);
    else gemm(true, false, GH, H, TB, sc.dzh, 0, GH, ds.h, d === 0 ? 0 : BH, H, Gr, p.whh, H, true);
    if (p.bih >= 0) {
      if (sc.dzh === sc.dzx) {
        // RNN and LSTM: db_ih = db_hh = Σ_rows dz, summed once.
        sc.db.fill(0, 0, GH);
        kernels.sumRows(sc.db, 0, sc.dzx, 0, TB, GH);
        kernels.accumulate(Gr, p.bih, sc.db, 0, GH);
        kernels.accumulate(Gr, p.bhh, sc.db, 0, GH);
      } else {
        kernels.sumRows(Gr, p.bih, sc.dzx, 0, TB, GH);
        kernels.sumRows(Gr, p.bhh, sc.dzh, 0, TB, GH);
      }
    }
    if (this.wantDx(b, l)) {
      if (useInput) {
        gemm(false, false, TB, I, GH, sc.dzx, 0, GH, P, p.wih, I, sc.dXTmp, 0, I, false);
        accumulateSequenceMask(nxt, sc.dXTmp, ds.inMask, T, B, I);
      } else {
        gemm(false, false, TB, I, GH, sc.dzx, 0, GH, P, p.wih, I, nxt, 0, I, true);
      }
    }
    if (scatter) this.scatterInputGrad(sc, p, TB, GH);
  }

  /** After layer l's directions: through the inter-layer dropout below it, then layer l-1's output gradient is the current one. */
  private endLayerBackward(b: Bw, l: number): void {
    const W = this.numDirections * this.options.hiddenSize;
    // dL/d(out_{l-1}) = dL/d(in_l) * mask.
    if (l > 0 && b.last.useDrop) mulInto(b.nxt, 0, b.nxt, 0, b.sc.layers[l - 1]!.dropMask, 0, b.T * b.B * W);
    const tmp = b.cur;
    b.cur = b.nxt;
    b.nxt = tmp;
  }

  /** cur = dL/d(layer 0 input), time-major; to batch-first (0 at padding: dz rows are 0 there), unless the input came time-major. */
  private finishBackward(b: Bw): BackwardResult {
    const { sc, B, T, inputGrad } = b;
    const I0 = this.options.inputSize;
    const nState = this.options.numLayers * this.numDirections * B * this.options.hiddenSize;
    let dIn = sc.dInput;
    if (inputGrad && b.last.inputTimeMajor) dIn = b.cur;
    else if (inputGrad) for (let i = 0; i < B; i++) copyRows(dIn, i * T * I0, I0, b.cur, i * I0, B * I0, T, I0);
    return {
      dInput: dIn.subarray(0, inputGrad ? B * T * I0 : 0),
      dH0: sc.dH0.subarray(0, nState),
      ...(this.options.cell === 'lstm' ? { dC0: sc.dC0.subarray(0, nState) } : {}),
    };
  }

  /**
   * Input projection of all steps of one layer and direction: gates[T*B, GH] = Xd · W_ihᵀ + b_ih
   * (+ b_hh, except GRU whose recurrent side must stay separate): the biases broadcast first,
   * the product accumulated onto them. For one-hot input, row r is row ids[r] of `table`
   * (tokenTable), gathered.
   */
  private project(sc: StackScratch, l: number, d: number, Xd: Float32Array, I: number, B: number, T: number, table: Float32Array | null): void {
    const o = this.options;
    const GH = GATES[o.cell] * o.hiddenSize;
    const TB = T * B;
    const P = this.paramBuffer;
    const p = this.dirParams[l * this.numDirections + d]!;
    const ds = sc.layers[l]!.dirs[d]!;
    if (table) {
      kernels.gatherRows(ds.gates, 0, TB, GH, table, 0, sc.ids, 0);
    } else if (p.bih >= 0) {
      kernels.fillRows(ds.gates, 0, TB, GH, P, p.bih, o.cell === 'gru' ? null : P, p.bhh);
      kernels.gemm(false, true, TB, GH, I, Xd, 0, I, P, p.wih, I, ds.gates, 0, GH, true);
    } else {
      kernels.gemm(false, true, TB, GH, I, Xd, 0, I, P, p.wih, I, ds.gates, 0, GH, false);
    }
  }

  /**
   * For one-hot input, layer 0 direction d: the rows the projection gathers, [I, GH]: row v is
   * column v of W_ih plus the biases (b_ih + b_hh; b_ih alone for GRU), in this stack's
   * `table`. Made once per direction by a group's lead, gathered from by every member.
   */
  private tokenTable(d: number): Float32Array {
    const o = this.options;
    const I = o.inputSize;
    const GH = GATES[o.cell] * o.hiddenSize;
    const P = this.paramBuffer;
    const p = this.dirParams[d]!;
    const isGru = o.cell === 'gru';
    const tab = this.scratch!.table; // [I, GH]
    for (let g = 0; g < GH; g++) {
      const bias = p.bih >= 0 ? Math.fround(P[p.bih + g]! + (isGru ? 0 : P[p.bhh + g]!)) : 0;
      const w = p.wih + g * I;
      for (let v = 0; v < I; v++) tab[v * GH + g] = P[w + v]! + bias;
    }
    return tab;
  }

  /**
   * The steps of layer l, direction d of every member, in lockstep. Per step: each active
   * member's h_{t-1} (masked with recurrent dropout) and pre-activation rows are one segment of
   * the step's product (kernels.gemmRows: ONE product h·W_hhᵀ accumulating onto every member's
   * rows, against W_hhᵀ, transposed once here: the untransposed operand streams in place, and its
   * rows are padded by a cache line since a power-of-two G·H would put them all in the same cache
   * sets), then each member's cell step runs. Members with shorter sequences drop out of the steps
   * they do not have (the reverse direction runs each member's steps T_m-1..0, aligned on s).
   */
  private forwardSteps(fs: readonly Fw[], l: number, d: number): void {
    const o = this.options;
    const { H, GH, W, P, p, relu, gs, seg, Tmax } = this.stepSetup(fs, l, d);
    const isGru = o.cell === 'gru';
    const ldT = GH + WHH_PAD;
    const whhT = this.whhCopy!; // allocated by groupScratch
    kernels.transpose(whhT, 0, ldT, P, p.whh, GH, H);

    for (let s = 0; s < Tmax; s++) {
      // Each active member's h_{t-1} (or its masked copy) and its gate rows (GRU: the group's rows,
      // where W_hh h + b_hh stays apart from the input side).
      seg.clear();
      for (const f of fs) {
        if (s >= f.T) continue;
        const { B } = f;
        const BH = B * H;
        const ds = f.sc.layers[l]!.dirs[d]!;
        const t = d === 0 ? s : f.T - 1 - s;
        const prev = (d === 0 ? t : t + 1) * BH;
        const C = isGru ? gs.rowsG : ds.gates;
        const cOff = isGru ? seg.rows * GH : t * B * GH;
        if (f.last.useRec) {
          mulInto(ds.hDrop, t * BH, ds.h, prev, ds.recMask, 0, BH);
          seg.add(ds.hDrop, t * BH, C, cOff, B);
        } else {
          seg.add(ds.h, prev, C, cOff, B);
        }
      }
      if (isGru) {
        const M = productRows(seg.rows);
        if (p.bhh >= 0) kernels.fillRows(gs.rowsG, 0, M, GH, P, p.bhh, null, 0);
        else gs.rowsG.fill(0, 0, M * GH);
      }
      kernels.gemmRows(seg, GH, H, H, GH, whhT, 0, ldT, true, gs.rowsH, gs.rowsG);

      // Step each member.
      let rows = 0;
      for (const f of fs) {
        if (s >= f.T) continue;
        const { B, sc } = f;
        const BH = B * H;
        const ds = sc.layers[l]!.dirs[d]!;
        const out = sc.layers[l]!.out; // [T, B, D*H]
        const t = d === 0 ? s : f.T - 1 - s;
        const prev = (d === 0 ? t : t + 1) * BH;
        const next = (d === 0 ? t + 1 : t) * BH;
        const gOff = t * B * GH;
        const oOff = t * B * W + d * H;
        const lens = f.st.lens;
        if (isGru) gruForwardStep(B, H, t, lens, ds.gates, gOff, gs.rowsG, rows * GH, ds.hn, t * BH, ds.h, prev, ds.h, next, out, oOff, W);
        else if (o.cell === 'lstm') lstmForwardStep(B, H, t, lens, ds.gates, gOff, ds.h, prev, ds.c, prev, ds.h, next, ds.c, next, out, oOff, W);
        else rnnForwardStep(relu, B, H, t, lens, ds.gates, gOff, ds.h, prev, ds.h, next, out, oOff, W);
        rows += B;
      }
    }
  }

  /**
   * Backward through the steps of layer l, direction d of every member, in lockstep (see
   * forwardSteps): per step, in reverse processing order, each active member's gate derivatives,
   * then ONE product dh_{t-1} += dz·W_hh over the members' rows (with recurrent dropout the
   * product goes to the group's rows and each member adds it through its mask), against a copy
   * of W_hh with its rows padded by a cache line (as W_hhᵀ in forwardSteps).
   */
  private backwardSteps(bs: readonly Bw[], l: number, d: number): void {
    const o = this.options;
    const { H, GH, W, P, p, relu, gs, seg, Tmax } = this.stepSetup(bs, l, d);
    const useRec = bs[0]!.last.useRec;
    const ldW = H + WHH_PAD;
    const whh = this.whhCopy!; // allocated by groupScratch
    copyRows(whh, 0, ldW, P, p.whh, H, GH, H);

    for (let s = Tmax - 1; s >= 0; s--) {
      seg.clear();
      for (const b of bs) {
        if (s >= b.T) continue;
        const { B, sc, cur } = b;
        const BH = B * H;
        const ds = sc.layers[l]!.dirs[d]!;
        const lens = b.st.lens;
        const t = d === 0 ? s : b.T - 1 - s;
        const prev = (d === 0 ? t : t + 1) * BH; // slot of the state before step t
        const next = (d === 0 ? t + 1 : t) * BH; // slot of the state after step t
        const gOff = t * B * GH;
        const dOff = t * B * W + d * H;
        const { dh, dc } = sc;
        if (o.cell === 'lstm') {
          lstmBackwardStep(B, H, t, lens, ds.gates, gOff, ds.c, prev, ds.c, next, cur, dOff, W, dh, 0, dc, 0, sc.dzx, gOff);
        } else if (o.cell === 'gru') {
          gruBackwardStep(B, H, t, lens, ds.gates, gOff, ds.hn, t * BH, ds.h, prev, cur, dOff, W, dh, 0, sc.dzx, gOff, sc.dzh, gOff);
        } else {
          rnnBackwardStep(relu, B, H, t, lens, ds.h, next, cur, dOff, W, dh, 0, sc.dzx, gOff);
        }
        if (useRec) seg.add(sc.dzh, gOff, gs.rowsH, seg.rows * H, B);
        else seg.add(sc.dzh, gOff, dh, 0, B);
      }
      kernels.gemmRows(seg, H, GH, GH, H, whh, 0, ldW, !useRec, gs.rowsG, gs.rowsH);
      if (!useRec) continue;
      let rows = 0;
      for (const b of bs) {
        if (s >= b.T) continue;
        const BH = b.B * H;
        mulAddInto(b.sc.dh, 0, gs.rowsH, rows * H, b.sc.layers[l]!.dirs[d]!.recMask, 0, BH);
        rows += b.B;
      }
    }
  }

  /** What forwardSteps and backwardSteps both set up for layer l, direction d of a group. */
  private stepSetup(ms: readonly { B: number; T: number }[], l: number, d: number) {
    const o = this.options;
    const H = o.hiddenSize;
    const D = this.numDirections;
    return {
      H, GH: GATES[o.cell] * H, W: D * H, P: this.paramBuffer, p: this.dirParams[l * D + d]!,
      relu: o.nonlinearity === 'relu', gs: this.groupScratch(ms), seg: this.segments,
      Tmax: ms.reduce((m, f) => Math.max(m, f.T), 0),
    };
  }

  /**
   * The group's rows (GroupScratch), held by the group's lead and sized for the group's rows
   * (reserveGroup sizes them up front).
   */
  private groupScratch(ms: readonly { B: number }[]): GroupScratch {
    const rows = productRows(ms.reduce((n, m) => n + m.B, 0));
    this.whhCopy ??= allocF32(whhCopyFloats(this.options));
    const gs = this.group;
    if (gs && gs.capRows >= rows) return gs;
    this.group = new GroupScratch(this.options, Math.max(rows, gs?.capRows ?? 0));
    return this.group;
  }

  /**
   * dW_ih of layer 0 (direction p) for one-hot input: Σ over rows of dz[r, :] into column
   * ids[r] of dW_ih, gathered per token in the table [I, GH] first (contiguous rows), then
   * added transposed into the gradient buffer: through dz's buffer, spent by now, where it holds
   * the transpose (one transpose and one add instead of a strided loop, ~6 ms a bilstm step).
   */
  private scatterInputGrad(sc: StackScratch, p: DirParams, TB: number, GH: number): void {
    const I = this.options.inputSize;
    const tab = sc.table; // [I, GH]
    kernels.zero(tab, 0, I * GH);
    kernels.scatterAddRows(tab, 0, GH, sc.ids, 0, TB, sc.dzx, 0);
    const Gr = this._gradBuffer;
    if (sc.dzx.length >= I * GH) {
      kernels.transpose(sc.dzx, 0, I, tab, 0, I, GH); // [GH, I]
      kernels.accumulate(Gr, p.wih, sc.dzx, 0, GH * I);
      return;
    }
    for (let g = 0; g < GH; g++) {
      const w = p.wih + g * I;
      for (let v = 0; v < I; v++) Gr[w + v]! += tab[v * GH + g]!;
    }
  }

  /** Layer l's input [T, B, I_l] as forward saw it (before input dropout). */
  private layerInput(sc: StackScratch, l: number, useDrop: boolean): Float32Array {
    if (l === 0) return sc.x;
    const below = sc.layers[l - 1]!;
    return useDrop ? below.dropped : below.out;
  }

  /**
   * Sizes the scratch for forward and backward of up to `batch` sequences of up to `steps` steps,
   * so that such calls allocate nothing (SequenceModel.reserve). The results of the last forward
   * stay valid unless the scratch had to grow. `lead` false: the stack only ever runs as a
   * further member of groups another stack leads (its W_hh copy and group rows are not made).
   */
  reserve(steps: number, batch: number, lead = true): void {
    positiveInt(steps, 'reserve steps');
    positiveInt(batch, 'reserve batch');
    this.ensureScratch(steps, batch);
    // A stack that never leads a group (StepRunner's further replicas) never makes the W_hh copy or group rows.
    if (lead) this.groupScratch([{ B: batch }]);
  }

  /** Sizes the group rows for leading groups of up to `rows` rows in all (the sum of the members' batches). */
  reserveGroup(rows: number): void {
    positiveInt(rows, 'reserveGroup rows');
    this.groupScratch([{ B: rows }]);
  }

  private ensureScratch(T: number, B: number): StackScratch {
    const sc = this.scratch;
    if (sc && sc.fits(T, B)) return sc;
    // Grow to cover both the old and the new shape, so alternating shapes settle quickly.
    const next = new StackScratch(this.options, Math.max(T, sc?.capSteps ?? 0), Math.max(B, sc?.capBatch ?? 0));
    this.scratch = next;
    this.lens = new Int32Array(next.capBatch);
    this.last = null;
    return next;
  }

  private validateForward(
    x: ArrayLike<number> | null, tokens: ArrayLike<number> | null, opts: ForwardOptions,
  ): { B: number; T: number } {
    const o = this.options;
    objectOption(opts, 'forward options');
    knownKeys(opts, FORWARD_KEYS, 'forward options', 'forward');
    positiveInt(opts.batch, 'forward options.batch');
    positiveInt(opts.steps, 'forward options.steps');
    const B = opts.batch;
    const T = opts.steps;
    if (tokens === null) {
      if (x === null || typeof x !== 'object' || typeof x.length !== 'number') {
        throw new TypeError('forward x must be a Float32Array (or array of numbers) [batch, steps, inputSize]');
      }
      const nx = B * T * o.inputSize;
      if (x.length !== nx) {
        throw new RangeError(`forward x has ${x.length} values, expected batch*steps*inputSize = ${B}*${T}*${o.inputSize} = ${nx}`);
      }
    } else {
      if (typeof tokens !== 'object' || typeof tokens.length !== 'number') {
        throw new TypeError('forwardTokens tokens must be an Int32Array (or array of integers) [batch, steps]');
      }
      if (tokens.length !== B * T) {
        throw new RangeError(`forwardTokens tokens has ${tokens.length} values, expected batch*steps = ${B}*${T} = ${B * T}`);
      }
    }
    if (opts.lengths !== undefined) {
      const len = opts.lengths;
      if (len === null || typeof len !== 'object' || len.length !== B) {
        throw new RangeError(`forward options.lengths must have batch = ${B} entries, got ${len?.length}`);
      }
      for (let b = 0; b < B; b++) {
        const v = len[b]!;
        if (!Number.isInteger(v) || v < 1 || v > T) {
          throw new RangeError(`forward options.lengths[${b}] must be an integer in [1, steps = ${T}], got ${v}`);
        }
      }
    }
    if (tokens !== null) {
      // Ids at padded steps are never read.
      const V = o.inputSize;
      for (let b = 0; b < B; b++) {
        const L = opts.lengths ? opts.lengths[b]! : T;
        for (let t = 0; t < L; t++) {
          const v = tokens[b * T + t]!;
          if (!Number.isInteger(v) || v < 0 || v >= V) {
            throw new RangeError(`forwardTokens tokens[${b * T + t}] = ${v} is not a token id in 0..${V - 1}`);
          }
        }
      }
    }
    const ns = o.numLayers * this.numDirections * B * o.hiddenSize;
    checkSize(opts.h0, ns, 'forward options.h0', 'numLayers*D*batch*hiddenSize');
    if (opts.c0 !== undefined && o.cell !== 'lstm') {
      throw new OptionError(`forward options.c0 is only accepted by cell 'lstm', this stack is '${o.cell}'`, 'forward options.c0');
    }
    checkSize(opts.c0, ns, 'forward options.c0', 'numLayers*D*batch*hiddenSize');
    if (opts.timeMajor !== undefined) booleanOption(opts.timeMajor, 'forward options.timeMajor');
    if (opts.inputTimeMajor !== undefined) booleanOption(opts.inputTimeMajor, 'forward options.inputTimeMajor');
    if (opts.training !== undefined) booleanOption(opts.training, 'forward options.training');
    const anyDropout = o.inputDropout > 0 || o.recurrentDropout > 0 || (o.dropout > 0 && o.numLayers > 1);
    if (opts.training && anyDropout && !(opts.rng instanceof Rng)) {
      throw new OptionError('forward options.rng must be an Rng when training with dropout, inputDropout or recurrentDropout > 0', 'forward options.rng');
    }
    return { B, T };
  }

  private checkGradBuffer(buf: Float32Array, what: string): void {
    if (!(buf instanceof Float32Array)) throw new TypeError(`${what} must be a Float32Array`);
    if (buf.length < this.layout.size) throw new RangeError(`${what} has ${buf.length} floats, the stack needs ${this.layout.size}`);
  }
}

function checkSize(a: ArrayLike<number> | undefined, n: number, name: string, formula: string): void {
  if (a === undefined) return;
  if (a === null || typeof a !== 'object' || typeof a.length !== 'number') {
    throw new TypeError(`${name} must be a Float32Array (or array of numbers) of ${formula} = ${n} values`);
  }
  if (a.length !== n) throw new RangeError(`${name} has ${a.length} values, expected ${formula} = ${n}`);
}
