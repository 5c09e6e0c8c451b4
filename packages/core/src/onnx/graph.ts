/**
 * A weft model as an ONNX inference graph (opset 17), for deployment in any ONNX runtime: the
 * model spec's layers become ONNX's standard operators, one exporter per built-in layer type in
 * ONE table (EXPORTERS, looked up by `type` as the layer table is), the parameters initializers.
 *
 *   inputs   `tokens` int64 [batch, time] (a tokens model) or `inputs` float [batch, time, F]
 *            (a dense one), and `lengths` int64 [batch] (each row's true length, 1..time);
 *            batch and time are dynamic. Steps t >= length are padding and influence nothing.
 *   output   `logits` (crossEntropy, binaryCrossEntropy: before softmax / sigmoid) or `values`
 *            (mse, huber): [batch, C] per sequence, [batch, time, C] per step (0 at padding),
 *            what `predictAll` gives for the same rows.
 *
 * The recurrent layer is ONNX's `LSTM` / `GRU` / `RNN` (one node per stacked layer, chained:
 * each takes the previous one's output, directions concatenated), time-major as ONNX's
 * recurrent operators are, with `sequence_lens` = lengths, so each row stops at its length
 * (outputs 0 past it, the reverse direction starting at its true last step, Y_h its final
 * state: PyTorch's packed sequences, which weft follows). PyTorch's tensors are re-laid out:
 *   W = [D, G*H, I] from weight_ih (and _reverse), R = [D, G*H, H] from weight_hh,
 *   B = [D, 2*G*H] = [bias_ih | bias_hh], the gate blocks reordered
 *   LSTM  PyTorch i f g o  → ONNX i o f c
 *   GRU   PyTorch r z n    → ONNX z r h, linear_before_reset = 1 (PyTorch's n = tanh(W x + b + r ⊙ (R h + b_R)))
 *   RNN   one gate; activations Tanh or Relu (the layer's nonlinearity), per direction.
 * Token ids reach an `embedding` through Gather and any other first layer one-hot (OneHot);
 * `linear` is MatMul + Add (+ Tanh / Relu), `layerNorm` LayerNormalization, `dropout` nothing
 * (inference), `pool` per mode over t < length (last: the recurrent layer's Y_h right after
 * one, else GatherND at length-1; mean / max / attention through a mask of the padding).
 * Optional affine maps in and out (regress models' normalisation) make the graph take and give
 * values in the data's own units.
 *
 * A layer type without an exporter (a user's own, from a layer module) is refused, named.
 */
import type { ModelDefinition, ModelPlan, PlannedLayer } from '../model/spec.js';
import { planModel, isModelSpec } from '../model/spec.js';
import { BUILT_IN_LAYERS, firstLayerNotIn } from '../layers/table.js';
import type { ResolvedRecurrentOptions } from '../layers/recurrent.js';
import type { ResolvedLinearOptions } from '../layers/linear.js';
import type { ResolvedPoolOptions } from '../layers/pool.js';
import { OptionError } from '../options/errors.js';
import { encodeModel, type AttrValue, type ElemType, type NodeData, type TensorData, type ValueInfo } from './proto.js';

/** The operator set the graph uses (17: LayerNormalization's first). */
export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17. */
export const ONNX_IR_VERSION = 8;

/** Per-feature affine map: (x - mean) / std in, y * std + mean out. */
export interface OnnxAffine {
  mean: ArrayLike<number>;
  std: ArrayLike<number>;
}

export interface OnnxOptions {
  /** Dense input in its own units: each feature becomes (x - mean) / std before the first layer. */
  normalizeInput?: OnnxAffine;
  /** Outputs back in the targets' units: each becomes y * std + mean (0 stays at padded steps). */
  denormalizeOutput?: OnnxAffine;
  /** metadata_props of the model (key → string): a vocabulary, labels, what the outputs are. */
  metadata?: Record<string, string>;
  /** The model's doc_string. */
  doc?: string;
  /** producer_version (default: none). */
  producerVersion?: string;
}

/** The names of the graph's inputs and outputs. */
export const ONNX_NAMES = { tokens: 'tokens', dense: 'inputs', lengths: 'lengths', logits: 'logits', values: 'values' } as const;

/** A value flowing between layers: time-major [T, B, F] (sequence) or [B, F] (rows). */
interface Flow {
  name: string;
  kind: 'sequence' | 'rows';
  size: number;
  /** Set by a recurrent layer: its top node's Y_h [D, B, H] and how the directions merge. */
  final?: { yh: string; directions: number; merge: string };
}

/** One layer as ONNX nodes: its flow in, its flow out. */
type LayerExporter = (g: GraphBuilder, layer: PlannedLayer, x: Flow) => Flow;

/** Nodes and initializers being built, with fresh names and the shared masks of the padding. */
class GraphBuilder {
  readonly nodes: NodeData[] = [];
  readonly inits: TensorData[] = [];
  private n = 0;
  private cache = new Map<string, string>();

  constructor(
    private readonly params: Float32Array,
    private readonly plan: ModelPlan,
    /** The graph's first input (tokens or dense), batch-first. */
    readonly input: string,
  ) {}

  fresh(base: string): string {
    return `${base}_${this.n++}`;
  }

  /** One node with one output (named after `base`); returns the output's name. */
  op(op: string, inputs: readonly string[], attrs?: Record<string, AttrValue>, base = op): string {
    const out = this.fresh(base);
    this.nodes.push({ op, inputs, outputs: [out], name: this.fresh(`${op}_node`), ...(attrs ? { attrs } : {}) });
    return out;
  }

  /** One node with several outputs. */
  opN(op: string, inputs: readonly string[], outputs: readonly string[], attrs?: Record<string, AttrValue>): void {
    this.nodes.push({ op, inputs, outputs, name: this.fresh(`${op}_node`), ...(attrs ? { attrs } : {}) });
  }

  tensor(name: string, type: ElemType, dims: readonly number[], data: TensorData['data']): string {
    this.inits.push({ name, type, dims, data });
    return name;
  }

  /** A parameter by its full name (`head.weight`) as an initializer of that name, added once. */
  param(full: string): string {
    return this.once(`param:${full}`, () => {
      const e = this.plan.layout.get(full);
      return this.tensor(full, 'float', e.shape, this.params.slice(e.offset, e.offset + e.size));
    });
  }

  /** A parameter's values (a copy). */
  values(full: string): Float32Array {
    const e = this.plan.layout.get(full);
    return this.params.slice(e.offset, e.offset + e.size);
  }

  /** An int64 constant ([] for a scalar). */
  int64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.once(`i64:${dims.join(',')}:${values.join(',')}`, () => this.tensor(this.fresh('const_i64'), 'int64', dims, BigInt64Array.from(values, (v) => BigInt(v))));
  }

  /** A float constant ([] for a scalar). */
  float(values: ArrayLike<number>, dims: readonly number[] = [values.length]): string {
    return this.tensor(this.fresh('const_f32'), 'float', dims, Float32Array.from(values));
  }

  /** A float scalar, shared. */
  scalar(v: number): string {
    return this.once(`f32:${v}`, () => this.float([v], []));
  }

  once(key: string, make: () => string): string {
    let v = this.cache.get(key);
    if (v === undefined) {
      v = make();
      this.cache.set(key, v);
    }
    return v;
  }

  /** lengths as int32 (what sequence_lens takes). */
  lengths32(): string {
    return this.once('lengths32', () => this.op('Cast', [ONNX_NAMES.lengths], { to: { i: 6 } }, 'lengths_int32'));
  }

  /** lengths as float [B, 1] (mean pooling's divisor). */
  lengthsF(): string {
    return this.once('lengthsF', () => this.op('Unsqueeze', [this.op('Cast', [ONNX_NAMES.lengths], { to: { i: 1 } }), this.int64([1])], undefined, 'lengths_float'));
  }

  /** [T, B] bool: step t of row b is real (t < lengths[b]). */
  mask(): string {
    return this.once('mask', () => {
      const shape = this.op('Shape', [this.input]);
      const T = this.op('Gather', [shape, this.int64([1], [])], { axis: { i: 0 } }, 'time');
      const steps = this.op('Range', [this.int64([0], []), T, this.int64([1], [])], undefined, 'steps');
      const col = this.op('Unsqueeze', [steps, this.int64([1])]);
      const row = this.op('Unsqueeze', [ONNX_NAMES.lengths, this.int64([0])]);
      return this.op('Less', [col, row], undefined, 'mask');
    });
  }

  /** [T, B, 1] bool. */
  mask3(): string {
    return this.once('mask3', () => this.op('Unsqueeze', [this.mask(), this.int64([2])], undefined, 'mask3'));
  }

  /** x [T, B, F] with the padded steps set to `fill`. */
  padded(x: string, fill: number): string {
    return this.op('Where', [this.mask3(), x, this.scalar(fill)]);
  }

  /** x · Wᵀ (+ b) with W [out, in] the initializer `weight` (PyTorch's nn.Linear), over the last axis. */
  affine(x: string, weight: string, bias: string | undefined): string {
    const y = this.op('MatMul', [x, this.once(`T:${weight}`, () => this.op('Transpose', [weight], { perm: { ints: [1, 0] } }, `${weight}_T`))]);
    return bias === undefined ? y : this.op('Add', [y, bias]);
  }
}

/** ONNX's gate blocks as PyTorch's block indices. */
const GATE_ORDER: Record<string, readonly number[]> = { lstm: [0, 3, 1, 2], gru: [1, 0, 2], rnn: [0] };
const RECURRENT_OP: Record<string, string> = { lstm: 'LSTM', gru: 'GRU', rnn: 'RNN' };

/** Rows of a [G*H, cols] PyTorch tensor, gate blocks in ONNX's order, into `out` at `off`. */
function reorderGates(out: Float32Array, off: number, src: Float32Array, cell: string, H: number, cols: number): void {
  GATE_ORDER[cell]!.forEach((k, j) => out.set(src.subarray(k * H * cols, (k + 1) * H * cols), off + j * H * cols));
}

const recurrentExporter: LayerExporter = (g, layer, x) => {
  const o = layer.options as ResolvedRecurrentOptions;
  const H = o.hiddenSize;
  const D = o.bidirectional ? 2 : 1;
  const G = GATE_ORDER[o.cell]!.length;
  const p = (kind: string, l: number, d: number) => `${layer.name}.${kind}_l${l}${d === 1 ? '_reverse' : ''}`;
  let X = x.name;
  let Y = '';
  let Yh = '';
  for (let l = 0; l < o.numLayers; l++) {
    const I = l === 0 ? x.size : D * H;
    const W = new Float32Array(D * G * H * I);
    const R = new Float32Array(D * G * H * H);
    const B = new Float32Array(D * 2 * G * H);
    for (let d = 0; d < D; d++) {
      reorderGates(W, d * G * H * I, g.values(p('weight_ih', l, d)), o.cell, H, I);
      reorderGates(R, d * G * H * H, g.values(p('weight_hh', l, d)), o.cell, H, H);
      if (o.bias) {
        reorderGates(B, d * 2 * G * H, g.values(p('bias_ih', l, d)), o.cell, H, 1);
        reorderGates(B, d * 2 * G * H + G * H, g.values(p('bias_hh', l, d)), o.cell, H, 1);
      }
    }
    const base = `${layer.name}.l${l}`;
    const inputs = [
      X,
      g.tensor(`${base}.W`, 'float', [D, G * H, I], W),
      g.tensor(`${base}.R`, 'float', [D, G * H, H], R),
      o.bias ? g.tensor(`${base}.B`, 'float', [D, 2 * G * H], B) : '',
      g.lengths32(),
    ];
    const attrs: Record<string, AttrValue> = { hidden_size: { i: H }, direction: { s: D === 2 ? 'bidirectional' : 'forward' } };
    if (o.cell === 'gru') attrs.linear_before_reset = { i: 1 };
    if (o.cell === 'rnn') attrs.activations = { strings: Array<string>(D).fill(o.nonlinearity === 'relu' ? 'Relu' : 'Tanh') };
    Y = g.fresh(`${base}.Y`);
    Yh = g.fresh(`${base}.Y_h`);
    g.opN(RECURRENT_OP[o.cell]!, inputs, [Y, Yh], attrs);
    // Y [T, D, B, H] → [T, B, D*H], the directions concatenated (the next layer's input).
    if (l < o.numLayers - 1 || o.merge === 'concat' || D === 1) {
      X = g.op('Reshape', [g.op('Transpose', [Y], { perm: { ints: [0, 2, 1, 3] } }), g.int64([0, 0, -1])], undefined, `${layer.name}_out`);
    }
  }
  const out = D === 1 || o.merge === 'concat'
    ? X
    : o.merge === 'sum'
      ? g.op('ReduceSum', [Y, g.int64([1])], { keepdims: { i: 0 } }, `${layer.name}_out`)
      : g.op('ReduceMean', [Y], { axes: { ints: [1] }, keepdims: { i: 0 } }, `${layer.name}_out`);
  return { name: out, kind: 'sequence', size: layer.output.size, final: { yh: Yh, directions: D, merge: o.merge } };
};

const linearExporter: LayerExporter = (g, layer, x) => {
  const o = layer.options as ResolvedLinearOptions;
  const weight = g.param(o.tie === undefined ? `${layer.name}.weight` : `${o.tie}.weight`);
  let y = g.affine(x.name, weight, o.bias ? g.param(`${layer.name}.bias`) : undefined);
  if (o.activation === 'tanh') y = g.op('Tanh', [y]);
  else if (o.activation === 'relu') y = g.op('Relu', [y]);
  return { name: y, kind: x.kind, size: o.outputSize };
};

const layerNormExporter: LayerExporter = (g, layer, x) => {
  const { eps } = layer.options as { eps: number };
  const y = g.op('LayerNormalization', [x.name, g.param(`${layer.name}.weight`), g.param(`${layer.name}.bias`)], { axis: { i: -1 }, epsilon: { f: eps } }, layer.name);
  return { name: y, kind: x.kind, size: x.size };
};

const poolExporter: LayerExporter = (g, layer, x) => {
  const o = layer.options as ResolvedPoolOptions;
  const rows = (name: string): Flow => ({ name, kind: 'rows', size: x.size });
  if (o.mode === 'last' && x.final) {
    // The recurrent layer's final states h_n [D, B, H] of its top layer, merged as its outputs are.
    const { yh, merge } = x.final;
    if (merge === 'concat' || x.final.directions === 1) {
      return rows(g.op('Reshape', [g.op('Transpose', [yh], { perm: { ints: [1, 0, 2] } }), g.int64([0, -1])], undefined, layer.name));
    }
    return rows(merge === 'sum'
      ? g.op('ReduceSum', [yh, g.int64([0])], { keepdims: { i: 0 } }, layer.name)
      : g.op('ReduceMean', [yh], { axes: { ints: [0] }, keepdims: { i: 0 } }, layer.name));
  }
  if (o.mode === 'last') {
    // x at t = length - 1 of each row: [B, T, F] gathered per row.
    const bf = g.op('Transpose', [x.name], { perm: { ints: [1, 0, 2] } });
    const idx = g.op('Unsqueeze', [g.op('Sub', [ONNX_NAMES.lengths, g.int64([1], [])]), g.int64([1])]);
    return rows(g.op('GatherND', [bf, idx], { batch_dims: { i: 1 } }, layer.name));
  }
  if (o.mode === 'mean') {
    const sum = g.op('ReduceSum', [g.padded(x.name, 0), g.int64([0])], { keepdims: { i: 0 } });
    return rows(g.op('Div', [sum, g.lengthsF()], undefined, layer.name));
  }
  if (o.mode === 'max') return rows(g.op('ReduceMax', [g.padded(x.name, -Infinity)], { axes: { ints: [0] }, keepdims: { i: 0 } }, layer.name));
  // attention: e_t = score(tanh(proj(x_t))), softmax over t < length, Σ_t a_t x_t.
  const u = g.op('Tanh', [g.affine(x.name, g.param(`${layer.name}.proj.weight`), g.param(`${layer.name}.proj.bias`))]);
  const e = g.affine(u, g.param(`${layer.name}.score.weight`), undefined); // [T, B, 1]
  const a = g.op('Softmax', [g.padded(e, -Infinity)], { axis: { i: 0 } }, `${layer.name}_weights`);
  return rows(g.op('ReduceSum', [g.op('Mul', [a, g.padded(x.name, 0)]), g.int64([0])], { keepdims: { i: 0 } }, layer.name));
};

/** THE exporter table: a layer type is exportable iff it is here. */
const EXPORTERS: Record<string, LayerExporter> = {
  recurrent: recurrentExporter,
  linear: linearExporter,
  layerNorm: layerNormExporter,
  pool: poolExporter,
  // Identity at inference; like weft's, it passes no final states on (a pool 'last' after it reads t = length - 1).
  dropout: (_g, _l, x) => ({ name: x.name, kind: x.kind, size: x.size }),
  embedding: (g, layer, x) => ({ name: g.op('Gather', [g.param(`${layer.name}.weight`), x.name], { axis: { i: 0 } }, layer.name), kind: 'sequence', size: layer.output.size }),
};

/** The layer types the ONNX export knows. */
export const ONNX_LAYERS: readonly string[] = Object.keys(EXPORTERS);

/**
 * Why a model cannot be exported to ONNX (its first layer of a type without an exporter, named
 * with its place and name), or undefined. Reads the spec as plain data, so it also answers for
 * a stored spec whose layer modules are not loaded.
 */
export function onnxRefusal(model: unknown, where = 'model'): string | undefined {
  if (model === null || typeof model !== 'object' || !isModelSpec(model as ModelDefinition)) return undefined;
  const l = firstLayerNotIn((model as { layers?: unknown }).layers, ONNX_LAYERS);
  if (!l) return undefined;
  const own = BUILT_IN_LAYERS.includes(l.type) ? '' : ': a layer of your own, from a layer module';
  return `${where}.layers[${l.index}]${l.name !== undefined ? ` '${l.name}'` : ''} (type '${l.type}'${own}) cannot be exported to ONNX: ` +
    `the export writes only the built-in layers (${ONNX_LAYERS.map((t) => `'${t}'`).join(', ')}) as standard ONNX operators`;
}

function checkAffine(a: OnnxAffine | undefined, n: number, what: string): void {
  if (a === undefined) return;
  if (a.mean.length !== n || a.std.length !== n) throw new RangeError(`${what}: mean and std need ${n} values each, got ${a.mean.length} and ${a.std.length}`);
}

/**
 * The ONNX file (ModelProto bytes) of a model with these parameters (`params` in the model's
 * layout order). Throws OptionError naming a layer it cannot express.
 */
export function onnxModel(model: ModelDefinition, params: Float32Array, options: OnnxOptions = {}): Uint8Array {
  const refusal = onnxRefusal(model);
  if (refusal !== undefined) throw new OptionError(refusal, 'model.layers');
  const plan = planModel(model);
  if (params.length !== plan.layout.size) throw new RangeError(`params has ${params.length} floats, the model has ${plan.layout.size} parameters`);
  const tokens = plan.spec.input.kind === 'tokens';
  checkAffine(options.normalizeInput, plan.inputSize, 'normalizeInput');
  checkAffine(options.denormalizeOutput, plan.outputSize, 'denormalizeOutput');
  if (options.normalizeInput && tokens) throw new RangeError('normalizeInput: the model takes token ids, not values');

  const inputName = tokens ? ONNX_NAMES.tokens : ONNX_NAMES.dense;
  const g = new GraphBuilder(params, plan, inputName);
  // The input, time-major: token ids (those at padded steps replaced by 0, never read) or values
  // (normalised, padded steps 0 as weft zeroes them).
  let x: Flow;
  if (tokens) {
    const ids = g.op('Where', [g.mask(), g.op('Transpose', [inputName], { perm: { ints: [1, 0] } }), g.int64([0], [])], undefined, 'ids');
    x = { name: ids, kind: 'sequence', size: plan.inputSize };
  } else {
    let v = g.op('Transpose', [inputName], { perm: { ints: [1, 0, 2] } });
    const n = options.normalizeInput;
    if (n) v = g.op('Div', [g.op('Sub', [v, g.float(n.mean)]), g.float(n.std)], undefined, 'normalized');
    x = { name: g.padded(v, 0), kind: 'sequence', size: plan.inputSize };
  }
  for (const layer of plan.layers) {
    if (tokens && layer === plan.layers[0] && layer.def.type !== 'embedding') {
      // Token ids into anything but an embedding: one-hot rows of the vocabulary (exactly W's columns after the product).
      x = { ...x, name: g.op('OneHot', [x.name, g.int64([plan.inputSize], []), g.float([0, 1])], { axis: { i: -1 } }, 'one_hot') };
    }
    x = EXPORTERS[layer.def.type]!(g, layer, x);
  }

  const per = x.kind === 'sequence';
  let y = x.name;
  const dn = options.denormalizeOutput;
  if (dn) y = g.op('Add', [g.op('Mul', [y, g.float(dn.std)]), g.float(dn.mean)], undefined, 'denormalized');
  if (per) y = g.op('Transpose', [g.padded(y, 0)], { perm: { ints: [1, 0, 2] } });
  const values = plan.loss.def.targets === 'value';
  const outName = values ? ONNX_NAMES.values : ONNX_NAMES.logits;
  g.nodes.push({ op: 'Identity', inputs: [y], outputs: [outName], name: 'output' });

  const inputs: ValueInfo[] = [
    tokens
      ? { name: inputName, type: 'int64', dims: ['batch', 'time'], doc: `token ids in [0, ${plan.inputSize}); ids at padded steps are ignored` }
      : { name: inputName, type: 'float', dims: ['batch', 'time', plan.inputSize], doc: `${plan.inputSize} values per step${options.normalizeInput ? ', in the data\'s own units' : ''}` },
    { name: ONNX_NAMES.lengths, type: 'int64', dims: ['batch'], doc: 'each row\'s true length, 1..time; later steps are padding' },
  ];
  const what = values ? 'values' : plan.loss.def.kind === 'binaryCrossEntropy' ? 'logits (before sigmoid)' : 'logits (before softmax)';
  const outputs: ValueInfo[] = [{
    name: outName, type: 'float', dims: per ? ['batch', 'time', plan.outputSize] : ['batch', plan.outputSize],
    doc: `${what} ${per ? 'per step, 0 at padded steps' : 'per sequence'}${dn ? ', in the targets\' own units' : ''}`,
  }];
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: 'weft',
    ...(options.producerVersion !== undefined ? { producerVersion: options.producerVersion } : {}),
    ...(options.doc !== undefined ? { doc: options.doc } : {}),
    ...(options.metadata ? { metadata: options.metadata } : {}),
    graph: { name: 'weft', nodes: g.nodes, initializers: g.inits, inputs, outputs },
  });
}
