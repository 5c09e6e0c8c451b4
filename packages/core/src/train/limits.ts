/**
 * How much memory a configuration needs, counted before anything is built, and the refusal of
 * one that cannot fit. Every buffer weft computes on lives in one shared WebAssembly.Memory
 * (kernels/memory.ts), and wasm32 caps it at 4 GiB (MAX_PAGES pages of 64 KiB). A run puts in
 * it the arena of train/arena.ts (parameters, the reduced gradient, the optimizer's state, one
 * gradient slot per shard, the undo copy, carried states) and, in every worker, for each shard
 * of the group it computes at once, the stack's scratch (stack/scratch.ts) and the model's
 * working buffers for its longest batch, and the group's rows; a model
 * that only predicts needs its parameters, their gradient buffer and the same scratch.
 *
 * The counts come from the code that lays those buffers out (arenaLayout, each layer's declared
 * scratch, StackScratch.bytes, the model's plan and Layout), on plain numbers: a hidden size of 100000 or an embedding of 1e9 is
 * refused in microseconds instead of failing deep inside an allocation (`createSharedMemory:
 * initialPages must be ...`) or after minutes of work. They are a lower bound (the JavaScript
 * heap, datasets and small buffers are not counted), so what they refuse cannot fit, and what
 * passes may still run out; kernels/memory.ts then says so (ArenaOutOfMemory).
 *
 * A refusal (MemoryLimitError, an OptionError) names the one option that accounts for most of
 * the memory (a model config's fields, a spec's layer options, the batch, the shards, the
 * workers, the longest sequence): each candidate is set to 1 in turn, and the one whose change
 * saves most is named, with its value, the bytes needed and the limit. The CLI maps the option
 * to its flag, data file line or checkpoint field.
 */
import { ALLOC_ALIGN, MEMORY_LIMIT_BYTES, formatBytes } from '../kernels/memory.js';
import { isModelSpec, planModel, type ModelConfig, type ModelDefinition, type ModelPlan, type ModelSpec } from '../model/model.js';
import { createOptimizer } from '../optim/index.js';
import { OptionError } from '../options/errors.js';
import { resolveStackOptions, type StackOptions } from '../stack/config.js';
import { GroupScratch, StackScratch } from '../stack/scratch.js';
import { arenaLayout } from './arena.js';
import type { ResolvedTrainConfig } from './config.js';
import { targetIsClass, targetPerStep } from '../data/dataset.js';
import { StepRunner, groupSize, shardCount } from './step.js';

export { MEMORY_LIMIT_BYTES, formatBytes };

/** What a configuration needs, in bytes, and what for. */
export interface MemoryNeed {
  /** Parameters in the model. */
  parameters: number;
  /** Shards of a training batch, each with its own gradient slot (1 for a model that predicts). */
  shards: number;
  /** Parameters, gradients and optimizer state: the training arena, or a predicting model's two buffers. */
  model: number;
  /** Activations and working buffers of one worker (or of the one thread that predicts). */
  perWorker: number;
  /** Threads that each hold `perWorker`. */
  workers: number;
  /** Sequences of a batch that one worker computes at once. */
  batch: number;
  /** Steps of the longest sequence. */
  steps: number;
  /** Everything. */
  total: number;
}

/** What besides the training config decides a run's memory. */
export interface TrainMemoryContext {
  /** Worker threads, each with its own scratch (default 1). */
  workers?: number;
  /** Steps of the longest sequence (default 1: what the config alone needs). */
  steps?: number;
  /** Sequences per evaluation batch, when the run evaluates (default: no evaluation). */
  evalBatch?: number;
}

/** What a model that only predicts needs: batches of `batch` sequences of up to `steps` steps. */
export interface InferenceMemoryContext {
  steps: number;
  batch: number;
}

/** A configuration that cannot fit in the memory limit. `option` is the one that accounts for most of it. */
export class MemoryLimitError extends OptionError {
  override name = 'MemoryLimitError';
  constructor(
    option: string,
    /** The option's value. */
    readonly value: number,
    /** What it would need, and for what. */
    readonly need: MemoryNeed,
    /** The message without its `option value: ` start: what would need how much, and the limit. */
    readonly detail: string,
    /** With `option` 'maxSteps': the longest sequence that would fit, all else equal (0: none). */
    readonly stepsThatFit?: number,
  ) {
    super(`${option} ${value}: ${detail}`, option);
  }
}

const aligned = (floats: number): number => Math.ceil((4 * floats) / ALLOC_ALIGN) * ALLOC_ALIGN;

/**
 * One replica's activations and working buffers for `batch` sequences of `steps` steps, as
 * SequenceModel.reserve sizes them: every layer's declared scratch, each recurrent layer's
 * stack scratch, and the model's own buffers (the converted input, the loss gradient,
 * batch-first outputs and targets for per-step losses).
 */
function activationBytes(plan: ModelPlan, steps: number, batch: number): number {
  let bytes = 0;
  for (const l of plan.layers) {
    for (const n of Object.values(l.def.scratch?.(l.options, l.input, batch, steps) ?? {})) bytes += aligned(n);
    if (l.def.type === 'recurrent') bytes += StackScratch.bytes(stackOptionsOf(l), steps, batch);
  }
  const O = plan.outputSize;
  const perStep = targetPerStep(plan.task);
  const rows = perStep ? batch * steps : batch;
  if (plan.layers[0]!.convert !== 'none') bytes += aligned(steps * batch * plan.inputSize);
  bytes += aligned(rows * O); // the loss gradient (the WebAssembly loss kernels' area comes on top)
  if (perStep) bytes += aligned(rows * O) * (targetIsClass(plan.task) ? 1 : 2);
  return bytes;
}

/** What the lead replica's recurrent layers share with a group of `rows` rows in all (GroupScratch.bytes). */
function groupBytes(plan: ModelPlan, rows: number): number {
  let bytes = 0;
  for (const l of plan.layers) if (l.def.type === 'recurrent') bytes += GroupScratch.bytes(stackOptionsOf(l), rows);
  return bytes;
}

function stackOptionsOf(l: ModelPlan['layers'][number]) {
  return resolveStackOptions({ ...(l.options as StackOptions), inputSize: l.input.size });
}

/**
 * One thread's memory: the replicas of the group of shards it takes at once (groupSize; the
 * first also evaluates, batches of up to `batch`), and their group's rows.
 */
function threadBytes(plan: ModelPlan, steps: number, batch: number, shardBatch: number, group: number): number {
  return activationBytes(plan, steps, Math.max(batch, shardBatch)) + (group - 1) * activationBytes(plan, steps, shardBatch) +
    groupBytes(plan, Math.max(batch, group * shardBatch));
}

/** The memory a training run needs (see the file comment). */
export function trainMemory(cfg: ResolvedTrainConfig, ctx: TrainMemoryContext = {}): MemoryNeed {
  const plan = planModel(cfg.model);
  const parameters = plan.layout.size;
  const states = createOptimizer(cfg.optimizer).stateCount;
  const carry = cfg.carryState ? StepRunner.carrySize(cfg.model, cfg.batchSize) : 0;
  const shards = shardCount(cfg.batchSize, cfg.shardSize);
  // Past the limit, a plain lower bound: arenaLayout would list every one of a billion shards.
  const least = 4 * parameters * (2 + shards + 2 * states);
  const arena = least > MEMORY_LIMIT_BYTES ? least : 4 * arenaLayout(parameters, shards, states, carry, true).size;
  const workers = ctx.workers ?? 1;
  const steps = ctx.steps ?? 1;
  const shardBatch = Math.min(cfg.shardSize, cfg.batchSize);
  const batch = Math.max(shardBatch, ctx.evalBatch ?? 0);
  const perWorker = threadBytes(plan, steps, batch, shardBatch, groupSize(shards, workers));
  return { parameters, shards, model: arena, perWorker, workers, batch, steps, total: arena + workers * perWorker };
}

/** The memory a model needs to predict or evaluate (parameters, their gradient buffer, one batch's activations). */
export function inferenceMemory(model: ModelDefinition, ctx: InferenceMemoryContext): MemoryNeed {
  const plan = planModel(model);
  const parameters = plan.layout.size;
  const own = 2 * aligned(parameters);
  const perWorker = threadBytes(plan, ctx.steps, ctx.batch, ctx.batch, 1);
  return { parameters, shards: 1, model: own, perWorker, workers: 1, batch: ctx.batch, steps: ctx.steps, total: own + perWorker };
}

/** One option that could be smaller: its name, value, and the config and context with it at its smallest. */
interface Candidate<C, X> {
  option: string;
  value: number;
  smallest: (c: C, x: X) => [C, X];
}

/**
 * The sizes of a model that could be smaller. A model config (the preset, what the CLI's flags
 * set): its own fields (`model.hiddenSize`, `model.input.embeddingDim`). A spec: every integer
 * option of every layer (`model.layers[1].hiddenSize`) and the input's size.
 */
function modelCandidates<C, X>(m: ModelDefinition, set: (c: C, m: ModelDefinition) => C): Candidate<C, X>[] {
  const out: Candidate<C, X>[] = [];
  const add = (option: string, value: unknown, change: () => ModelDefinition) => {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 1) out.push({ option, value, smallest: (c, x) => [set(c, change()), x] });
  };
  const inp = m.input;
  if (!isModelSpec(m)) {
    const c: ModelConfig = m;
    add('model.numLayers', c.numLayers, () => ({ ...c, numLayers: 1 }));
    add('model.hiddenSize', c.hiddenSize, () => ({ ...c, hiddenSize: 1 }));
    if (c.input.kind === 'tokens') {
      const t = c.input;
      add('model.input.embeddingDim', t.embeddingDim, () => ({ ...c, input: { ...t, embeddingDim: 1 } }));
      add('model.input.vocabSize', t.vocabSize, () => ({ ...c, input: { ...t, vocabSize: 1 } }));
    } else {
      const d = c.input;
      add('model.input.size', d.size, () => ({ ...c, input: { ...d, size: 1 } }));
    }
    add('model.outputSize', c.outputSize, () => ({ ...c, outputSize: 1 }));
    return out;
  }
  const s: ModelSpec = m;
  s.layers.forEach((l, i) => {
    for (const [k, v] of Object.entries(l)) {
      if (k === 'seed') continue;
      add(`model.layers[${i}].${k}`, v, () => ({ ...s, layers: s.layers.map((x, j) => (j === i ? { ...x, [k]: 1 } : x)) }));
    }
  });
  if (inp.kind === 'tokens') add('model.input.vocabSize', inp.vocabSize, () => ({ ...s, input: { kind: 'tokens', vocabSize: 1 } }));
  else add('model.input.size', inp.size, () => ({ ...s, input: { kind: 'dense', size: 1 } }));
  return out;
}

/** The candidate whose smallest value saves the most (the first of equals). */
function culprit<C, X>(need: (c: C, x: X) => number, c: C, x: X, candidates: Candidate<C, X>[]): Candidate<C, X> | undefined {
  let best: Candidate<C, X> | undefined;
  let bestTotal = need(c, x);
  for (const k of candidates) {
    let total: number;
    try {
      total = need(...k.smallest(c, x));
    } catch {
      continue; // a size the model cannot have at 1 (a loss's class count, a tied weight): not a candidate
    }
    if (total < bestTotal) {
      best = k;
      bestTotal = total;
    }
  }
  return best;
}

/** The most steps for which `need` stays within the limit (0 if not even one step fits). */
function stepsThatFit(need: (steps: number) => number, from: number): number {
  if (need(1) > MEMORY_LIMIT_BYTES) return 0;
  let lo = 1;
  let hi = from;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (need(mid) <= MEMORY_LIMIT_BYTES) lo = mid;
    else hi = mid;
  }
  return lo;
}

const count = (n: number): string => (n < 1e12 ? n.toLocaleString('en-US') : n.toExponential(2));
const LIMIT_TEXT = `the limit is ${formatBytes(MEMORY_LIMIT_BYTES)} of WebAssembly memory`;

function describe(what: string, need: MemoryNeed, modelPart: string): string {
  const acts = need.workers * need.perWorker;
  const who = need.workers > 1 ? `${need.workers} workers × ${formatBytes(need.perWorker)}` : formatBytes(need.perWorker);
  const batch = `${count(need.batch)} sequence${need.batch === 1 ? '' : 's'}`;
  const seqs = need.steps === 1 ? `one step of ${batch}` : `${batch} of ${count(need.steps)} steps`;
  return `${what} would need ${formatBytes(need.total)}: ${formatBytes(need.model)} for ${count(need.parameters)} parameters with ${modelPart}, ` +
    `and ${acts === need.perWorker ? formatBytes(acts) : `${formatBytes(acts)} (${who})`} of activations for ${seqs}; ${LIMIT_TEXT}`;
}

/**
 * Throws MemoryLimitError when a training run cannot fit (see the file comment); returns what
 * it needs otherwise. The option it names is one of the training config's (`model.hiddenSize`,
 * `batchSize`, `shardSize`), `workers`, or `maxSteps`: the longest sequence (`ctx.steps`).
 */
export function checkTrainMemory(cfg: ResolvedTrainConfig, ctx: TrainMemoryContext = {}): MemoryNeed {
  const need = trainMemory(cfg, ctx);
  if (need.total <= MEMORY_LIMIT_BYTES) return need;
  type X = TrainMemoryContext;
  const total = (c: ResolvedTrainConfig, x: X) => trainMemory(c, x).total;
  const all: Candidate<ResolvedTrainConfig, X>[] = [
    ...modelCandidates<ResolvedTrainConfig, X>(cfg.model, (c, model) => ({ ...c, model })),
    { option: 'batchSize', value: cfg.batchSize, smallest: (c, x) => [{ ...c, batchSize: 1, shardSize: 1 }, { ...x, evalBatch: x.evalBatch && 1 }] },
    { option: 'shardSize', value: cfg.shardSize, smallest: (c, x) => [{ ...c, shardSize: c.batchSize }, x] },
    { option: 'workers', value: need.workers, smallest: (c, x) => [c, { ...x, workers: 1 }] },
    { option: 'maxSteps', value: need.steps, smallest: (c, x) => [c, { ...x, steps: 1 }] },
  ];
  const candidates = all.filter((k) => k.value > 1);
  const k = culprit(total, cfg, ctx, candidates) ?? candidates[0];
  const fit = k?.option === 'maxSteps' ? stepsThatFit((steps) => total(cfg, { ...ctx, steps }), need.steps) : undefined;
  const grads = need.shards > 1 ? `their gradients (one per shard: ${count(need.shards)} shards)` : 'their gradients';
  throw new MemoryLimitError(k?.option ?? 'model', k?.value ?? need.total, need, describe('training', need, `${grads} and the optimizer's state`), fit);
}

/**
 * Throws MemoryLimitError when a model cannot predict batches of `ctx.batch` sequences of
 * `ctx.steps` steps within the limit. The option it names is one of the model config's
 * (`model.hiddenSize`), `batchSize` (ctx.batch) or `maxSteps` (ctx.steps). `what` says what
 * would need the memory ('evaluating').
 */
export function checkInferenceMemory(model: ModelDefinition, ctx: InferenceMemoryContext, what = 'predicting'): MemoryNeed {
  const need = inferenceMemory(model, ctx);
  if (need.total <= MEMORY_LIMIT_BYTES) return need;
  type X = InferenceMemoryContext;
  const total = (m: ModelDefinition, x: X) => inferenceMemory(m, x).total;
  const all: Candidate<ModelDefinition, X>[] = [
    ...modelCandidates<ModelDefinition, X>(model, (_c, m) => m),
    { option: 'batchSize', value: ctx.batch, smallest: (m, x) => [m, { ...x, batch: 1 }] },
    { option: 'maxSteps', value: ctx.steps, smallest: (m, x) => [m, { ...x, steps: 1 }] },
  ];
  const candidates = all.filter((k) => k.value > 1);
  const k = culprit(total, model, ctx, candidates) ?? candidates[0];
  const fit = k?.option === 'maxSteps' ? stepsThatFit((steps) => total(model, { ...ctx, steps }), ctx.steps) : undefined;
  throw new MemoryLimitError(k?.option ?? 'model', k?.value ?? need.total, need, describe(what, need, 'their gradients'), fit);
}
