/**
 * A whole trainable network built from a model spec (model/spec.ts) or a model config (its
 * preset): the spec's layers, looked up in the layer table, run in order over the batch, then
 * the loss from the loss table. Its parameters are ONE flat buffer described by ONE Layout
 * (PyTorch's names: `embedding.weight`, `rnn.weight_ih_l0`, ..., `head.weight`), so the
 * optimizer, the gradient reduction, checkpoints and safetensors are each one loop over one
 * buffer, and the buffer can live in shared memory. Every thread of a training run builds the
 * same model from the same spec over the same arena.
 *
 * Between layers sequences are time-major ([T, B, F], the recurrent stack's own layout: no
 * reordering between a stack and a per-step head, and a per-step loss sees its rows in that
 * order, the targets reordered to match). Scratch grows to the largest batch seen, in the
 * kernels' memory; nothing is allocated per step.
 */
import type { Layout } from '../params/layout.js';
import { BUFFER_KEYS, type RecurrentStack, type StackBuffers } from '../stack/stack.js';
import { RecurrentLayer } from '../layers/recurrent.js';
import { growF32, rowsOf, type Grad, type LayerInstance, type Pass, type Scratch, type Value } from '../layers/types.js';
import type { LossResult } from '../losses/types.js';
import { reserveLoss } from '../losses/kernels.js';
import { hasTargets, targetIsClass, targetPerStep, type SequenceDataset, type SequenceInputs, type TargetKind } from '../data/dataset.js';
import { knownKeys, objectOption, positiveInt } from '../options/validate.js';
import { OptionError } from '../options/errors.js';
import { Rng } from '../rng.js';
import { allocF32 } from '../kernels/memory.js';
import { planModel, type ModelDefinition, type ModelPlan, type ResolvedModelSpec } from './spec.js';

export * from './config.js';
export * from './spec.js';

/** One (shard of a) batch in the model's padded, batch-first form. */
export interface Batch {
  batch: number;
  steps: number;
  lengths: Int32Array;               // [batch]
  inputs: Int32Array | Float32Array; // tokens [batch, steps] | dense [batch, steps, inputSize]
  targets: Int32Array | Float32Array; // per TargetKind, trimmed to `steps`
  h0?: Float32Array;                 // [L*D, batch, H]
  c0?: Float32Array;
}

const EMPTY: Float32Array = new Float32Array(0);

export class SequenceModel {
  /** The spec with every default filled in (what a checkpoint stores to rebuild this model). */
  readonly spec: ResolvedModelSpec;
  /** What each layer takes and gives, the layout, the targets. */
  readonly plan: ModelPlan;
  readonly layout: Layout;
  readonly paramBuffer: Float32Array;
  gradBuffer: Float32Array;
  parameters: Map<string, Float32Array>;
  grads: Map<string, Float32Array>;
  /** What a dataset's targets must be. */
  readonly task: TargetKind;
  /** Outputs per step or per sequence (classes, values, labels). */
  readonly outputSize: number;

  private readonly layers: LayerInstance[];
  /** Backward asks layer i for its input's gradient only if a layer before it has parameters. */
  private readonly inputGrad: boolean[];
  /** Backward stops at the first layer with parameters. */
  private readonly firstTrained: number;
  private readonly recurrent: RecurrentLayer[];
  private readonly pass: Pass;
  private scratch: Scratch[] = [];
  private capBatch = 0;
  private capSteps = 0;
  // The model's own scratch: converted input, the loss gradient, reordered targets, a batch-first copy of the output.
  private x: Float32Array = EMPTY;
  private dOut: Float32Array = EMPTY;
  private bf: Float32Array = EMPTY;
  private tgtI = new Int32Array(0);
  private tgtF: Float32Array = EMPTY;
  private mask = new Uint8Array(0);
  private out: Float32Array = EMPTY;
  /** The last forward's output: rows and whether they are time-major (a sequence), and already copied batch-first. */
  private last: { rows: number; timeMajor: boolean; batch: number; steps: number; bfReady: boolean } | null = null;

  constructor(model: ModelDefinition, buffers: StackBuffers = {}) {
    this.plan = planModel(model);
    this.spec = this.plan.spec;
    this.layout = this.plan.layout;
    this.task = this.plan.task;
    this.outputSize = this.plan.outputSize;
    objectOption(buffers, 'buffers');
    knownKeys(buffers, BUFFER_KEYS, 'buffers', 'the model\'s buffers');
    const n = this.layout.size;
    if (buffers.params) {
      if (buffers.params.length < n) throw new RangeError(`params buffer has ${buffers.params.length} floats, the model needs ${n}`);
      this.paramBuffer = buffers.params;
    } else {
      this.paramBuffer = allocF32(n);
      this.layout.initialize(this.paramBuffer, new Rng(this.spec.seed));
    }
    this.gradBuffer = buffers.grads ?? allocF32(n);
    if (this.gradBuffer.length < n) throw new RangeError(`grads buffer has ${this.gradBuffer.length} floats, the model needs ${n}`);
    this.parameters = this.layout.views(this.paramBuffer);
    this.grads = this.layout.views(this.gradBuffer);
    const layout = this.layout;
    this.layers = this.plan.layers.map((l) => l.def.create(l.options, l.input, {
      name: l.name,
      params: this.paramBuffer,
      grads: this.gradBuffer,
      offset: (p: string) => layout.get(`${l.name}.${p}`).offset,
      offsetOf: (full: string) => layout.get(full).offset,
    }));
    this.recurrent = this.layers.filter((l): l is RecurrentLayer => l instanceof RecurrentLayer);
    let trained = false;
    this.inputGrad = this.plan.layers.map((l) => {
      const before = trained;
      if (l.params.length > 0) trained = true;
      return before;
    });
    const first = this.plan.layers.findIndex((l) => l.params.length > 0);
    this.firstTrained = first < 0 ? this.layers.length : first;
    this.pass = {
      batch: 0, steps: 0, lengths: new Int32Array(0), training: false, params: this.paramBuffer, grads: this.gradBuffer, inputGrad: false,
    };
  }

  /** Number of parameters. */
  get size(): number {
    return this.layout.size;
  }

  /** The recurrent stack of the model's first recurrent layer (advanced use: inspection, profiling). */
  get stack(): RecurrentStack {
    const r = this.recurrent[0];
    if (!r) throw new Error('this model has no recurrent layer');
    return r.stack;
  }

  /** Accumulate gradients into another flat buffer from now on (a worker's gradient slot). */
  bindGrads(buf: Float32Array): void {
    if (buf.length < this.layout.size) throw new RangeError(`grads buffer has ${buf.length} floats, the model needs ${this.layout.size}`);
    this.gradBuffer = buf;
    this.pass.grads = buf;
    this.grads = this.layout.views(buf);
  }

  zeroGrad(): void {
    this.gradBuffer.fill(0, 0, this.layout.size);
  }

  /** Copy named tensors in (PyTorch state_dict names); unknown, missing or mis-sized names throw. */
  loadStateDict(sd: Record<string, ArrayLike<number>> | Map<string, ArrayLike<number>>): void {
    const m = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const names = this.layout.names();
    const unknown = [...m.keys()].filter((k) => !this.layout.has(k));
    if (unknown.length) throw new RangeError(`unknown parameter(s) ${unknown.join(', ')}; expected: ${names.join(', ')}`);
    const missing = names.filter((k) => !m.has(k));
    if (missing.length) throw new RangeError(`missing parameter(s) ${missing.join(', ')}`);
    for (const e of this.layout.entries) {
      const v = m.get(e.name)!;
      if (v.length !== e.size) {
        throw new RangeError(`parameter '${e.name}' has ${v.length} values, expected ${e.size} (shape [${e.shape.join(', ')}])`);
      }
      this.paramBuffer.set(v, e.offset);
    }
  }

  stateDict(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.parameters) out.set(k, v.slice());
    return out;
  }

  /** The carried state's shape (truncated BPTT): the model's one recurrent layer's L*D rows of H. */
  carryShape(): { LD: number; H: number; lstm: boolean } {
    if (this.recurrent.length !== 1) {
      throw new OptionError(`carryState needs a model with exactly one recurrent layer, this one has ${this.recurrent.length}`, 'carryState');
    }
    const o = this.recurrent[0]!.stack.options;
    return { LD: o.numLayers * (o.bidirectional ? 2 : 1), H: o.hiddenSize, lstm: o.cell === 'lstm' };
  }

  /**
   * Sizes the scratch (every layer's, the model's, the loss kernels') for training and evaluating
   * batches of up to `batch` sequences of up to `steps` steps, so such batches allocate nothing.
   * Without it the scratch grows to the largest batch seen, which in a worker pool depends on
   * which shards a thread happened to take; StepRunner.reserve sizes its replicas for any shard of
   * a dataset, and a pool worker reserves for every dataset it is given, so what a thread allocates
   * (in the run's arena, which never frees) is decided up front. (Left to grow: the gradient of the
   * final states behind a `last` pool, L*D*batch*H floats, in each replica.) `lead` false: a
   * replica that only runs in groups another leads (StepRunner's further replicas) makes no group
   * rows or W_hhᵀ of its own.
   */
  reserve(steps: number, batch: number, lead = true): void {
    positiveInt(steps, 'reserve steps');
    positiveInt(batch, 'reserve batch');
    const T = steps;
    const B = batch;
    const O = this.outputSize;
    const perStep = targetPerStep(this.task);
    const rows = perStep ? B * T : B;
    this.ensureScratch(B, T);
    for (const r of this.recurrent) r.stack.reserve(T, B, lead);
    if (this.plan.layers[0]!.convert !== 'none') this.x = growF32(this.x, T * B * this.plan.inputSize);
    this.dOut = growF32(this.dOut, rows * O);
    if (perStep) {
      this.bf = growF32(this.bf, B * T * O);
      if (targetIsClass(this.task)) {
        if (this.tgtI.length < B * T) this.tgtI = new Int32Array(B * T);
      } else {
        this.tgtF = growF32(this.tgtF, B * T * O);
        if (this.mask.length < rows) this.mask = new Uint8Array(rows);
      }
    }
    reserveLoss(rows, O);
  }

  /** Sizes the group rows of every recurrent layer for leading groups of up to `rows` rows in all (StepRunner.computeShards). */
  reserveGroup(rows: number): void {
    for (const r of this.recurrent) r.stack.reserveGroup(rows);
  }

  /** Grows every layer's scratch (and the model's) to hold a batch of B sequences of T steps. */
  private ensureScratch(B: number, T: number): void {
    if (B <= this.capBatch && T <= this.capSteps) return;
    // Grow to cover both the old and the new shape, so alternating shapes settle quickly.
    const cb = Math.max(B, this.capBatch);
    const ct = Math.max(T, this.capSteps);
    this.scratch = this.plan.layers.map((l) => {
      const s: Scratch = {};
      for (const [k, n] of Object.entries(l.def.scratch?.(l.options, l.input, cb, ct) ?? {})) s[k] = n > 0 ? allocF32(n) : EMPTY;
      return s;
    });
    this.capBatch = cb;
    this.capSteps = ct;
  }

  /** The model's input as the first layer takes it. */
  private inputValue(b: Batch): Value {
    const B = b.batch;
    const T = b.steps;
    const first = this.plan.layers[0]!;
    const I = this.plan.inputSize;
    if (first.convert === 'none') {
      return this.spec.input.kind === 'tokens'
        ? { data: EMPTY, tokens: b.inputs as Int32Array }
        : { data: b.inputs as Float32Array, batchFirst: true };
    }
    // One-hot or dense, time-major [T, B, I], padded steps zero.
    this.x = growF32(this.x, T * B * I);
    const x = this.x;
    const onehot = first.convert === 'one-hot';
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < B; i++) {
        const dst = (t * B + i) * I;
        if (onehot || t >= b.lengths[i]!) x.fill(0, dst, dst + I);
        if (t >= b.lengths[i]!) continue;
        if (onehot) x[dst + b.inputs[i * T + t]!] = 1;
        else for (let j = 0; j < I; j++) x[dst + j] = b.inputs[(i * T + t) * I + j]!;
      }
    }
    return { data: x.subarray(0, T * B * I) };
  }

  /** Forward through every layer; returns the output's rows (T*B time-major, or B). */
  private forward(b: Batch, training: boolean, rng?: Rng): number {
    return SequenceModel.forwardGroup([this], [b], training, [rng])[0]!;
  }

  /**
   * Forward of replicas of one model over one parameter buffer (the shards a thread computes,
   * each with its own batch, rng, scratch and gradient buffer), layer by layer: a recurrent
   * layer runs the replicas in lockstep (RecurrentLayer.forwardGroup: one product per step for
   * all of them), every other layer replica by replica. Each replica's results are exactly those
   * of its own forward. Returns each replica's output rows.
   */
  private static forwardGroup(ms: readonly SequenceModel[], bs: readonly Batch[], training: boolean, rngs: readonly (Rng | undefined)[]): number[] {
    const lead = ms[0]!;
    for (const m of ms) {
      const alike = m.layout.size === lead.layout.size && m.plan.layers.length === lead.plan.layers.length &&
        m.plan.layers.every((l, i) => l.def === lead.plan.layers[i]!.def);
      if (m !== lead && (!alike || m.paramBuffer.buffer !== lead.paramBuffer.buffer || m.paramBuffer.byteOffset !== lead.paramBuffer.byteOffset)) {
        throw new RangeError('a group of models needs replicas of one model over one parameter buffer');
      }
    }
    const vs = ms.map((m, j) => m.beginForward(bs[j]!, training, rngs[j]));
    for (let i = 0; i < lead.layers.length; i++) {
      if (lead.layers[i] instanceof RecurrentLayer) {
        RecurrentLayer.forwardGroup(ms.map((m) => m.layers[i] as RecurrentLayer), vs, ms.map((m) => m.pass)).forEach((v, j) => { vs[j] = v; });
      } else {
        ms.forEach((m, j) => { vs[j] = m.layers[i]!.forward(vs[j]!, m.pass, m.scratch[i]!); });
      }
    }
    return ms.map((m, j) => m.endForward(vs[j]!));
  }

  /** A forward up to the first layer: the batch checked, the pass set, the model's input as the first layer takes it. */
  private beginForward(b: Batch, training: boolean, rng?: Rng): Value {
    validateBatch(b, this);
    const B = b.batch;
    const T = b.steps;
    this.ensureScratch(B, T);
    const p = this.pass;
    p.batch = B;
    p.steps = T;
    p.lengths = b.lengths;
    p.training = training;
    p.rng = rng;
    p.inputGrad = false;
    if ((b.h0 || b.c0) && this.recurrent.length !== 1) {
      throw new OptionError(`batch.h0/c0 need a model with exactly one recurrent layer, this one has ${this.recurrent.length}`, 'batch.h0');
    }
    p.h0 = b.h0;
    p.c0 = b.c0;
    return this.inputValue(b);
  }

  /** The last layer's output kept as the forward's; returns its rows. */
  private endForward(v: Value): number {
    const { batch: B, steps: T } = this.pass;
    const shape = this.plan.layers[this.layers.length - 1]!.output;
    const rows = rowsOf(shape, B, T);
    this.out = v.data.subarray(0, rows * this.outputSize);
    this.last = { rows, timeMajor: shape.kind === 'sequence', batch: B, steps: T, bfReady: shape.kind !== 'sequence' };
    return rows;
  }

  /** The last output batch-first [B, T, O] (a copy into scratch) when it is a time-major sequence. */
  private batchFirstOutput(): Float32Array {
    const l = this.last;
    if (!l) return EMPTY;
    const O = this.outputSize;
    if (!l.timeMajor) return this.out;
    const { batch: B, steps: T } = l;
    this.bf = growF32(this.bf, B * T * O);
    const bf = this.bf;
    if (!l.bfReady) {
      const y = this.out;
      for (let t = 0; t < T; t++) for (let i = 0; i < B; i++) bf.set(y.subarray((t * B + i) * O, (t * B + i + 1) * O), (i * T + t) * O);
      l.bfReady = true;
    }
    return bf.subarray(0, B * T * O);
  }

  /**
   * The loss of the last forward's output `y` (rows in `timeMajor` order or batch-first) against
   * the batch's targets, reordered to match; the gradient (times `scale`) into this.dOut.
   */
  private loss(b: Batch, y: Float32Array, rows: number, timeMajor: boolean, scale: number): LossResult {
    const O = this.outputSize;
    const B = b.batch;
    const T = b.steps;
    const perStep = targetPerStep(this.task);
    this.dOut = growF32(this.dOut, rows * O);
    let targets: ArrayLike<number> = b.targets;
    let mask: Uint8Array | undefined;
    if (perStep && targetIsClass(this.task) && timeMajor) {
      if (this.tgtI.length < B * T) this.tgtI = new Int32Array(B * T);
      const tg = this.tgtI; // [T, B]
      for (let t = 0; t < T; t++) for (let i = 0; i < B; i++) tg[t * B + i] = b.targets[i * T + t]!;
      targets = tg;
    } else if (perStep && !targetIsClass(this.task)) {
      if (this.mask.length < rows) this.mask = new Uint8Array(rows);
      mask = this.mask.subarray(0, rows);
      mask.fill(0);
      if (timeMajor) {
        this.tgtF = growF32(this.tgtF, B * T * O);
        const tg = this.tgtF; // [T, B, O]
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < B; i++) {
            const r = t * B + i;
            if (t < b.lengths[i]!) mask[r] = 1;
            for (let j = 0; j < O; j++) tg[r * O + j] = b.targets[(i * T + t) * O + j]!;
          }
        }
        targets = tg;
      } else {
        for (let i = 0; i < B; i++) mask.fill(1, i * T, i * T + b.lengths[i]!);
      }
    }
    const { def, options } = this.plan.loss;
    return def.compute(options, { output: y, dOutput: this.dOut, targets, rows, size: O, scale, ...(mask ? { mask } : {}) });
  }

  /**
   * Loss of a batch without gradients (evaluation). Returns sums: divide `sum` by `weight` for
   * the mean. `outputs`, if given, receives the output (logits or values) batch-first, [B, T, O]
   * per step or [B, O] per sequence.
   */
  evaluate(b: Batch, outputs?: Float32Array): LossResult {
    const rows = this.forward(b, false);
    const y = this.batchFirstOutput();
    if (outputs) outputs.set(y);
    return this.loss(b, y, rows, false, 1);
  }

  /**
   * The output (logits or values) of a batch without a loss (inputs alone: the batch's targets
   * are not read), batch-first: [B*T, O] per step, [B, O] per sequence. A view, valid until the next call.
   */
  infer(b: Batch): Float32Array {
    this.forward(b, false);
    return this.batchFirstOutput();
  }

  /** The output of the last forward, batch-first ([B*T, O] per step, [B, O] per sequence): a view, valid until the next call. */
  get lastOutput(): Float32Array {
    return this.batchFirstOutput();
  }

  /** Final states of the last forward ([L*D, B, H]) of the model's recurrent layer; for carrying state across windows. */
  get lastState(): { hN: Float32Array; cN?: Float32Array } {
    const s = this.recurrent[0]?.lastState;
    return s ?? { hN: EMPTY };
  }

  /**
   * Forward, loss and backward of one (shard of a) batch. Gradients ACCUMULATE into the bound
   * gradient buffer, scaled by `scale` (1 / the loss terms of the global batch) so shards add up
   * to the gradient of the global mean. Returns the loss SUM and its denominators.
   */
  forwardBackward(b: Batch, scale: number, rng?: Rng): LossResult {
    return SequenceModel.forwardBackwardGroup([this], [b], scale, [rng])[0]!;
  }

  /**
   * forwardBackward of replicas of one model over one parameter buffer, each with its own batch,
   * rng and gradient buffer, their recurrent layers in lockstep (see forwardGroup). Each
   * replica's loss and gradients are exactly those of its own forwardBackward.
   */
  static forwardBackwardGroup(ms: readonly SequenceModel[], bs: readonly Batch[], scale: number, rngs: readonly (Rng | undefined)[]): LossResult[] {
    const rows = SequenceModel.forwardGroup(ms, bs, true, rngs);
    const res = ms.map((m, j) => m.loss(bs[j]!, m.out, rows[j]!, m.last!.timeMajor, scale));
    const gs: Grad[] = ms.map((m, j) => ({ data: m.dOut.subarray(0, rows[j]! * m.outputSize) }));
    const lead = ms[0]!;
    for (let i = lead.layers.length - 1; i >= lead.firstTrained; i--) {
      for (const m of ms) m.pass.inputGrad = m.inputGrad[i]!;
      if (lead.layers[i] instanceof RecurrentLayer) {
        RecurrentLayer.backwardGroup(ms.map((m) => m.layers[i] as RecurrentLayer), gs, ms.map((m) => m.pass)).forEach((g, j) => { gs[j] = g; });
      } else {
        ms.forEach((m, j) => { gs[j] = m.layers[i]!.backward(gs[j]!, m.pass, m.scratch[i]!); });
      }
    }
    return res;
  }
}

function validateBatch(b: Batch, m: SequenceModel): void {
  positiveInt(b.batch, 'batch.batch');
  positiveInt(b.steps, 'batch.steps');
  if (b.lengths.length !== b.batch) throw new RangeError(`batch.lengths has ${b.lengths.length} entries, expected ${b.batch}`);
  const tokens = m.spec.input.kind === 'tokens';
  const perTok = tokens ? 1 : m.plan.inputSize;
  if (b.inputs.length < b.batch * b.steps * perTok) {
    throw new RangeError(`batch.inputs has ${b.inputs.length} values, expected ${b.batch * b.steps * perTok} ([${b.batch}, ${b.steps}${perTok > 1 ? `, ${perTok}` : ''}])`);
  }
  for (let i = 0; i < b.batch; i++) {
    const L = b.lengths[i]!;
    if (!(Number.isInteger(L) && L >= 1 && L <= b.steps)) throw new RangeError(`batch.lengths[${i}] = ${L} is outside 1..${b.steps}`);
  }
  if (tokens) {
    const V = m.plan.inputSize;
    for (let i = 0; i < b.batch * b.steps; i++) {
      const v = b.inputs[i]!;
      if (!(v >= 0 && v < V && Number.isInteger(v))) throw new RangeError(`batch.inputs[${i}] = ${v} is not a token id in 0..${V - 1}`);
    }
  }
}

/**
 * Gather dataset rows [start, end) of `rows` into a Batch, trimmed to the longest sequence. Of
 * inputs alone (predict), the batch has no targets (an empty array).
 */
export function gatherBatch(d: SequenceDataset | SequenceInputs, rows: ArrayLike<number>, start = 0, end = rows.length): Batch {
  const B = end - start;
  const lengths = new Int32Array(B);
  let T = 1;
  for (let i = 0; i < B; i++) {
    lengths[i] = d.lengths[rows[start + i]!]!;
    if (lengths[i]! > T) T = lengths[i]!;
  }
  const S = d.maxSteps;
  const dense = d.inputKind === 'dense';
  const I = dense ? d.inputSize : 1;
  const inputs = dense ? new Float32Array(B * T * I) : new Int32Array(B * T);
  if (!hasTargets(d)) {
    for (let i = 0; i < B; i++) inputs.set(d.inputs.subarray(rows[start + i]! * S * I, (rows[start + i]! * S + T) * I), i * T * I);
    return { batch: B, steps: T, lengths, inputs, targets: new Int32Array(0) };
  }
  const perStep = targetPerStep(d.targetKind);
  const isClass = targetIsClass(d.targetKind);
  const O = isClass ? 1 : d.outputSize;
  const targets = isClass ? new Int32Array(B * (perStep ? T : 1)) : new Float32Array(B * (perStep ? T : 1) * O);
  if (isClass && perStep) targets.fill(-1);
  for (let i = 0; i < B; i++) {
    const r = rows[start + i]!;
    inputs.set(d.inputs.subarray(r * S * I, (r * S + T) * I), i * T * I);
    if (perStep) {
      const L = lengths[i]!;
      targets.set(d.targets.subarray(r * S * O, (r * S + L) * O), i * T * O);
    } else {
      targets.set(d.targets.subarray(r * O, r * O + O), i * O);
    }
  }
  return { batch: B, steps: T, lengths, inputs, targets };
}
