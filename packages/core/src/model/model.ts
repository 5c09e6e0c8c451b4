/**
 * A whole trainable network: input encoding (one-hot or embedding or dense features) →
 * recurrent stack → linear head → loss. Its parameters are ONE flat buffer described by ONE
 * Layout (`embedding.weight`, `rnn.weight_ih_l0`, ..., `head.weight`, `head.bias`: PyTorch's
 * names for `nn.Embedding`, `nn.LSTM` and `nn.Linear` modules called `embedding`, `rnn` and
 * `head`), so that the optimizer, the gradient reduction, checkpoints and safetensors are each
 * one loop over one buffer, and the buffer can live in shared memory.
 */
import { Layout, type ParamSpec } from './layout.js';
import { RecurrentStack } from '../stack/stack.js';
import { resolveStackOptions, STACK_KEYS, type ResolvedStackOptions, type StackOptions } from '../stack/config.js';
import { BUFFER_KEYS, type StackBuffers } from '../stack/stack.js';
import { INPUT_KINDS, TARGET_KINDS, type SequenceDataset, type TargetKind } from '../train/dataset.js';
import { keysOf, knownKeys, objectOption, oneOf, positiveInt, splitKeys } from '../options/validate.js';
import { linearForward, linearBackward } from './linear.js';
import { softmaxCrossEntropy, meanSquaredError, reserveLoss, type LossResult } from './loss.js';
import { Rng } from '../rng.js';
import { allocF32 } from '../kernels/memory.js';

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

export class SequenceModel {
  readonly config: ResolvedModelConfig;
  readonly layout: Layout;
  readonly stack: RecurrentStack;
  readonly paramBuffer: Float32Array;
  gradBuffer: Float32Array;
  parameters: Map<string, Float32Array>;
  grads: Map<string, Float32Array>;
  /** Width of one step of the stack's input, and of its output (the head's input). */
  readonly stackInputSize: number;
  readonly featureSize: number;

  private readonly rnnOffset: number;
  private readonly embOffset: number; // -1 without embedding
  private readonly headW: number;
  private readonly headB: number;

  // Scratch, grown to the largest batch seen; never allocated per step.
  private x: Float32Array = new Float32Array(0);       // [B, T, stackInputSize]
  private feats: Float32Array = new Float32Array(0);   // [rows, featureSize] head input
  private logits: Float32Array = new Float32Array(0);  // [rows, outputSize]
  private dFeats: Float32Array = new Float32Array(0);  // [rows, featureSize]
  private dOut: Float32Array = new Float32Array(0);    // [B, T, featureSize]
  private dHN: Float32Array = new Float32Array(0);     // [L*D, B, H]
  private tgtI: Int32Array = new Int32Array(0);        // [T, B] class targets, time-major
  private tgtF: Float32Array = new Float32Array(0);    // [T, B, O] value targets, time-major
  private last: { b: Batch; rows: number } | null = null;
  // The stack's results of the last forward (views into its scratch).
  private stackOut: Float32Array = new Float32Array(0);
  private hN: Float32Array = new Float32Array(0);
  private cN: Float32Array | undefined;

  constructor(config: ModelConfig, buffers: StackBuffers = {}) {
    this.config = resolveModelConfig(config);
    objectOption(buffers, 'buffers');
    knownKeys(buffers, BUFFER_KEYS, 'buffers', 'the model\'s buffers');
    const c = this.config;
    const plan = planModel(this.config);
    const { stackOpts, stackLayout } = plan;
    this.stackInputSize = plan.stackInputSize;
    this.featureSize = plan.featureSize;
    this.layout = plan.layout;

    this.embOffset = this.layout.has('embedding.weight') ? this.layout.get('embedding.weight').offset : -1;
    this.rnnOffset = this.layout.get(`rnn.${stackLayout.entries[0]!.name}`).offset;
    this.headW = this.layout.get('head.weight').offset;
    this.headB = this.layout.get('head.bias').offset;

    const n = this.layout.size;
    if (buffers.params) {
      if (buffers.params.length < n) throw new RangeError(`params buffer has ${buffers.params.length} floats, the model needs ${n}`);
      this.paramBuffer = buffers.params;
    } else {
      this.paramBuffer = allocF32(n);
      this.layout.initialize(this.paramBuffer, new Rng(c.seed));
    }
    this.gradBuffer = buffers.grads ?? allocF32(n);
    if (this.gradBuffer.length < n) throw new RangeError(`grads buffer has ${this.gradBuffer.length} floats, the model needs ${n}`);
    const end = this.rnnOffset + stackLayout.size;
    this.stack = new RecurrentStack(stackOpts, {
      params: this.paramBuffer.subarray(this.rnnOffset, end),
      grads: this.gradBuffer.subarray(this.rnnOffset, end),
    });
    this.parameters = this.layout.views(this.paramBuffer);
    this.grads = this.layout.views(this.gradBuffer);
  }

  /** Number of parameters. */
  get size(): number {
    return this.layout.size;
  }

  /** Accumulate gradients into another flat buffer from now on (a worker's gradient slot). */
  bindGrads(buf: Float32Array): void {
    if (buf.length < this.layout.size) throw new RangeError(`grads buffer has ${buf.length} floats, the model needs ${this.layout.size}`);
    this.gradBuffer = buf;
    this.stack.bindGrads(buf.subarray(this.rnnOffset, this.rnnOffset + this.stack.layout.size));
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

  /**
   * Sizes every scratch buffer (the stack's, the head's, the loss kernels') for training and
   * evaluating batches of up to `batch` sequences of up to `steps` steps, so that such batches
   * allocate nothing. Without it the scratch grows to the largest batch seen, which in a worker
   * pool depends on which shards a thread happened to take; StepRunner.computeShard reserves for
   * any shard of its dataset, and a pool worker reserves for every dataset when it is registered,
   * so what a thread allocates (in the run's arena, which never frees) is decided up front. The results of the last forward stay
   * valid unless something had to grow.
   */
  reserve(steps: number, batch: number): void {
    positiveInt(steps, 'reserve steps');
    positiveInt(batch, 'reserve batch');
    const c = this.config;
    const T = steps;
    const B = batch;
    const O = c.outputSize;
    const F = this.featureSize;
    const perStep = c.task.endsWith('per-step');
    const rows = perStep ? B * T : B;
    this.stack.reserve(T, B);
    // As run, loss and forwardBackward grow them.
    if (c.input.kind === 'tokens' && this.embOffset >= 0) this.x = grow(this.x, B * T * this.stackInputSize);
    if (!perStep) {
      this.feats = grow(this.feats, B * F);
      this.dOut = grow(this.dOut, B * T * F);
      this.dHN = grow(this.dHN, c.numLayers * (c.bidirectional ? 2 : 1) * B * c.hiddenSize);
    }
    this.logits = grow(this.logits, rows * O);
    this.dFeats = grow(this.dFeats, rows * Math.max(F, O)); // F training, O evaluating
    if (perStep && c.task.startsWith('class') && this.tgtI.length < B * T) this.tgtI = new Int32Array(B * T);
    if (c.task === 'value-per-step' && this.tgtF.length < B * T * O) this.tgtF = new Float32Array(B * T * O);
    reserveLoss(rows, O);
  }

  /** Rows of the head: one per step for per-step tasks, one per sequence otherwise. */
  private headRows(b: Batch): number {
    return this.config.task.endsWith('per-step') ? b.batch * b.steps : b.batch;
  }

  /**
   * Forward through the whole model; leaves the head output in `this.logits`. With `timeMajor`
   * (per-step tasks only) the head's rows are in the stack's own order, step-major (row t*B + b):
   * the stack's output is then used in place, and backward's dOutput needs no reordering either.
   */
  private run(b: Batch, training: boolean, rng?: Rng, timeMajor = false): number {
    const c = this.config;
    const B = b.batch;
    const T = b.steps;
    const I = this.stackInputSize;
    validateBatch(b, this);
    const inp = c.input;
    const opts = { batch: B, steps: T, lengths: b.lengths, h0: b.h0, c0: b.c0, training, rng, timeMajor };
    let res;
    if (inp.kind === 'tokens' && this.embOffset < 0) {
      // One-hot: the stack gathers columns of W_ih by token id; no [B, T, V] matrix is built.
      res = this.stack.forwardTokens(b.inputs.subarray(0, B * T), opts);
    } else if (inp.kind === 'dense') {
      res = this.stack.forward(b.inputs.subarray(0, B * T * I), opts);
    } else {
      this.x = grow(this.x, B * T * I);
      const x = this.x;
      const E = I;
      const p = this.paramBuffer;
      for (let r = 0; r < B * T; r++) {
        const e = this.embOffset + b.inputs[r]! * E;
        for (let j = 0; j < E; j++) x[r * E + j] = p[e + j]!;
      }
      res = this.stack.forward(x.subarray(0, B * T * I), opts);
    }
    const { output, hN, cN } = res;
    this.stackOut = output;
    this.hN = hN;
    this.cN = cN;
    const F = this.featureSize;
    const rows = this.headRows(b);
    let feats: Float32Array;
    if (c.task.endsWith('per-step')) {
      feats = output;
    } else {
      this.feats = grow(this.feats, B * F);
      feats = this.feats;
      poolForward(feats, output, hN, b, this);
    }
    this.logits = grow(this.logits, rows * c.outputSize);
    linearForward(this.logits, feats, this.paramBuffer, this.headW, this.paramBuffer, this.headB, rows, F, c.outputSize);
    this.last = { b, rows };
    return rows;
  }

  /**
   * Loss of a batch without gradients (evaluation). Returns sums: divide by `count` for the mean.
   * `outputs`, if given, receives the head's output (logits or values) [rows, outputSize].
   */
  evaluate(b: Batch, outputs?: Float32Array): LossResult {
    const rows = this.run(b, false);
    const O = this.config.outputSize;
    if (outputs) outputs.set(this.logits.subarray(0, rows * O));
    this.dFeats = grow(this.dFeats, rows * O); // used as throw-away gradient space
    return this.loss(b, rows, this.dFeats, 1);
  }

  /** The head's output of the last forward: [rows, outputSize] (a view, valid until the next call). */
  get lastOutput(): Float32Array {
    return this.logits.subarray(0, (this.last?.rows ?? 0) * this.config.outputSize);
  }

  /** Final states of the last forward ([L*D, B, H]); for carrying state across windows. */
  get lastState(): { hN: Float32Array; cN?: Float32Array } {
    return { hN: this.hN, cN: this.cN };
  }

  /** Loss and dLogits of the last run; `timeMajor` as that run's (the targets are reordered to match). */
  private loss(b: Batch, rows: number, dLogits: Float32Array, scale: number, timeMajor = false): LossResult {
    const c = this.config;
    const O = c.outputSize;
    const B = b.batch;
    const T = b.steps;
    if (c.task.startsWith('class')) {
      let targets: ArrayLike<number> = b.targets;
      if (timeMajor) {
        if (this.tgtI.length < B * T) this.tgtI = new Int32Array(B * T);
        const tg = this.tgtI; // [T, B]
        for (let t = 0; t < T; t++) for (let i = 0; i < B; i++) tg[t * B + i] = b.targets[i * T + t]!;
        targets = tg;
      }
      return softmaxCrossEntropy(dLogits, this.logits, targets, rows, O, scale);
    }
    let mask: Uint8Array | undefined;
    let targets: ArrayLike<number> = b.targets;
    if (c.task === 'value-per-step') {
      mask = new Uint8Array(rows);
      if (timeMajor) {
        if (this.tgtF.length < B * T * O) this.tgtF = new Float32Array(B * T * O);
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
    return meanSquaredError(dLogits, this.logits, targets, rows, O, scale, mask);
  }

  /**
   * Forward, loss and backward of one (shard of a) batch. Gradients ACCUMULATE into the bound
   * gradient buffer, scaled by `scale` (1 / loss terms in the global batch) so shards add up to
   * the gradient of the global mean. Returns the loss SUM and the count of loss terms.
   */
  forwardBackward(b: Batch, scale: number, rng?: Rng): LossResult {
    const c = this.config;
    const perStep = c.task.endsWith('per-step');
    // Per-step tasks train with the head's rows in the stack's time-major order (see run).
    const rows = this.run(b, true, rng, perStep);
    const O = c.outputSize;
    const F = this.featureSize;
    const dLogits = this.logits; // the loss overwrites logits with their gradient
    const res = this.loss(b, rows, dLogits, scale, perStep);
    const g = this.gradBuffer;
    const feats = perStep ? this.stackOut : this.feats;
    this.dFeats = grow(this.dFeats, rows * F);
    linearBackward(this.dFeats, g, this.headW, g, this.headB, dLogits, feats, this.paramBuffer, this.headW, rows, F, O);
    // dL/dx is needed only to train an embedding.
    const inputGrad = c.input.kind === 'tokens' && this.embOffset >= 0;
    let back;
    if (perStep) {
      back = this.stack.backward({ dOutput: this.dFeats.subarray(0, rows * F), inputGrad });
    } else {
      const B = b.batch;
      const T = b.steps;
      this.dOut = grow(this.dOut, B * T * F);
      const L = c.numLayers * (c.bidirectional ? 2 : 1);
      this.dHN = grow(this.dHN, L * B * c.hiddenSize);
      poolBackward(this.dOut, this.dHN, this.dFeats, b, this);
      back = this.stack.backward({ dOutput: this.dOut.subarray(0, B * T * F), dHN: this.dHN.subarray(0, L * B * c.hiddenSize), inputGrad });
    }
    const inp = c.input;
    if (inp.kind === 'tokens' && this.embOffset >= 0) {
      const E = this.stackInputSize;
      const dx = back.dInput;
      for (let i = 0; i < b.batch; i++) {
        for (let t = 0; t < b.lengths[i]!; t++) {
          const r = i * b.steps + t;
          const o = this.embOffset + b.inputs[r]! * E;
          for (let e = 0; e < E; e++) g[o + e]! += dx[r * E + e]!;
        }
      }
    }
    return res;
  }
}

/** Per-sequence features [B, F] from the top layer: its final states (h_n), or its mean output. */
function poolForward(feats: Float32Array, output: Float32Array, hN: Float32Array, b: Batch, m: SequenceModel): void {
  const c = m.config;
  const B = b.batch;
  const T = b.steps;
  const H = c.hiddenSize;
  const F = m.featureSize;
  const D = c.bidirectional ? 2 : 1;
  feats.fill(0, 0, B * F);
  if (c.pooling === 'mean') {
    for (let i = 0; i < B; i++) {
      const L = b.lengths[i]!;
      for (let t = 0; t < L; t++) {
        const o = (i * T + t) * F;
        for (let f = 0; f < F; f++) feats[i * F + f]! += output[o + f]!;
      }
      for (let f = 0; f < F; f++) feats[i * F + f]! /= L;
    }
    return;
  }
  const top = (c.numLayers - 1) * D;
  for (let d = 0; d < D; d++) {
    for (let i = 0; i < B; i++) {
      const src = ((top + d) * B + i) * H;
      const dst = i * F + (c.merge === 'concat' ? d * H : 0);
      const w = c.merge === 'mean' ? 1 / D : 1;
      for (let h = 0; h < H; h++) feats[dst + h]! += w * hN[src + h]!;
    }
  }
}

function poolBackward(dOut: Float32Array, dHN: Float32Array, dFeats: Float32Array, b: Batch, m: SequenceModel): void {
  const c = m.config;
  const B = b.batch;
  const T = b.steps;
  const H = c.hiddenSize;
  const F = m.featureSize;
  const D = c.bidirectional ? 2 : 1;
  dOut.fill(0, 0, B * T * F);
  dHN.fill(0, 0, c.numLayers * D * B * H);
  if (c.pooling === 'mean') {
    for (let i = 0; i < B; i++) {
      const L = b.lengths[i]!;
      for (let t = 0; t < L; t++) {
        const o = (i * T + t) * F;
        for (let f = 0; f < F; f++) dOut[o + f] = dFeats[i * F + f]! / L;
      }
    }
    return;
  }
  const top = (c.numLayers - 1) * D;
  for (let d = 0; d < D; d++) {
    for (let i = 0; i < B; i++) {
      const dst = ((top + d) * B + i) * H;
      const src = i * F + (c.merge === 'concat' ? d * H : 0);
      const w = c.merge === 'mean' ? 1 / D : 1;
      for (let h = 0; h < H; h++) dHN[dst + h] = w * dFeats[src + h]!;
    }
  }
}

function validateBatch(b: Batch, m: SequenceModel): void {
  const c = m.config;
  positiveInt(b.batch, 'batch.batch');
  positiveInt(b.steps, 'batch.steps');
  if (b.lengths.length < b.batch) throw new RangeError(`batch.lengths has ${b.lengths.length} entries, expected ${b.batch}`);
  const perTok = c.input.kind === 'tokens' ? 1 : m.stackInputSize;
  if (b.inputs.length < b.batch * b.steps * perTok) {
    throw new RangeError(`batch.inputs has ${b.inputs.length} values, expected ${b.batch * b.steps * perTok} ([${b.batch}, ${b.steps}${perTok > 1 ? `, ${perTok}` : ''}])`);
  }
  if (c.input.kind === 'tokens') {
    const V = c.input.vocabSize;
    for (let i = 0; i < b.batch * b.steps; i++) {
      const v = b.inputs[i]!;
      if (!(v >= 0 && v < V && Number.isInteger(v))) throw new RangeError(`batch.inputs[${i}] = ${v} is not a token id in 0..${V - 1}`);
    }
  }
}

/** The parameter layout of a model config, without building the model (arena sizing). */
export function modelLayout(config: ModelConfig): Layout {
  return planModel(resolveModelConfig(config)).layout;
}

function planModel(c: ResolvedModelConfig) {
  const inp = c.input;
  const stackInputSize = inp.kind === 'dense' ? inp.size : (inp.embeddingDim ?? inp.vocabSize);
  const stackOpts: StackOptions = { ...splitKeys(c, MODEL_PARTS)[1], inputSize: stackInputSize };
  const stackLayout = RecurrentStack.layoutFor(stackOpts);
  const D = c.bidirectional ? 2 : 1;
  const featureSize = c.merge === 'concat' ? D * c.hiddenSize : c.hiddenSize;
  const specs: ParamSpec[] = [];
  if (inp.kind === 'tokens' && inp.embeddingDim) {
    // nn.Embedding initialises N(0, 1).
    specs.push({ name: 'embedding.weight', shape: [inp.vocabSize, inp.embeddingDim], init: { kind: 'normal', std: 1 } });
  }
  specs.push(...stackLayout.prefixed('rnn.'));
  const bound = 1 / Math.sqrt(featureSize); // nn.Linear's default for weight and bias
  specs.push({ name: 'head.weight', shape: [c.outputSize, featureSize], init: { kind: 'uniform', bound } });
  specs.push({ name: 'head.bias', shape: [c.outputSize], init: { kind: 'uniform', bound } });
  return { stackInputSize, stackOpts, stackLayout, featureSize, layout: new Layout(specs) };
}

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
  oneOf(parts.task, TARGET_KINDS, 'model.task');
  positiveInt(parts.outputSize, 'model.outputSize');
  const pooling = parts.pooling ?? 'last';
  oneOf(pooling, POOLINGS, 'model.pooling');
  return { ...s, input: { ...inp }, task: parts.task, outputSize: parts.outputSize, pooling };
}

/** Gather dataset rows [start, end) of `rows` into a Batch, trimmed to the longest sequence. */
export function gatherBatch(d: SequenceDataset, rows: ArrayLike<number>, start = 0, end = rows.length): Batch {
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
  const perStep = d.targetKind.endsWith('per-step');
  const isClass = d.targetKind.startsWith('class');
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

/** Scratch grows to the largest batch seen (never per step), in the kernels' memory. */
function grow(a: Float32Array, n: number): Float32Array {
  return a.length >= n ? a : allocF32(n);
}
