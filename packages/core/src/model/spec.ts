/**
 * The model spec (docs/model-spec.md): a model as plain JSON data — its input, a list of layers
 * and a loss — that every thread rebuilds the same model from, and that checkpoints store.
 *
 *   { "input": { "kind": "tokens", "vocabSize": 12 },
 *     "layers": [ { "type": "embedding", "name": "embedding", "dim": 8 },
 *                 { "type": "recurrent", "name": "rnn", "cell": "gru", "hiddenSize": 6, "bidirectional": true },
 *                 { "type": "pool", "name": "pool", "mode": "attention", "attentionSize": 5 },
 *                 { "type": "linear", "name": "head", "outputSize": 3 } ],
 *     "loss": { "kind": "crossEntropy", "classWeights": [1, 2, 0.5] } }
 *
 * `planModel` walks the layers through the layer table (layers/table.ts): each entry checks its
 * options against the shape flowing in, says what flows out and declares its parameters, which
 * become ONE Layout in layer order, named `<layer name>.<param>`. A model config (model/config.ts)
 * is a preset that converts to a spec. Everything here is pure: no buffers, no kernels.
 */
import { Layout, type ParamSpec } from '../params/layout.js';
import { layerDef } from '../layers/table.js';
import { layerModuleLoaded, layerModuleURL } from '../layers/modules.js';
import { lossDef } from '../losses/table.js';
import type { LayerDef, ResolvedLayer, Shape } from '../layers/types.js';
import type { LossDef } from '../losses/types.js';
import { INPUT_KINDS, type TargetKind } from '../data/dataset.js';
import { OptionError } from '../options/errors.js';
import { badOption, integerOption, keysOf, knownKeys, objectOption, oneOf, positiveInt } from '../options/validate.js';
import { specFromConfig, type ModelConfig } from './config.js';

export type SpecInput = { kind: 'tokens'; vocabSize: number } | { kind: 'dense'; size: number };

/** One layer: its `type` (a key of the layer table), its PyTorch module `name`, its options. */
export interface LayerSpec {
  type: string;
  /** Prefix of its parameters' names (default: the type, numbered when the type repeats). */
  name?: string;
  [option: string]: unknown;
}

export interface LossSpec {
  kind: string;
  [option: string]: unknown;
}

export interface ModelSpec {
  input: SpecInput;
  layers: LayerSpec[];
  loss: LossSpec;
  /** Seed of the parameters' initialisation (default 0). */
  seed?: number;
  /** Modules (file: URLs) of the user's own layer types the spec uses; every thread imports them (loadLayerModules). */
  modules?: string[];
}

const SPEC_KEYS = keysOf<ModelSpec>({ input: true, layers: true, loss: true, seed: true, modules: true });
const INPUT_KEYS = { tokens: ['kind', 'vocabSize'], dense: ['kind', 'size'] } as const;

/** A spec with every name and default filled in: plain data, and a spec that resolves to itself. */
export interface ResolvedModelSpec {
  input: SpecInput;
  layers: ResolvedLayer[];
  loss: LossSpec;
  seed: number;
  modules: string[];
}

/** A model as given to a trainer: a spec, or a model config (the preset). */
export type ModelDefinition = ModelSpec | ModelConfig;

/** Whether `m` is a spec (it has `layers` or a `loss`, which a model config never has) rather than a model config. */
export function isModelSpec(m: ModelDefinition): m is ModelSpec {
  return m !== null && typeof m === 'object' && ('layers' in m || 'loss' in m);
}

/** One layer of a planned model. */
export interface PlannedLayer {
  def: LayerDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Its resolved options (the spec entry without type and name). */
  options: object;
  name: string;
  /** What flows in (after the model's conversion of its input, see `convert`) and out. */
  input: Shape;
  output: Shape;
  /** How the model turns its input into what this (first) layer takes: nothing, one-hot, or time-major. */
  convert: 'none' | 'one-hot' | 'time-major';
  params: ParamSpec[];
}

/** Everything derived from a spec: what each layer takes and gives, the one Layout, the targets. */
export interface ModelPlan {
  spec: ResolvedModelSpec;
  layers: PlannedLayer[];
  loss: { def: LossDef<any>; options: object }; // eslint-disable-line @typescript-eslint/no-explicit-any
  layout: Layout;
  /** The targets the loss needs (a dataset's targetKind must be this). */
  task: TargetKind;
  /** Outputs per step or row: classes, values, labels. */
  outputSize: number;
  /** Width of one step of the input: the vocabulary for tokens, the features for dense input. */
  inputSize: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The most layers a spec may list (each recurrent one is a stack of up to MAX_LAYERS). */
export const MAX_SPEC_LAYERS = 1024;

/** Resolves and plans a spec or a model config; `where` names it in messages ('model'). */
export function planModel(m: ModelDefinition, where = 'model'): ModelPlan {
  objectOption(m, where, 'a model spec { input, layers, loss } or a model config');
  if (!isModelSpec(m)) return planModel(specFromConfig(m), where);
  knownKeys(m, SPEC_KEYS, where, 'a model spec');
  const input = resolveInput(m.input, `${where}.input`);
  const seed = m.seed ?? 0;
  integerOption(seed, `${where}.seed`);
  if (m.modules !== undefined && !Array.isArray(m.modules)) badOption(`${where}.modules`, 'an array of module URLs (file:...) or absolute paths', m.modules);
  const modules = (m.modules ?? []).map((u, i) => layerModuleURL(u, `${where}.modules[${i}]`));
  for (const [i, u] of modules.entries()) {
    if (!layerModuleLoaded(u)) {
      throw new OptionError(`${where}.modules[${i}]: '${u}' is not loaded in this thread; \`await loadLayerModules(spec)\` before building the model (the Trainer's workers load it themselves)`, `${where}.modules`);
    }
  }
  if (!Array.isArray(m.layers) || m.layers.length === 0) badOption(`${where}.layers`, 'a non-empty array of layers', m.layers);
  if (m.layers.length > MAX_SPEC_LAYERS) {
    // Checked before any layer is looked at, so a hostile spec (a checkpoint's, say) costs nothing.
    throw new OptionError(`${where}.layers has ${m.layers.length} layers, more than the ${MAX_SPEC_LAYERS} a model spec may have`, `${where}.layers`);
  }

  const counts = new Map<string, number>();
  for (const l of m.layers) if (l && typeof l === 'object') counts.set(String(l.type), (counts.get(String(l.type)) ?? 0) + 1);
  const seen = new Map<string, number>();
  const resolved: ResolvedLayer[] = [];
  const layers: PlannedLayer[] = [];
  let shape: Shape = input.kind === 'tokens' ? { kind: 'tokens', size: input.vocabSize } : { kind: 'sequence', size: input.size };
  m.layers.forEach((entry, i) => {
    const at = `${where}.layers[${i}]`;
    objectOption(entry, at, 'a layer { type, name?, ...options }');
    const def = layerDef(entry.type, at);
    knownKeys(entry, ['type', 'name', ...def.keys], at, `${def.what} (type '${def.type}')`);
    const { type, name: given, ...options } = entry;
    const k = seen.get(type) ?? 0;
    seen.set(type, k + 1);
    const name = given ?? ((counts.get(type) ?? 0) > 1 ? `${type}${k}` : type);
    if (typeof name !== 'string' || !NAME.test(name)) badOption(`${at}.name`, 'a name of letters, digits and _ (no dots): the prefix of its parameters', name);
    const clash = resolved.find((l) => l.name === name);
    if (clash) throw new OptionError(`${at}.name '${name}' is already the name of an earlier layer (names prefix the parameters, so they must differ)`, `${at}.name`);
    let convert: PlannedLayer['convert'] = 'none';
    if (i === 0 && shape.kind === 'tokens' && !def.accepts?.tokens) {
      convert = 'one-hot';
      shape = { kind: 'sequence', size: shape.size };
    } else if (i === 0 && input.kind === 'dense' && !def.accepts?.batchFirst) {
      convert = 'time-major';
    }
    const opts = def.resolve(options, at, shape, { before: resolved, input });
    const out = def.output(opts, shape);
    const params = def.params(opts, shape);
    resolved.push({ type, name, ...opts });
    layers.push({ def, options: opts, name, input: shape, output: out, convert, params });
    shape = out;
  });
  if (shape.kind === 'tokens') throw new OptionError(`${where}.layers: the last layer must output values, not token ids`, `${where}.layers`);

  const lw = `${where}.loss`;
  objectOption(m.loss, lw, "a loss { kind: 'crossEntropy' | 'binaryCrossEntropy' | 'mse' | 'huber', ... }");
  const ld = lossDef(m.loss.kind, lw);
  knownKeys(m.loss, ['kind', ...ld.keys], lw, `the '${ld.kind}' loss`);
  const { kind: _k, ...lossOptions } = m.loss;
  const lossOpts = ld.resolve(lossOptions, lw, shape.size);

  const specs: ParamSpec[] = [];
  for (const l of layers) for (const p of l.params) specs.push({ ...p, name: `${l.name}.${p.name}` });
  return {
    spec: { input, layers: resolved, loss: { kind: ld.kind, ...lossOpts }, seed, modules: [...modules] },
    layers,
    loss: { def: ld, options: lossOpts },
    layout: new Layout(specs),
    task: `${ld.targets}-per-${shape.kind === 'rows' ? 'sequence' : 'step'}` as TargetKind,
    outputSize: shape.size,
    inputSize: input.kind === 'tokens' ? input.vocabSize : input.size,
  };
}

function resolveInput(inp: SpecInput, where: string): SpecInput {
  objectOption(inp, where, "an object { kind: 'tokens', vocabSize } or { kind: 'dense', size }");
  oneOf(inp.kind, INPUT_KINDS, `${where}.kind`);
  knownKeys(inp, INPUT_KEYS[inp.kind], where, `a '${inp.kind}' input`);
  if (inp.kind === 'tokens') {
    positiveInt(inp.vocabSize, `${where}.vocabSize`);
    return { kind: 'tokens', vocabSize: inp.vocabSize };
  }
  positiveInt(inp.size, `${where}.size`);
  return { kind: 'dense', size: inp.size };
}

/** The spec with every default filled in (what checkpoints store); a model config becomes the spec it stands for. */
export function resolveModelSpec(m: ModelDefinition, where = 'model'): ResolvedModelSpec {
  return planModel(m, where).spec;
}

/** The parameter layout of a spec or config, without building the model (arena sizing). */
export function modelLayout(m: ModelDefinition): Layout {
  return planModel(m).layout;
}
