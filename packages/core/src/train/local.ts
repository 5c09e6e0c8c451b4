/**
 * The training loop in one thread: the same phases as the pool (train/step.ts), run one after
 * the other. It is the reference the pool must match bit for bit, and what a program that
 * imports only @weft/core uses.
 */
import { SequenceModel, gatherBatch, modelLayout, type ResolvedModelSpec } from '../model/model.js';
import { createOptimizer, createSchedule, type Optimizer } from '../optim/index.js';
import { arenaLayout, type ArenaLayout } from './arena.js';
import { targetIsClass, type SequenceDataset } from '../data/dataset.js';
import { StepRunner, lossScale, shardCount, type StepStats } from './step.js';
import { resolveTrainConfig, type ResolvedTrainConfig, type TrainConfig } from './config.js';
import { epochBatches, sequentialBatches } from '../data/batches.js';
import { allocF32 } from '../kernels/memory.js';
import { functionOption, keysOf, knownKeys, nonNegativeInt, objectOption, positiveInt } from '../options/validate.js';
import type { DataMeta } from '../data/index.js';
import { TrainedModel } from './trained.js';
import { checkInferenceMemory } from './limits.js';

/**
 * A loss or gradient norm that is not finite, under nonFinite: 'error': in a training step
 * (`during` 'step': no update was applied), or in an evaluation (`during` 'evaluation', after
 * `step` steps; gradNorm is NaN), where it can only come from the data or the weights.
 */
export class NonFiniteError extends Error {
  constructor(readonly step: number, readonly loss: number, readonly gradNorm: number, readonly during: 'step' | 'evaluation' = 'step') {
    super(during === 'step'
      ? `step ${step}: the loss (${loss}) or gradient norm (${gradNorm}) is not finite; no update was applied. ` +
        `Lower the learning rate, clip gradients (clipNorm), or set nonFinite: 'skip' to skip such steps.`
      : `evaluation after step ${step}: the loss (${loss}) is not finite: the data holds values that are not finite numbers or too large, ` +
        'or the weights are not finite (nonFinite: \'error\')');
    this.name = 'NonFiniteError';
  }
}

/** An evaluation's result, or NonFiniteError when its loss is not finite under nonFinite: 'error'. */
export function checkedEvaluation(r: EvalResult, cfg: Pick<ResolvedTrainConfig, 'nonFinite'>, step: number): EvalResult {
  if (r.count > 0 && !Number.isFinite(r.loss) && cfg.nonFinite === 'error') throw new NonFiniteError(step, r.loss, NaN, 'evaluation');
  return r;
}

export interface TrainStepResult extends StepStats {
  /** 0-based index of this step. */
  step: number;
  /** Learning rate used. */
  lr: number;
  /** True when the step was skipped for a non-finite loss or gradient (nonFinite: 'skip'). */
  skipped: boolean;
}

export interface EvalResult {
  /** Mean loss (with class weights, weighted as in training). */
  loss: number;
  /** Loss terms counted (targets or values). */
  count: number;
  /** Fraction of correct arg-max predictions (classification), else undefined. */
  accuracy?: number;
}

/** Sizes the arena of a training run from its config. */
export function trainArenaLayout(cfg: ResolvedTrainConfig, optimizer: Optimizer, opts: { undo?: boolean } = {}): ArenaLayout {
  const P = modelLayout(cfg.model).size;
  const carry = cfg.carryState ? StepRunner.carrySize(cfg.model, cfg.batchSize) : 0;
  return arenaLayout(P, shardCount(cfg.batchSize, cfg.shardSize), optimizer.stateCount, carry, opts.undo ?? false);
}

/**
 * The decisions of one step after the reduce, identical in every thread: the loss, the norm,
 * whether to update, and the learning rate. Shared by LocalTrainer and the pool.
 */
export function decideStep(cfg: ResolvedTrainConfig, runner: StepRunner, shards: number, step: number, lr: number): TrainStepResult {
  const s = runner.stepStats(shards);
  const finite = Number.isFinite(s.loss) && Number.isFinite(s.gradNorm);
  if (!finite && cfg.nonFinite === 'error') throw new NonFiniteError(step, s.loss, s.gradNorm);
  return { ...s, step, lr, skipped: !finite };
}

/** LocalTrainer.fit's options. */
export interface LocalFitOptions {
  /** Train until this epoch count (0-based epochs startEpoch..epochs-1). */
  epochs: number;
  /** First epoch (resuming; default 0). */
  startEpoch?: number;
  /** Sees every step's result. */
  onStep?: (r: TrainStepResult) => void;
}

const LOCAL_FIT_KEYS = keysOf<LocalFitOptions>({ epochs: true, startEpoch: true, onStep: true });

export class LocalTrainer {
  readonly config: ResolvedTrainConfig;
  readonly optimizer: Optimizer;
  readonly layout: ArenaLayout;
  readonly arena: Float32Array;
  readonly runner: StepRunner;
  private readonly lrAt: (step: number) => number;
  /** Completed steps (updates applied or skipped). */
  step = 0;
  /** Optimizer updates applied: completed steps less the skipped ones (PyTorch counts only these). */
  updates = 0;

  constructor(config: TrainConfig, arena?: Float32Array) {
    this.config = resolveTrainConfig(config);
    this.optimizer = createOptimizer(this.config.optimizer);
    this.lrAt = createSchedule(this.config.schedule ?? { kind: 'constant' }, this.optimizer.options.lr);
    this.layout = trainArenaLayout(this.config, this.optimizer);
    this.arena = arena ?? allocF32(this.layout.size);
    if (this.arena.length < this.layout.size) throw new RangeError(`arena has ${this.arena.length} floats, the run needs ${this.layout.size}`);
    this.runner = new StepRunner(this.config.model, this.arena, this.layout, this.optimizer, this.config);
    if (!arena) {
      // Initialise the parameters exactly as a standalone model would.
      this.runner.params.set(new SequenceModel(this.config.model).paramBuffer);
    }
  }

  get model(): SequenceModel {
    return this.runner.model;
  }

  /** The model's spec, every default filled in (what a checkpoint stores to rebuild it). */
  get spec(): ResolvedModelSpec {
    return this.runner.model.spec;
  }

  /**
   * One step on the given rows of `d` (a global batch). With carryState, `resetState` starts
   * the streams from zero (the first batch of an epoch).
   */
  trainStep(d: SequenceDataset, rows: ArrayLike<number>, resetState = false): TrainStepResult {
    const cfg = this.config;
    const K = shardCount(rows.length, cfg.shardSize);
    if (K > this.layout.shards) throw new RangeError(`a batch of ${rows.length} sequences needs ${K} shards; the run was sized for batchSize ${cfg.batchSize}`);
    const scale = lossScale(d, rows, this.model.plan.loss);
    const step = this.step;
    const carry = cfg.carryState ? { reset: resetState } : undefined;
    if (carry && rows.length !== cfg.batchSize) throw new RangeError(`with carryState every batch must hold batchSize = ${cfg.batchSize} streams, got ${rows.length}`);
    for (let k = 0; k < K; k++) this.runner.computeShard(d, rows, k, cfg.shardSize, step, scale, carry);
    this.runner.reduceChunks(0, this.layout.chunkCount, K);
    const lr = this.lrAt(step);
    const res = decideStep(cfg, this.runner, K, step, lr);
    if (!res.skipped) {
      this.runner.updateChunks(0, this.layout.chunkCount, this.updates + 1, lr, res.gradNorm);
      this.updates++;
    }
    this.step++;
    return res;
  }

  /** Train for whole epochs; `onStep` sees every step's result. Returns the last epoch's mean loss. */
  fit(d: SequenceDataset, opts: LocalFitOptions): number {
    objectOption(opts, 'fit options', 'an object { epochs, ... }');
    knownKeys(opts, LOCAL_FIT_KEYS, '', 'fit');
    positiveInt(opts.epochs, 'epochs');
    if (opts.startEpoch !== undefined) nonNegativeInt(opts.startEpoch, 'startEpoch');
    if (opts.onStep !== undefined) functionOption(opts.onStep, 'onStep');
    checkScheduleCovers(this.config, this.step, fitSteps(d, this.config, opts.epochs, opts.startEpoch ?? 0));
    let last = NaN;
    for (let e = opts.startEpoch ?? 0; e < opts.epochs; e++) {
      let sum = 0;
      let n = 0;
      for (const [i, rows] of trainBatches(d, this.config, e).entries()) {
        const r = this.trainStep(d, rows, i === 0);
        opts.onStep?.(r);
        if (!r.skipped) { sum += r.loss * r.count; n += r.count; }
      }
      last = n ? sum / n : NaN;
    }
    return last;
  }

  /** Mean loss (and accuracy) over `d`; NonFiniteError when the loss is not finite (nonFinite: 'error'). */
  evaluate(d: SequenceDataset, batchSize = this.config.batchSize): EvalResult {
    return checkedEvaluation(evaluateModel(this.model, d, batchSize), this.config, this.step);
  }

  /**
   * The model as trained so far (a copy): with the data loader's `meta` it can `predict` raw
   * inputs; with `optimizer: true` it keeps the optimizer's state, so that a saved file can
   * resume training.
   */
  toModel<M extends DataMeta | undefined = undefined>(options: ToModelOptions<M> = {}): TrainedModel<M> {
    return new TrainedModel<M>({
      train: this.config, params: this.runner.params, step: this.step,
      ...(options.meta !== undefined ? { meta: options.meta } : {}),
      ...(options.optimizer ? { optimizer: { name: this.optimizer.name, options: { ...this.optimizer.options }, step: this.updates, states: this.runner.states.map((s) => s.slice()) } } : {}),
    });
  }

  /** `toModel(options).save(path)`: the model file that `loadModel` and the CLI read. */
  async save(path: string, options: ToModelOptions<DataMeta | undefined> = {}): Promise<void> {
    await this.toModel(options).save(path);
  }
}

/** What a trainer's `toModel` and `save` take. */
export interface ToModelOptions<M extends DataMeta | undefined = DataMeta | undefined> {
  /** The data loader's meta (vocabulary, labels, normalisation), so the model can predict from raw inputs. */
  meta?: M;
  /** Keep the optimizer's state too (default false), to resume training from the file. */
  optimizer?: boolean;
}

/** Steps that fit runs: whole epochs startEpoch..epochs-1 of trainBatches, at most `steps`. */
export function fitSteps(d: SequenceDataset, cfg: ResolvedTrainConfig, epochs: number, startEpoch = 0, steps = Infinity): number {
  return Math.max(0, Math.min(steps, (epochs - startEpoch) * trainBatches(d, cfg, 0).length));
}

/**
 * Throws when a cosine or linear schedule ends before the training about to start (`steps`
 * steps from step `from`): past its totalSteps such a schedule stays at minLr (0 by default),
 * so the rest of the run would train at that rate without a word.
 */
export function checkScheduleCovers(cfg: ResolvedTrainConfig, from: number, steps: number): void {
  const s = cfg.schedule;
  if (!s || (s.kind !== 'cosine' && s.kind !== 'linear') || s.totalSteps === undefined) return;
  const end = from + steps;
  if (end > s.totalSteps) {
    throw new RangeError(
      `schedule.totalSteps is ${s.totalSteps}, but this training runs to step ${end} (${steps} steps from step ${from}); ` +
      `past step ${s.totalSteps} the ${s.kind} schedule stays at minLr (${s.minLr ?? 0}). Set totalSteps to at least ${end}, or train fewer epochs or steps`,
    );
  }
}

/**
 * The batches of one training epoch: shuffled by (seed, epoch); with carryState, the streams'
 * windows in order and only full batches (a short last batch would break the streams).
 */
export function trainBatches(d: SequenceDataset, cfg: ResolvedTrainConfig, epoch: number): Int32Array[] {
  if (!cfg.carryState) return epochBatches(d.count, cfg.batchSize, cfg.seed, epoch);
  return sequentialBatches(d.count, cfg.batchSize).filter((b) => b.length === cfg.batchSize);
}

/** Mean loss (and accuracy) of a model over a whole dataset, in order, without dropout. */
export function evaluateModel(model: SequenceModel, d: SequenceDataset, batchSize: number): EvalResult {
  positiveInt(batchSize, 'batchSize');
  // The longest sequence must fit in memory (MemoryLimitError names maxSteps or batchSize otherwise).
  checkInferenceMemory(model.spec, { steps: d.maxSteps, batch: Math.min(batchSize, d.count) }, 'evaluating');
  const totals = [0, 0, 0, 0];
  for (const rows of sequentialBatches(d.count, batchSize)) {
    const r = model.evaluate(gatherBatch(d, rows));
    addEvalTotals(totals, r);
  }
  return evalResult(totals, d);
}

/** Adds one batch's [sum, count, correct, weight] to running totals (in batch order: the same bits in every thread). */
export function addEvalTotals(t: number[], r: { sum: number; count: number; correct: number; weight: number }): void {
  t[0]! += r.sum;
  t[1]! += r.count;
  t[2]! += r.correct;
  t[3]! += r.weight;
}

/** The EvalResult of totals [sum, count, correct, weight]; accuracy for class and multi-label targets (per label). */
export function evalResult([sum, count, correct, weight]: number[], d: SequenceDataset): EvalResult {
  const accuracy = targetIsClass(d.targetKind) || d.targetKind.startsWith('multilabel');
  return { loss: weight! ? sum! / weight! : NaN, count: count!, ...(accuracy ? { accuracy: count ? correct! / count : NaN } : {}) };
}
