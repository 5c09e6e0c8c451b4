/**
 * The model of a run as a spec (docs/model-spec.md) rather than a model config: `--model-spec
 * FILE` (any spec, checked by core's planModel before the data is read, then fitted to the
 * data's input and output sizes), and the flags that reach past the config preset
 * (`--pooling attention|max`, `--class-weights`, `--label-smoothing`, `--loss huber`,
 * `--tie-weights`), which turn the task's config into its spec (`specFromConfig`) and edit it.
 * Without those flags a run keeps its model config, so default runs are what they always were.
 */
import { readFileSync } from 'node:fs';
import {
  OptionError, closest, isModelSpec, modelShape, planModel, resolveModelSpec, specFromConfig,
  type DataMeta, type LayerSpec, type ModelDefinition, type ModelSpec, type SequenceDataset, type SpecInput,
} from '@weft/core';
import { fileError, InputError, UsageError } from './errors.js';
import { modelConfigFor, type ModelFlags } from './task.js';

/** The flags that make a run's model a spec (yargs names). */
export interface SpecFlags {
  modelSpec?: string;
  /** Parsed and checked by readSpecFile before the data is read (train.ts). */
  modelSpecData?: ModelSpec;
  classWeights?: string;
  labelSmoothing?: number;
  loss?: 'mse' | 'huber';
  huberDelta?: number;
  tieWeights?: boolean;
}

/** A stand-in for what the data fills in, so a spec can be checked before the data is read. */
const PLACEHOLDER_SIZE = 2;

/** The last layer when it is a linear head (the layer whose outputSize the data may fill in). */
function head(spec: ModelSpec): LayerSpec | undefined {
  const last = Array.isArray(spec.layers) ? spec.layers[spec.layers.length - 1] : undefined;
  return last && typeof last === 'object' && last.type === 'linear' ? last : undefined;
}

/** The spec with `input` and the head's `outputSize` filled in where it leaves them out. */
function filled(spec: ModelSpec, input: SpecInput, outputSize: number): ModelSpec {
  const h = head(spec);
  const layers = h && h.outputSize === undefined && h.tie === undefined
    ? [...spec.layers.slice(0, -1), { ...h, outputSize }] : spec.layers;
  return { ...spec, input: spec.input ?? input, layers };
}

/** Rewrites core's `model.layers[2].mode ...` as `FILE: layers[2].mode ...`. */
function inFile(file: string, err: unknown): never {
  if (err instanceof OptionError) {
    const msg = err.message.replace(/^model\.?/, '').replace(/(^|[ (])model\./g, '$1');
    throw new OptionError(`--model-spec ${file}: ${msg}`, err.option.replace(/^model\.?/, '') || '--model-spec', err.suggestion);
  }
  throw err;
}

/**
 * Reads and checks a spec file: JSON, an object, and a spec core accepts once the data fills in
 * what it leaves out (checked now with stand-in sizes). Errors name the file and the field.
 */
export function readSpecFile(file: string): ModelSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw fileError(file, e, 'read the model spec');
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--model-spec ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec) || !isModelSpec(spec as ModelDefinition)) {
    throw new UsageError(`--model-spec ${file} must be a JSON object { "input"?, "layers": [...], "loss": {...} } (docs/model-spec.md)`);
  }
  const s = spec as ModelSpec;
  try {
    const weights = (s.loss as { classWeights?: unknown } | undefined)?.classWeights;
    const outputs = Array.isArray(weights) ? weights.length : PLACEHOLDER_SIZE;
    planModel(filled(s, { kind: 'tokens', vocabSize: Number(head(s)?.outputSize) || outputs }, outputs));
  } catch (e) {
    inFile(file, e);
  }
  return s;
}

/**
 * The spec file fitted to the data: `input` and the head's `outputSize` taken from the data
 * where the spec leaves them out; a spec whose sizes or targets disagree with the data is
 * refused, naming both.
 */
export function specForData(file: string, spec: ModelSpec, meta: DataMeta, seed: number): ModelSpec {
  const want = modelShape(meta);
  const input: SpecInput = want.input.kind === 'tokens' ? { kind: 'tokens', vocabSize: want.input.vocabSize } : { kind: 'dense', size: want.input.size };
  const s = filled({ seed, ...spec }, input, want.outputSize);
  let plan;
  try {
    plan = planModel(s);
  } catch (e) {
    inFile(file, e);
  }
  const size = (i: SpecInput) => (i.kind === 'tokens' ? `tokens, vocabSize ${i.vocabSize}` : `dense, size ${i.size}`);
  if (size(plan.spec.input) !== size(input)) {
    throw new UsageError(`--model-spec ${file}: input is ${size(plan.spec.input)}, but the ${meta.task} data gives ${size(input)}; leave "input" out to take it from the data`);
  }
  if (plan.outputSize !== want.outputSize) {
    throw new UsageError(`--model-spec ${file}: the model outputs ${plan.outputSize} values per ${plan.task.endsWith('step') ? 'step' : 'sequence'}, but the ${meta.task} data has ${want.outputSize} ${want.task.startsWith('class') ? 'classes' : 'targets'}; leave the head's "outputSize" out to take it from the data`);
  }
  if (plan.task !== want.task) {
    throw new UsageError(`--model-spec ${file}: the model trains '${plan.task}' targets (its loss and pooling), but the ${meta.task} data has '${want.task}' targets`);
  }
  const bi = meta.task === 'lm' ? plan.layers.find((l) => l.def.type === 'recurrent' && (l.options as { bidirectional?: boolean }).bidirectional) : undefined;
  if (bi) {
    throw new UsageError(`--model-spec ${file}: layer '${bi.name}' is bidirectional, which --task lm refuses: a language model must not see the characters it predicts`);
  }
  return s;
}

/** Class names of a classification task's meta (classify and names: labels; tag: tags). */
function classNames(meta: DataMeta): string[] {
  if (meta.task === 'classify') return meta.labels;
  if (meta.task === 'tag') return meta.tags;
  throw new UsageError(`--class-weights applies to classify, tag and names, not ${meta.task}`);
}

/**
 * Inverse class frequency over the training targets (steps past a row's length and ignored
 * targets not counted), normalised to mean 1 over the classes. A class absent from the training
 * split counts as seen once.
 */
export function inverseFrequencyWeights(train: SequenceDataset): number[] {
  const counts = new Float64Array(train.outputSize);
  const perStep = train.targetKind === 'class-per-step';
  for (let r = 0; r < train.count; r++) {
    const steps = perStep ? train.lengths[r]! : 1;
    for (let t = 0; t < steps; t++) {
      const c = train.targets[perStep ? r * train.maxSteps + t : r]!;
      if (c >= 0) counts[c]!++;
    }
  }
  const inv = [...counts].map((n) => 1 / Math.max(n, 1));
  const mean = inv.reduce((a, b) => a + b, 0) / inv.length;
  return inv.map((w) => w / mean);
}

/** `--class-weights FILE`: a JSON object label → weight covering every class. */
function weightsFromFile(file: string, meta: DataMeta): number[] {
  const names = classNames(meta);
  let o: unknown;
  try {
    o = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new InputError(`--class-weights ${file} is not valid JSON: ${e.message}`);
    throw fileError(file, e, 'read the class weights');
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new InputError(`--class-weights ${file} must be a JSON object { "label": weight, ... }`);
  const w = o as Record<string, unknown>;
  for (const k of Object.keys(w)) {
    if (!names.includes(k)) {
      const near = closest(k, names);
      throw new InputError(`--class-weights ${file}: ${JSON.stringify(k)} is not a class of the data${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; the classes are ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    }
    const v = w[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InputError(`--class-weights ${file}: the weight of ${JSON.stringify(k)} must be a number ≥ 0, got ${JSON.stringify(v)}`);
  }
  const missing = names.filter((n) => !(n in w));
  if (missing.length) throw new InputError(`--class-weights ${file} gives no weight for ${missing.map((n) => JSON.stringify(n)).join(', ')}: give every class a weight`);
  return names.map((n) => w[n] as number);
}

/**
 * The model of a new run: the spec file fitted to the data, the task's config edited by the
 * flags, or the config itself. A multi-label model has no config (the config's heads are
 * softmax and MSE): its preset is the classify model's spec with sigmoid binary cross-entropy.
 */
export function modelFor(meta: DataMeta, f: ModelFlags & SpecFlags, train: SequenceDataset): ModelDefinition {
  if (f.modelSpecData) return specForData(f.modelSpec!, f.modelSpecData, meta, f.seed);
  const config = modelConfigFor(meta, f);
  if (meta.task === 'multilabel') {
    const spec = specFromConfig({ ...config, task: 'class-per-sequence' });
    return specWithFlags({ ...spec, loss: { kind: 'binaryCrossEntropy' } }, f, meta, train);
  }
  return needsSpec(f) ? specWithFlags(specFromConfig(config), f, meta, train) : config;
}

/** Whether the flags ask for more than the task's model config can say. */
export function needsSpec(f: SpecFlags & Pick<ModelFlags, 'pooling'>): boolean {
  return f.pooling === 'attention' || f.pooling === 'max' || f.classWeights !== undefined || f.labelSmoothing !== undefined ||
    f.loss === 'huber' || f.tieWeights === true;
}

/**
 * The task's preset spec (its model config's, specFromConfig) edited as the flags say. `train`
 * is the training split (class weights `auto`).
 */
export function specWithFlags(spec: ModelSpec, f: SpecFlags & Pick<ModelFlags, 'pooling'>, meta: DataMeta, train: SequenceDataset): ModelSpec {
  const layers = spec.layers.map((l) => (l.type === 'pool' && (f.pooling === 'max' || f.pooling === 'attention') ? { ...l, mode: f.pooling } : l));
  let loss = spec.loss;
  if (f.classWeights !== undefined || f.labelSmoothing !== undefined) {
    classNames(meta); // the task check
    const classWeights = f.classWeights === undefined ? undefined : f.classWeights === 'auto' ? inverseFrequencyWeights(train) : weightsFromFile(f.classWeights, meta);
    loss = { ...loss, ...(classWeights ? { classWeights } : {}), ...(f.labelSmoothing !== undefined ? { labelSmoothing: f.labelSmoothing } : {}) };
  }
  if (f.loss === 'huber') {
    if (meta.task !== 'regress') throw new UsageError(`--loss huber applies to --task regress, not ${meta.task}`);
    loss = { kind: 'huber', ...(f.huberDelta !== undefined ? { delta: f.huberDelta } : {}) };
  }
  if (f.tieWeights) {
    if (meta.task !== 'lm') throw new UsageError(`--tie-weights applies to --task lm, not ${meta.task}`);
    const emb = layers.find((l) => l.type === 'embedding');
    if (!emb) throw new UsageError('--tie-weights needs an embedding (--embedding N, N equal to --hidden): the output layer shares its weight');
    layers[layers.length - 1] = { ...layers[layers.length - 1]!, tie: emb.name };
  }
  return { ...spec, layers, loss };
}

/** The `--tie-weights` sizes, checked before the data is read: the embedding must be as wide as the top layer's output. */
export function checkTieSizes(embedding: number | undefined, hidden: number): void {
  if (!embedding) throw new UsageError(`--tie-weights needs an embedding of the top layer's output size: give --embedding ${hidden} (the output layer then shares the embedding's weight)`);
  if (embedding !== hidden) {
    throw new UsageError(`--tie-weights: the embedding size (--embedding ${embedding}) must equal the top layer's output size (--hidden ${hidden}); the output layer's weight is the embedding's`);
  }
}

/** One line per layer of a model (type, name and the options that shape it), for `weft inspect`. */
export function describeLayers(m: ModelDefinition): string[] {
  const spec = resolveModelSpec(m);
  const input = spec.input.kind === 'tokens' ? `tokens (vocabulary ${spec.input.vocabSize})` : `dense (${spec.input.size} features)`;
  const opts = (o: Record<string, unknown>) => Object.entries(o).filter(([k]) => k !== 'type' && k !== 'name' && k !== 'kind')
    .map(([k, v]) => `${k} ${Array.isArray(v) ? `[${v.map((x) => (typeof x === 'number' ? +x.toFixed(4) : x)).join(', ')}]` : String(v)}`).join(', ');
  const w = Math.max(...spec.layers.map((l) => l.name.length));
  return [
    `input   ${input}`,
    ...spec.layers.map((l) => `${l.name.padEnd(w)}  ${String(l.type).padEnd(10)} ${opts(l as Record<string, unknown>)}`),
    `loss    ${spec.loss.kind}${opts(spec.loss) ? `: ${opts(spec.loss)}` : ''}`,
  ];
}
