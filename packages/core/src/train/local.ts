/**
 * The training loop in one thread: the same phases as the pool (train/step.ts), run one after
 * the other. It is the reference the pool must match bit for bit, and what a program that
 * imports only @weft/core uses.
 */
import { SequenceModel, gatherBatch, modelLayout, type ResolvedModelSpec } from '../model/model.js';
import { createOptimizer, createSchedule, type Optimizer, type OptimizerSnapshot } from '../optim/index.js';
import { arenaLayout, type ArenaLayout } from './arena.js';
import { targetHasAccuracy, validateDataset, validateInputs, type SequenceDataset, type SequenceInputs } from '../data/dataset.js';
import { placeOutputs, predictAll, predictionShape, type HeadOutputs } from './outputs.js';
import type { ModelPlan } from '../model/spec.js';
import { StepRunner, groupSize, lossScale, shardCount, type StepStats } from './step.js';
import { resolveTrainConfig, type ResolvedTrainConfig, type TrainConfig } from './config.js';
import { sequentialBatches } from '../data/batches.js';
import { fitSteps, resolveFitOptions, runLoopSync, type FitOptions, type FitResult, type TrainerState } from './loop.js';
import { allocF32 } from '../kernels/memory.js';
import { booleanOption, keysOf, knownKeys, objectOption, positiveInt, positiveNumber } from '../options/validate.js';
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
  /**
   * With evaluate's `outputs: true` (fit's `validationOutputs`): the head's outputs over the data,
   * from the same forward pass as the loss: predict's outputs, bit for bit, and their shape.
   */
  outputs?: Float32Array;
  shape?: number[];
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
  private scale = 1;

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

  /**
   * The learning rate's factor over the schedule: a step trains at schedule(step) × lrScale
   * (default 1). fit's reduce-on-plateau sets it; fit starts from its loop state's (1, or a
   * resumed run's).
   */
  get lrScale(): number {
    return this.scale;
  }

  set lrScale(v: number) {
    positiveNumber(v, 'lrScale');
    this.scale = v;
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
    const G = groupSize(K, 1); // one thread: every shard in one group (up to MAX_GROUP)
    for (let k = 0; k < K; k += G) this.runner.computeShards(d, rows, k, Math.min(K, k + G), cfg.shardSize, step, scale, carry);
    this.runner.reduceChunks(0, this.layout.chunkCount, K);
    const lr = this.lrAt(step) * this.scale;
    const res = decideStep(cfg, this.runner, K, step, lr);
    if (!res.skipped) {
      this.runner.updateChunks(0, this.layout.chunkCount, this.updates + 1, lr, res.gradNorm);
      this.updates++;
    }
    this.step++;
    return res;
  }

  /**
   * Trains with the training loop (train/loop.ts): whole epochs of the (seed, epoch) data order,
   * or `steps` steps, with validation, early stopping, reduce-on-plateau, checkpoints and resume
   * as the options say. Synchronous: callbacks and checkpoint.save must not return promises.
   * Throws the signal's reason when aborted (the model is then as after the last whole step).
   */
  fit(d: SequenceDataset, opts: FitOptions): FitResult {
    const o = resolveFitOptions(opts);
    const cfg = this.config;
    checkScheduleCovers(cfg, o.resume?.state?.step ?? this.step, fitSteps(d, cfg, o));
    const bs = o.evalBatchSize ?? cfg.batchSize;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the target's accessors read this trainer
    const self = this;
    return runLoopSync({
      config: cfg,
      optimizer: this.optimizer,
      get step() { return self.step; },
      get lrScale() { return self.lrScale; },
      set lrScale(v: number) { self.lrScale = v; },
      trainStep: (rows, reset) => this.trainStep(d, rows, reset),
      evaluate: () => this.evaluate(o.validation!, { batchSize: bs, outputs: o.validationOutputs ?? false }),
      getState: () => this.getState(),
      setState: (s) => this.setState(s),
    }, d, o);
  }

  /** A copy of the training state (parameters, optimizer state, step; the carried states with carryState), as the Trainer's getState. */
  getState(): TrainerState {
    return captureTrainerState(this, this.step, this.updates);
  }

  /** Restores a state from getState (this trainer's or the Trainer's: the same bits go on). */
  setState(s: TrainerState): void {
    restoreTrainerState(s, this);
    this.step = s.step;
    this.updates = s.optimizer.step;
  }

  /**
   * Mean loss (and accuracy) over `d`, and with `outputs: true` the head's outputs of the same
   * pass (predict's); NonFiniteError when the loss is not finite (nonFinite: 'error'). A number
   * for `opts` is the batchSize.
   */
  evaluate(d: SequenceDataset, opts: number | EvaluateOptions = {}): EvalResult {
    const o = typeof opts === 'number' ? { batchSize: opts } : checkPredictOptions(opts, 'evaluate');
    const bs = o.batchSize ?? this.config.batchSize;
    if (!o.outputs) return checkedEvaluation(evaluateModel(this.model, d, bs), this.config, this.step);
    const shape = predictionShape(this.model, d);
    const outputs = new Float32Array(shape.reduce((a, b) => a * b, 1));
    return { ...checkedEvaluation(evaluateModel(this.model, d, bs, { outputs, shape }), this.config, this.step), outputs, shape };
  }

  /**
   * The head's outputs (logits or values) for every sequence of a dataset or of inputs alone
   * (targets are not needed), in batches, without dropout: the Trainer's predict.
   */
  predict(d: SequenceInputs, opts: PredictOptions = {}): HeadOutputs {
    const bs = checkPredictOptions(opts, 'predict').batchSize ?? this.config.batchSize;
    checkInputsFit(d, this.model.plan, 'dataset');
    return { outputs: predictAll(this.model, d, bs), shape: predictionShape(this.model, d) };
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
      ...(options.optimizer ? { optimizer: optimizerSnapshot(this, this.updates) } : {}),
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

/** predict's options, and evaluate's but for `outputs` (LocalTrainer.predict, and the Trainer's evaluate and predict). */
export interface PredictOptions {
  /** Sequences per batch (default: the training batchSize). */
  batchSize?: number;
}

/** evaluate's options (LocalTrainer's and the Trainer's). */
export interface EvaluateOptions extends PredictOptions {
  /** Also give the head's outputs of the evaluation's pass (EvalResult's outputs and shape): predict's, without a second pass. Default false. */
  outputs?: boolean;
}

const PREDICT_KEYS = keysOf<PredictOptions>({ batchSize: true });
const EVALUATE_KEYS = keysOf<EvaluateOptions>({ batchSize: true, outputs: true });

/** Checks evaluate's and predict's options (`outputs` is evaluate's only); `what` names the call in messages. */
export function checkPredictOptions(o: EvaluateOptions, what: 'evaluate' | 'predict'): EvaluateOptions {
  objectOption(o, `${what} options`);
  knownKeys(o, what === 'evaluate' ? EVALUATE_KEYS : PREDICT_KEYS, '', what);
  if (o.batchSize !== undefined) positiveInt(o.batchSize, 'batchSize');
  if (o.outputs !== undefined) booleanOption(o.outputs, 'outputs');
  return o;
}

/**
 * That data (inputs alone, or with targets when `targets`) has the shapes it says and fits the
 * model: input kind and size, and the targets its loss needs. `where` names it in messages.
 */
export function checkInputsFit(d: SequenceInputs, m: ModelPlan, where: string, targets = false): void {
  if (d === null || typeof d !== 'object') throw new TypeError(`${where} must be a SequenceDataset, got ${String(d)}`);
  if (targets) validateDataset(d as SequenceDataset, where);
  else validateInputs(d, where);
  const kind = m.spec.input.kind;
  if (d.inputKind !== kind) throw new TypeError(`${where}.inputKind is '${d.inputKind}' but model.input.kind is '${kind}'`);
  if (d.inputSize !== m.inputSize) throw new RangeError(`${where}.inputSize is ${d.inputSize} but the model expects ${m.inputSize}`);
  if (!targets) return;
  const t = d as SequenceDataset;
  if (t.targetKind !== m.task) throw new TypeError(`${where}.targetKind is '${t.targetKind}' but the model's loss needs '${m.task}' targets`);
  if (t.outputSize !== m.outputSize) throw new RangeError(`${where}.outputSize is ${t.outputSize} but the model outputs ${m.outputSize}`);
}

/**
 * A copy of a trainer's state after `step` steps and `updates` optimizer updates: parameters,
 * optimizer state, step; the carried states with carryState. LocalTrainer's and the Trainer's getState.
 */
export function captureTrainerState(
  t: { readonly optimizer: Optimizer; readonly config: ResolvedTrainConfig; readonly runner: StepRunner },
  step: number,
  updates: number,
): TrainerState {
  return {
    step,
    params: t.runner.params.slice(),
    optimizer: optimizerSnapshot(t, updates),
    ...(t.config.carryState ? { carry: t.runner.carriedState(step) } : {}),
  };
}

/** A copy of a trainer's optimizer state after `updates` updates (what a checkpoint stores). */
export function optimizerSnapshot(t: { readonly optimizer: Optimizer; readonly runner: StepRunner }, updates: number): OptimizerSnapshot {
  return { name: t.optimizer.name, options: { ...t.optimizer.options }, step: updates, states: t.runner.states.map((x) => x.slice()) };
}

/**
 * Writes a state (checked first: nothing is written from a wrong one) into a trainer's runner:
 * parameters, optimizer state, carried states. The trainer sets its step counts.
 */
export function restoreTrainerState(
  s: TrainerState,
  t: { readonly layout: ArenaLayout; readonly optimizer: Optimizer; readonly config: ResolvedTrainConfig; readonly runner: StepRunner },
): void {
  checkTrainerState(s, t);
  t.runner.params.set(s.params);
  s.optimizer.states.forEach((b, k) => t.runner.states[k]!.set(b));
  if (s.carry !== undefined) t.runner.setCarriedState(s.step, s.carry);
}

/**
 * Checks a state for a trainer before anything of it is applied: the step, parameters, optimizer
 * state and carried states must be of this run (the messages name the field).
 */
export function checkTrainerState(
  s: TrainerState,
  t: { readonly layout: ArenaLayout; readonly optimizer: Optimizer; readonly config: ResolvedTrainConfig },
): void {
  if (s === null || typeof s !== 'object') throw new TypeError('state must be an object { step, params, optimizer }');
  const P = t.layout.paramCount;
  if (!Number.isInteger(s.step) || s.step < 0) throw new TypeError(`state.step must be a non-negative integer, got ${String(s.step)}`);
  if (!s.params || s.params.length !== P) throw new RangeError(`state.params must have ${P} values, got ${s.params?.length}`);
  const opt = s.optimizer;
  if (!opt || opt.name !== t.optimizer.name) {
    throw new TypeError(`state.optimizer is for optimizer '${opt?.name}', this trainer uses '${t.optimizer.name}'`);
  }
  const n = t.optimizer.stateCount;
  if (!Array.isArray(opt.states) || opt.states.length !== n) {
    throw new RangeError(`state.optimizer.states must have ${n} buffers (${t.optimizer.stateNames.join(', ')}), got ${opt.states?.length}`);
  }
  opt.states.forEach((b, k) => {
    if (!b || b.length !== P) throw new RangeError(`state.optimizer.states[${k}] must have ${P} values, got ${b?.length}`);
  });
  if (!Number.isInteger(opt.step) || opt.step < 0 || opt.step > s.step) {
    throw new RangeError(`state.optimizer.step (updates applied) must be an integer in 0..${s.step} (state.step), got ${String(opt.step)}`);
  }
  if (s.carry !== undefined && !t.config.carryState) throw new TypeError('state.carry is given but this trainer does not carry state (carryState: false)');
  if (s.carry !== undefined && s.carry.length !== t.layout.carrySize) {
    throw new RangeError(`state.carry must have ${t.layout.carrySize} values, got ${s.carry.length}`);
  }
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
 * Mean loss (and accuracy) of a model over a whole dataset, in order, without dropout; with
 * `into`, the head's outputs of the same pass are written to `into.outputs` (of predictionShape
 * `into.shape`, zeroed: predictAll's placement).
 */
export function evaluateModel(model: SequenceModel, d: SequenceDataset, batchSize: number, into?: { outputs: Float32Array; shape: readonly number[] }): EvalResult {
  positiveInt(batchSize, 'batchSize');
  // The longest sequence must fit in memory (MemoryLimitError names maxSteps or batchSize otherwise).
  checkInferenceMemory(model.spec, { steps: d.maxSteps, batch: Math.min(batchSize, d.count) }, 'evaluating');
  const totals = [0, 0, 0, 0];
  for (const rows of sequentialBatches(d.count, batchSize)) {
    const b = gatherBatch(d, rows);
    addEvalTotals(totals, model.evaluate(b));
    if (into) placeOutputs(into.outputs, into.shape, model.lastOutput, b, rows);
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
  const accuracy = targetHasAccuracy(d.targetKind);
  return { loss: weight! ? sum! / weight! : NaN, count: count!, ...(accuracy ? { accuracy: count ? correct! / count : NaN } : {}) };
}
