/**
 * `checkGradients`: finite-difference checks of a model spec's or a single layer's backward, for
 * users writing layers of their own (docs/layers.md) and for weft's own tests. The code under
 * test computes in float32, so the check takes central differences of a float64 sum over
 * float32 outputs, with a step and tolerances sized for that:
 *
 *   numeric = (f(x + ε) - f(x - ε)) / (the two steps actually taken in float32)
 *   pass iff |numeric - analytic| <= atol + rtol * max(|numeric|, |analytic|)
 *
 * A model: f is its loss SUM on a random batch (random lengths, one sequence shorter than the
 * rest, random targets of its task), with the same dropout masks on every evaluation; checked
 * w.r.t. a sample of every parameter tensor. A layer: f = Σ r ⊙ output over the steps t < length
 * for a fixed random r; checked w.r.t. its parameters and its input (padded steps included: their
 * gradient must be 0). Sampled indices are spread over each tensor, the same ones on every run.
 */
import { Layout } from '../params/layout.js';
import { SequenceModel, isModelSpec, type Batch, type LayerSpec, type ModelDefinition } from './model.js';
import { layerDef } from '../layers/table.js';
import { rowsOf, type Pass, type Scratch, type Shape, type Value } from '../layers/types.js';
import { targetIsClass, targetPerStep } from '../data/dataset.js';
import { allocF32 } from '../kernels/memory.js';
import { Rng } from '../rng.js';
import { OptionError } from '../options/errors.js';
import { keysOf, knownKeys, nonNegativeInt, objectOption, positiveInt, positiveNumber } from '../options/validate.js';

export interface GradCheckOptions {
  /** Sequences in the random batch (default 3). */
  batch?: number;
  /** Steps of the longest one (default 5); the last sequence is shorter, so padding is exercised. */
  steps?: number;
  /** Seed of the parameters, data, targets and dropout masks (default 0). */
  seed?: number;
  /** Elements checked per tensor, spread over it (default 16). */
  samples?: number;
  /** Finite-difference step (default 5e-3). */
  eps?: number;
  /** Tolerances (defaults 5e-4 and 1e-2). */
  atol?: number;
  rtol?: number;
  /** A single layer: what flows into it (default a sequence of 4 features; tokens for an embedding). */
  input?: Shape;
}

const GRADCHECK_KEYS = keysOf<GradCheckOptions>({ batch: true, steps: true, seed: true, samples: true, eps: true, atol: true, rtol: true, input: true });

export interface GradCheckEntry {
  /** Parameter name, or 'input' (a layer's input gradient). */
  name: string;
  index: number;
  analytic: number;
  numeric: number;
  /** |numeric - analytic| / tolerance: above 1 fails. */
  ratio: number;
}

export interface GradCheckReport {
  ok: boolean;
  /** Elements compared. */
  checked: number;
  /** The element furthest from its tolerance (null if nothing was checked). */
  worst: GradCheckEntry | null;
  /** Every element outside its tolerance. */
  failures: GradCheckEntry[];
  /** One line: what was checked and the worst element. */
  message: string;
}

/** Central difference (f(x+eps) - f(x-eps)) / (the steps taken) w.r.t. x[i], restored afterwards. */
export function centralDifference(f: () => number, x: Float32Array, i: number, eps: number): number {
  const v = x[i]!;
  x[i] = v + eps;
  const up = x[i]! - v; // the step actually taken in float32
  const fp = f();
  x[i] = v - eps;
  const down = v - x[i]!;
  const fm = f();
  x[i] = v;
  return (fp - fm) / (up + down);
}

/** `k` indices spread evenly over [0, n) (all of them when n <= k). */
function spread(n: number, k: number): number[] {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, j) => Math.floor(((j + 0.5) * n) / k));
}

/** A batch's lengths: all `steps`, the last sequence shorter (when steps > 1). */
function lengthsFor(B: number, T: number): Int32Array {
  const l = new Int32Array(B).fill(T);
  if (T > 1) l[B - 1] = Math.max(1, T - 2);
  return l;
}

/**
 * Checks the backward of a model (a spec or a model config) or of one layer (a spec entry
 * `{ type, ...options }`) against central differences; see the file comment.
 */
export function checkGradients(target: ModelDefinition | LayerSpec, options: GradCheckOptions = {}): GradCheckReport {
  objectOption(target, 'checkGradients target', 'a model spec, a model config or a layer { type, ... }');
  objectOption(options, 'checkGradients options');
  knownKeys(options, GRADCHECK_KEYS, 'checkGradients options', 'checkGradients');
  const o = {
    batch: options.batch ?? 3, steps: options.steps ?? 5, seed: options.seed ?? 0, samples: options.samples ?? 16,
    eps: options.eps ?? 5e-3, atol: options.atol ?? 5e-4, rtol: options.rtol ?? 1e-2,
  };
  positiveInt(o.batch, 'checkGradients options.batch');
  positiveInt(o.steps, 'checkGradients options.steps');
  nonNegativeInt(o.seed, 'checkGradients options.seed');
  positiveInt(o.samples, 'checkGradients options.samples');
  for (const k of ['eps', 'atol', 'rtol'] as const) positiveNumber(o[k], `checkGradients options.${k}`);
  const isLayer = 'type' in target && !isModelSpec(target as unknown as ModelDefinition);
  const { tensors, what } = isLayer ? layerProblem(target as LayerSpec, o, options.input) : modelProblem(target as ModelDefinition, o);

  const entries: GradCheckEntry[] = [];
  for (const t of tensors) {
    for (const i of spread(t.values.length, o.samples)) {
      const numeric = centralDifference(t.f, t.values, i, o.eps);
      const analytic = t.analytic[i]!;
      const err = Math.abs(numeric - analytic);
      const ratio = err / (o.atol + o.rtol * Math.max(Math.abs(numeric), Math.abs(analytic)));
      entries.push({ name: t.name, index: i, analytic, numeric, ratio: Number.isNaN(ratio) ? Infinity : ratio });
    }
  }
  let worst: GradCheckEntry | null = null;
  for (const e of entries) if (!worst || e.ratio > worst.ratio) worst = e;
  const failures = entries.filter((e) => e.ratio > 1);
  const w = worst ? `worst ${worst.name}[${worst.index}]: analytic ${worst.analytic}, numeric ${worst.numeric} (${worst.ratio.toFixed(2)}x the tolerance)` : 'nothing to check';
  return {
    ok: failures.length === 0,
    checked: entries.length,
    worst,
    failures,
    message: `checkGradients(${what}): ${failures.length ? `${failures.length} of ${entries.length} elements outside the tolerance` : `${entries.length} elements within the tolerance`}; ${w}`,
  };
}

interface Tensor {
  name: string;
  /** The values perturbed in place. */
  values: Float32Array;
  /** The analytic gradient (a copy). */
  analytic: Float32Array;
  /** The function differentiated. */
  f: () => number;
}

type Sizes = { batch: number; steps: number; seed: number };

function modelProblem(m: ModelDefinition, o: Sizes): { tensors: Tensor[]; what: string } {
  const model = new SequenceModel({ ...(m as object), seed: o.seed } as ModelDefinition);
  const rng = new Rng(o.seed + 1);
  const B = o.batch;
  const T = o.steps;
  const lengths = lengthsFor(B, T);
  const V = model.plan.inputSize;
  const tokens = model.spec.input.kind === 'tokens';
  const inputs = tokens ? Int32Array.from({ length: B * T }, () => rng.int(V)) : Float32Array.from({ length: B * T * V }, () => rng.range(-1, 1));
  const perStep = targetPerStep(model.task);
  const C = model.outputSize;
  const n = B * (perStep ? T : 1);
  let targets: Int32Array | Float32Array;
  if (targetIsClass(model.task)) {
    targets = Int32Array.from({ length: n }, (_, r) => (perStep && r % T >= lengths[Math.floor(r / T)]! ? -1 : rng.int(C)));
  } else {
    const multilabel = model.task.startsWith('multilabel');
    targets = Float32Array.from({ length: n * C }, () => (multilabel ? (rng.uniform() < 0.5 ? 1 : 0) : rng.range(-1, 1)));
  }
  const batch: Batch = { batch: B, steps: T, lengths, inputs, targets };
  const grads = allocF32(model.size);
  model.bindGrads(grads);
  // The same dropout masks at every evaluation: a fresh generator from the same key.
  const f = () => {
    grads.fill(0);
    return model.forwardBackward(batch, 1, Rng.keyed(o.seed, 7)).sum;
  };
  f();
  const analytic = grads.slice();
  const tensors = model.layout.entries.map((e) => ({
    name: e.name,
    values: model.paramBuffer.subarray(e.offset, e.offset + e.size),
    analytic: analytic.subarray(e.offset, e.offset + e.size),
    f,
  }));
  return { tensors, what: `a model of ${model.spec.layers.map((l) => l.type).join(' → ')} → ${model.spec.loss.kind}` };
}

function layerProblem(spec: LayerSpec, o: Sizes, given?: Shape): { tensors: Tensor[]; what: string } {
  const where = 'layer';
  const def = layerDef(spec.type, where);
  knownKeys(spec, ['type', 'name', ...def.keys], where, `${def.what} (type '${def.type}')`);
  const { type: _t, name: given_name, ...rest } = spec;
  const name = given_name ?? def.type;
  const input: Shape = given ?? (def.accepts?.tokens && def.type === 'embedding' ? { kind: 'tokens', size: 5 } : { kind: 'sequence', size: 4 });
  objectOption(input, 'checkGradients options.input', "a shape { kind: 'sequence' | 'rows' | 'tokens', size }");
  if (!['sequence', 'rows', 'tokens'].includes(input.kind)) throw new OptionError(`checkGradients options.input.kind must be 'sequence', 'rows' or 'tokens', got ${JSON.stringify(input.kind)}`, 'checkGradients options.input.kind');
  positiveInt(input.size, 'checkGradients options.input.size');
  const opts = def.resolve(rest, where, input, {
    before: [],
    input: input.kind === 'tokens' ? { kind: 'tokens', vocabSize: input.size } : { kind: 'dense', size: input.size },
  });
  const out = def.output(opts, input);
  const layout = new Layout(def.params(opts, input).map((p) => ({ ...p, name: `${name}.${p.name}` })));
  const B = o.batch;
  const T = o.steps;
  const rng = new Rng(o.seed + 1);
  const params = allocF32(Math.max(1, layout.size));
  const grads = allocF32(Math.max(1, layout.size));
  layout.initialize(params, new Rng(o.seed));
  const inst = def.create(opts, input, {
    name, params, grads,
    offset: (p: string) => layout.get(`${name}.${p}`).offset,
    offsetOf: (full: string) => layout.get(full).offset,
  });
  const scratch: Scratch = {};
  for (const [k, n] of Object.entries(def.scratch?.(opts, input, B, T) ?? {})) scratch[k] = allocF32(Math.max(1, n));
  const lengths = lengthsFor(B, T);
  const rowsIn = rowsOf(input, B, T);
  const tokens = input.kind === 'tokens' ? Int32Array.from({ length: B * T }, () => rng.int(input.size)) : undefined;
  const x = allocF32(tokens ? 1 : rowsIn * input.size);
  for (let i = 0; i < x.length; i++) x[i] = rng.range(-1, 1);
  // r: the weights of the outputs in f, zero at padded steps (what they hold must not matter).
  const rowsOut = rowsOf(out, B, T);
  const r = new Float64Array(rowsOut * out.size);
  for (let row = 0; row < rowsOut; row++) {
    const padded = out.kind === 'sequence' && Math.floor(row / B) >= lengths[row % B]!;
    for (let j = 0; j < out.size; j++) r[row * out.size + j] = padded ? 0 : rng.range(-1, 1);
  }
  const pass = (inputGrad: boolean): Pass => ({
    batch: B, steps: T, lengths, training: true, rng: Rng.keyed(o.seed, 7), params, grads, inputGrad,
  });
  const value = (): Value => (tokens ? { data: x, tokens } : { data: x });
  const f = () => {
    const y = inst.forward(value(), pass(false), scratch).data;
    let s = 0;
    for (let i = 0; i < r.length; i++) s += r[i]! * y[i]!;
    return s;
  };
  grads.fill(0);
  const p = pass(true);
  inst.forward(value(), p, scratch);
  const dy = allocF32(r.length);
  for (let i = 0; i < r.length; i++) dy[i] = r[i]!;
  const dx = inst.backward({ data: dy }, p, scratch).data;
  const tensors: Tensor[] = layout.entries.map((e) => ({
    name: e.name, values: params.subarray(e.offset, e.offset + e.size), analytic: grads.slice(e.offset, e.offset + e.size), f,
  }));
  if (!tokens) {
    tensors.push({ name: 'input', values: x, analytic: dx ? dx.slice(0, x.length) : new Float32Array(x.length), f });
  }
  return { tensors, what: `a ${def.type} layer on ${input.kind} of ${input.size}` };
}
