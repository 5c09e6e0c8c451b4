/**
 * THE training loop: epochs and steps over the (seed, epoch) data order, the position a run
 * stands at (so a checkpoint resumes at the very step it stopped, with the same bits as a run
 * never stopped), the epoch's loss meters, validation at epoch ends or every N steps, and what
 * reacts to it: the best validation, early stopping, reduce-on-plateau, checkpoints (every N
 * steps and at each new best) and abort. LocalTrainer.fit, the multi-core Trainer.fit and the
 * CLI's `weft train` all run this one loop; what differs between them is only the LoopTarget
 * (how a step and an evaluation are run) and the callbacks (what is reported).
 *
 * The loop is a generator of operations (train a step, evaluate, call back) run by one of two
 * drivers: `runLoopSync` for a target that answers at once (LocalTrainer: fit stays
 * synchronous) and `runLoop` for one that answers with promises (the pool). Both drivers run
 * the same generator, so the two cannot drift apart.
 */
import type { EvalResult, TrainStepResult } from './local.js';
import type { ResolvedTrainConfig } from './config.js';
import { targetHasAccuracy, type SequenceDataset } from '../data/dataset.js';
import { epochBatchCount, trainBatches, type BatchOrder } from '../data/batches.js';
import type { OptimizerSnapshot } from '../optim/index.js';
import { OptionError } from '../options/errors.js';
import {
  badOption, booleanOption, functionOption, keysOf, knownKeys, nonNegativeInt, nonNegativeNumber, objectOption, oneOf, positiveInt, positiveNumber,
} from '../options/validate.js';

/** A checkpoint's worth of a trainer's state: parameters, optimizer state, step count (and the carried states). */
export interface TrainerState {
  /** Completed steps. */
  step: number;
  /** All parameters in the model's layout order [paramCount]. */
  params: Float32Array;
  optimizer: OptimizerSnapshot;
  /** With carryState: the recurrent states carried into the next step ([batchSize, L*D, H], then c for LSTMs). */
  carry?: Float32Array;
}

export const MONITORS = ['loss', 'accuracy'] as const;
/** What a validation is judged by: its loss, or its accuracy (class and multi-label targets). */
export type Monitor = (typeof MONITORS)[number];
export const MONITOR_MODES = ['min', 'max'] as const;
export type MonitorMode = (typeof MONITOR_MODES)[number];

/** What a watcher of validations compares: the value, which way is better, and by how much it must be. */
export interface WatchOptions {
  /** Default: fit's `monitor` ('loss'). */
  monitor?: Monitor;
  /** Default: 'min' for the loss, 'max' for accuracy. */
  mode?: MonitorMode;
  /** An improvement smaller than this does not count (absolute; default 0). */
  minDelta?: number;
}

/** Stop once the monitored validation has not improved for `patience` (≥ 1) validations in a row. */
export interface EarlyStoppingOptions extends WatchOptions {
  patience: number;
}

/**
 * Multiply the learning rate by `factor` once the monitored validation has not improved for
 * more than `patience` validations (PyTorch's ReduceLROnPlateau, with an absolute minDelta), never
 * below `minLr`. The factor applies on top of the schedule: the step's rate is schedule(step) × scale.
 */
export interface ReduceOnPlateauOptions extends WatchOptions {
  /** Default 0.1. */
  factor?: number;
  /** Default 10. */
  patience?: number;
  /** Default 0. */
  minLr?: number;
}

/** A copy of the run's state at a point between steps: the trainer's and the loop's. */
export interface FitCheckpoint {
  /** 'every': the step count reached a multiple of checkpoint.every; 'best': a validation improved on the best. */
  reason: 'every' | 'best';
  state: TrainerState;
  loop: LoopState;
}

export interface CheckpointOptions {
  /** Save every this many steps (of the trainer's step count). */
  every?: number;
  /** Save after each validation that improves on the best (fit's `monitor`). */
  best?: boolean;
  /** Writes the checkpoint (LocalTrainer.fit: synchronously). */
  save: (c: FitCheckpoint) => unknown;
}

/** Where a run stands and what its watchers remember: all a resume needs besides the trainer's state. */
export interface LoopState {
  /** Epoch of the next batch (0-based). */
  epoch: number;
  /** Index of the next batch within that epoch (the epoch's batch count: its end is still to do). */
  batch: number;
  /** The epoch so far: loss sum (loss × count of each updated step), loss terms, correct predictions, steps. */
  meter: { sum: number; count: number; correct: number; steps: number };
  /** The best validation so far by fit's `monitor` (epoch 0-based), or null. */
  best: BestValidation | null;
  /** Early stopping (fit's `monitor` without it): its best value, and validations since. */
  earlyStopping: { best: number | null; stale: number };
  /** Reduce-on-plateau: its best value, validations since, and the learning-rate factor. */
  plateau: { best: number | null; stale: number; scale: number };
}

export interface BestValidation {
  epoch: number;
  step: number;
  loss: number;
  accuracy?: number;
}

/** After every whole epoch. */
export interface EpochEvent {
  epoch: number;
  /** Mean training loss over the epoch's updated steps. */
  loss: number;
  /** Fraction of correct predictions over the epoch's updated steps (class and multi-label targets). */
  accuracy?: number;
  /** Steps of this epoch (skipped ones included). */
  steps: number;
  /** On `validation` at the epoch's end. */
  validation?: EvalResult;
  /** With validation: whether it is the best so far. */
  best?: boolean;
  timeMs: number;
}

/** After every validation (at epoch ends, or every validateEvery steps). */
export interface ValidationEvent {
  epoch: number;
  /** The trainer's step count. */
  step: number;
  validation: EvalResult;
  best: boolean;
  /** The learning-rate factor after this validation (reduce-on-plateau). */
  lrScale: number;
}

/** What onStep sees besides the step's result. */
export interface StepInfo {
  /** 0-based epoch and the batch's index in it. */
  epoch: number;
  batch: number;
  /** The batch's rows. */
  rows: Int32Array;
  /** The loop's state after the step (a copy). */
  loop: LoopState;
}

export interface FitOptions<S extends TrainStepResult = TrainStepResult> {
  /** Train until this epoch count (0-based epochs up to epochs-1). Required unless `steps` is given. */
  epochs?: number;
  /** First epoch (default 0). Data order depends on (seed, epoch) only. Not with `resume`. */
  startEpoch?: number;
  /** Stop after this many steps of this call (default: no limit; 0: only an epoch end left pending by a checkpoint). */
  steps?: number;
  /** Evaluated after every epoch, or every `validateEvery` steps. */
  validation?: SequenceDataset;
  /** Validate every this many steps (of the trainer's step count) instead of at epoch ends. */
  validateEvery?: number;
  /** Batch size of validation (default: the training batchSize). */
  evalBatchSize?: number;
  /**
   * Each validation also gives the head's outputs on the validation data (EvalResult's outputs
   * and shape: evaluate's `outputs: true`) to onValidation/onEpoch and the events, from the same
   * pass as its loss; FitResult.epochs does not keep them. Default false.
   */
  validationOutputs?: boolean;
  /** What the best validation is (and, by default, what the watchers watch): default 'loss'. */
  monitor?: Monitor;
  earlyStopping?: EarlyStoppingOptions;
  reduceOnPlateau?: ReduceOnPlateauOptions;
  checkpoint?: CheckpointOptions;
  /** Go on from a checkpoint: its loop state (and its trainer state, when given). */
  resume?: { loop: LoopState; state?: TrainerState };
  /** Aborting stops before the next step (or after a validation); fit then throws the signal's reason. */
  signal?: AbortSignal;
  /** After every step (the pool awaits a returned promise; LocalTrainer.fit refuses one). */
  onStep?: (r: S, info: StepInfo) => unknown;
  /** After every whole epoch (and its validation), with the loop's state then (a copy). */
  onEpoch?: (e: EpochEvent, loop: LoopState) => unknown;
  /** After every validation, with the loop's state then (a copy). */
  onValidation?: (e: ValidationEvent, loop: LoopState) => unknown;
}

export const STOP_REASONS = ['epochs', 'steps', 'early-stopping'] as const;

export interface FitResult {
  /** Mean training loss of the last epoch run (over the steps run, if `steps` cut it short). */
  loss: number;
  /** Every whole epoch run. */
  epochs: EpochEvent[];
  /** Steps taken by this call. */
  steps: number;
  /** The trainer's step count at the end. */
  step: number;
  /** Why training stopped: the epochs were done, `steps` ran out, or early stopping. */
  stop: (typeof STOP_REASONS)[number];
  /** The best validation (by `monitor`), or null. */
  best: BestValidation | null;
  /** Where the run stands: resume from it (with the trainer's state) to go on. */
  loop: LoopState;
  timeMs: number;
}

/**
 * What the loop drives: a step on given rows, an evaluation, the trainer's state, and the
 * learning-rate factor. LocalTrainer answers at once; the pool with promises.
 */
export interface LoopTarget<S extends TrainStepResult = TrainStepResult> {
  readonly config: ResolvedTrainConfig;
  /** Its base learning rate (reduce-on-plateau's minLr is a fraction of it). */
  readonly optimizer: { readonly options: { readonly lr: number } };
  /** Completed steps. */
  readonly step: number;
  /** The learning rate's factor over the schedule (reduce-on-plateau). */
  lrScale: number;
  trainStep(rows: Int32Array, resetState: boolean, epoch: number): S | Promise<S>;
  evaluate(): EvalResult | Promise<EvalResult>;
  getState(): TrainerState;
  setState(s: TrainerState): void;
}

const EARLY_KEYS = keysOf<EarlyStoppingOptions>({ monitor: true, mode: true, minDelta: true, patience: true });
const PLATEAU_KEYS = keysOf<ReduceOnPlateauOptions>({ monitor: true, mode: true, minDelta: true, factor: true, patience: true, minLr: true });
const CHECKPOINT_KEYS = keysOf<CheckpointOptions>({ every: true, best: true, save: true });
const RESUME_KEYS = ['loop', 'state'] as const;
export const FIT_KEYS = keysOf<FitOptions>({
  epochs: true, startEpoch: true, steps: true, validation: true, validateEvery: true, evalBatchSize: true, validationOutputs: true, monitor: true,
  earlyStopping: true, reduceOnPlateau: true, checkpoint: true, resume: true, signal: true, onStep: true, onEpoch: true, onValidation: true,
});
/** The keys of a callback; a trainer on another thread (RemoteTrainer) proxies these. */
export const FIT_CALLBACK_KEYS = ['onStep', 'onEpoch', 'onValidation'] as const;

interface Watch {
  monitor: Monitor;
  mode: MonitorMode;
  minDelta: number;
}

/** fit's options checked, with the defaults filled in. */
export interface ResolvedFitOptions<S extends TrainStepResult = TrainStepResult> extends FitOptions<S> {
  epochs: number;
  steps: number;
  monitor: Monitor;
  start: LoopState;
  watch: { best: Watch; early?: Watch & { patience: number }; plateau?: Watch & { patience: number; factor: number; minLr: number } };
}

function resolveWatch(o: WatchOptions, where: string, monitor: Monitor): Watch {
  if (o.monitor !== undefined) oneOf(o.monitor, MONITORS, `${where}.monitor`);
  if (o.mode !== undefined) oneOf(o.mode, MONITOR_MODES, `${where}.mode`);
  if (o.minDelta !== undefined) nonNegativeNumber(o.minDelta, `${where}.minDelta`);
  const m = o.monitor ?? monitor;
  return { monitor: m, mode: o.mode ?? (m === 'loss' ? 'min' : 'max'), minDelta: o.minDelta ?? 0 };
}

/** A fresh loop state at the start of `epoch`. */
export function initialLoopState(epoch = 0): LoopState {
  return {
    epoch, batch: 0, meter: { sum: 0, count: 0, correct: 0, steps: 0 }, best: null,
    earlyStopping: { best: null, stale: 0 }, plateau: { best: null, stale: 0, scale: 1 },
  };
}

/** A loop state given to resume: every field checked, named as `resume.loop.<field>`. */
function checkLoopState(s: LoopState, where: string): LoopState {
  objectOption(s, where, 'a loop state { epoch, batch, meter, best, earlyStopping, plateau } (FitResult.loop or FitCheckpoint.loop)');
  nonNegativeInt(s.epoch, `${where}.epoch`);
  nonNegativeInt(s.batch, `${where}.batch`);
  objectOption(s.meter, `${where}.meter`);
  for (const k of ['sum', 'count', 'correct'] as const) if (typeof s.meter[k] !== 'number') badOption(`${where}.meter.${k}`, 'a number', s.meter[k]);
  nonNegativeInt(s.meter.steps, `${where}.meter.steps`);
  if (s.best !== null) {
    objectOption(s.best, `${where}.best`, 'null or { epoch, step, loss }');
    nonNegativeInt(s.best.epoch, `${where}.best.epoch`);
    nonNegativeInt(s.best.step, `${where}.best.step`);
    if (typeof s.best.loss !== 'number') badOption(`${where}.best.loss`, 'a number', s.best.loss);
  }
  for (const k of ['earlyStopping', 'plateau'] as const) {
    objectOption(s[k], `${where}.${k}`);
    if (s[k].best !== null && !Number.isFinite(s[k].best)) badOption(`${where}.${k}.best`, 'a finite number or null', s[k].best);
    nonNegativeInt(s[k].stale, `${where}.${k}.stale`);
  }
  positiveNumber(s.plateau.scale, `${where}.plateau.scale`);
  return {
    epoch: s.epoch, batch: s.batch, meter: { ...s.meter }, best: s.best && { ...s.best },
    earlyStopping: { ...s.earlyStopping }, plateau: { ...s.plateau },
  };
}

/**
 * Checks fit's options (the one validator of LocalTrainer.fit, Trainer.fit and RemoteTrainer.fit):
 * an OptionError naming the option, a misspelt key with the closest valid one. `extraKeys`: keys a
 * wrapper adds (RemoteTrainer's onWarning).
 */
export function resolveFitOptions<S extends TrainStepResult>(o: FitOptions<S>, extraKeys: readonly string[] = []): ResolvedFitOptions<S> {
  objectOption(o, 'fit options', 'an object { epochs, ... }');
  knownKeys(o, [...FIT_KEYS, ...extraKeys], '', 'fit');
  if (o.epochs !== undefined || o.steps === undefined) positiveInt(o.epochs, 'epochs');
  if (o.steps !== undefined) nonNegativeInt(o.steps, 'steps');
  if (o.startEpoch !== undefined) nonNegativeInt(o.startEpoch, 'startEpoch');
  if (o.validateEvery !== undefined) positiveInt(o.validateEvery, 'validateEvery');
  if (o.evalBatchSize !== undefined) positiveInt(o.evalBatchSize, 'evalBatchSize');
  if (o.validationOutputs !== undefined) booleanOption(o.validationOutputs, 'validationOutputs');
  if (o.signal !== undefined && (o.signal === null || typeof o.signal.throwIfAborted !== 'function')) badOption('signal', 'an AbortSignal', o.signal);
  for (const k of FIT_CALLBACK_KEYS) if (o[k] !== undefined) functionOption(o[k], k);
  const monitor = o.monitor ?? 'loss';
  oneOf(monitor, MONITORS, 'monitor');
  const watch: ResolvedFitOptions['watch'] = { best: { monitor, mode: monitor === 'loss' ? 'min' : 'max', minDelta: 0 } };
  const needs = (what: string) => {
    if (o.validation === undefined) throw new OptionError(`${what} watches validations: give validation data (validation)`, what);
  };
  if (o.validationOutputs && o.validation === undefined) {
    throw new OptionError('validationOutputs gives the outputs of validations: give validation data (validation)', 'validationOutputs');
  }
  if (o.earlyStopping !== undefined) {
    const e = o.earlyStopping;
    objectOption(e, 'earlyStopping', 'an object { patience, monitor?, mode?, minDelta? }');
    knownKeys(e, EARLY_KEYS, 'earlyStopping', 'early stopping');
    positiveInt(e.patience, 'earlyStopping.patience');
    needs('earlyStopping');
    watch.early = { ...resolveWatch(e, 'earlyStopping', monitor), patience: e.patience };
  }
  if (o.reduceOnPlateau !== undefined) {
    const p = o.reduceOnPlateau;
    objectOption(p, 'reduceOnPlateau', 'an object { factor?, patience?, minLr?, monitor?, mode?, minDelta? }');
    knownKeys(p, PLATEAU_KEYS, 'reduceOnPlateau', 'reduce-on-plateau');
    const factor = p.factor ?? 0.1;
    if (typeof factor !== 'number' || !(factor > 0 && factor < 1)) badOption('reduceOnPlateau.factor', 'a number in (0, 1)', factor);
    const patience = p.patience ?? 10;
    nonNegativeInt(patience, 'reduceOnPlateau.patience');
    const minLr = p.minLr ?? 0;
    nonNegativeNumber(minLr, 'reduceOnPlateau.minLr');
    needs('reduceOnPlateau');
    watch.plateau = { ...resolveWatch(p, 'reduceOnPlateau', monitor), patience, factor, minLr };
  }
  if (o.checkpoint !== undefined) {
    const c = o.checkpoint;
    objectOption(c, 'checkpoint', 'an object { save, every?, best? }');
    knownKeys(c, CHECKPOINT_KEYS, 'checkpoint', 'checkpointing');
    functionOption(c.save, 'checkpoint.save');
    if (c.every !== undefined) positiveInt(c.every, 'checkpoint.every');
    if (c.best !== undefined && typeof c.best !== 'boolean') badOption('checkpoint.best', 'a boolean', c.best);
    if (c.best) needs('checkpoint.best');
    if (c.every === undefined && !c.best) throw new OptionError('checkpoint saves nothing: give checkpoint.every (steps) or checkpoint.best: true', 'checkpoint');
  }
  let start = initialLoopState(o.startEpoch ?? 0);
  if (o.resume !== undefined) {
    objectOption(o.resume, 'resume', 'an object { loop, state? } (a FitCheckpoint)');
    knownKeys(o.resume, [...RESUME_KEYS, 'reason'], 'resume', 'a resume');
    if (o.startEpoch !== undefined) throw new OptionError('startEpoch and resume both say where to start: give one', 'startEpoch');
    start = checkLoopState(o.resume.loop, 'resume.loop');
  }
  return { ...o, epochs: o.epochs ?? Infinity, steps: o.steps ?? Infinity, monitor, start, watch };
}

/** What the generator asks its driver for. */
type Op<S> =
  | { op: 'step'; rows: Int32Array; reset: boolean; epoch: number; then: (r: S) => void }
  | { op: 'evaluate'; then: (r: EvalResult) => void }
  | { op: 'call'; what: string; fn: () => unknown };

function valueOf(v: { loss: number; accuracy?: number }, m: Monitor): number {
  return m === 'loss' ? v.loss : (v.accuracy ?? NaN);
}

/** Whether `value` improves on `best` (a value that is not finite never does). */
function improves(value: number, best: number | null, w: Watch): boolean {
  if (!Number.isFinite(value)) return false;
  if (best === null) return true;
  return w.mode === 'min' ? value < best - w.minDelta : value > best + w.minDelta;
}

/** An evaluation's scores without the head's outputs (what is kept of it beyond the callbacks). */
export function withoutOutputs({ outputs: _o, shape: _s, ...scores }: EvalResult): EvalResult {
  return scores;
}

function copyState(s: LoopState): LoopState {
  return { ...s, meter: { ...s.meter }, best: s.best && { ...s.best }, earlyStopping: { ...s.earlyStopping }, plateau: { ...s.plateau } };
}

/** Steps a fit of `d` would run at most from `o.start` (for the schedule's check): the rest of the epochs, capped by `o.steps`. */
export function fitSteps(d: SequenceDataset, cfg: BatchOrder, o: Pick<ResolvedFitOptions, 'epochs' | 'start' | 'steps'>): number {
  return Math.max(0, Math.min(o.steps, (o.epochs - o.start.epoch) * epochBatchCount(d, cfg) - o.start.batch));
}

function* fitLoop<S extends TrainStepResult>(t: LoopTarget<S>, data: SequenceDataset, o: ResolvedFitOptions<S>): Generator<Op<S>, FitResult, void> {
  const t0 = performance.now();
  const s = copyState(o.start);
  const w = o.watch;
  const accuracy = targetHasAccuracy(data.targetKind);
  if (o.validation && !targetHasAccuracy(o.validation.targetKind)) {
    for (const [name, watch] of [['monitor', w.best], ['earlyStopping.monitor', w.early], ['reduceOnPlateau.monitor', w.plateau]] as const) {
      if (watch?.monitor === 'accuracy') {
        throw new OptionError(`${name} is 'accuracy', but the validation data's targets are '${o.validation.targetKind}' values, which have no accuracy: monitor 'loss'`, name);
      }
    }
  }
  const baseLr = t.optimizer.options.lr;
  t.lrScale = s.plateau.scale;
  const epochs: EpochEvent[] = [];
  let steps = 0;
  let lastLoss = NaN;
  let te = performance.now();
  let batches: Int32Array[] = [];
  let batchesOf = -1;
  const abort = () => o.signal?.throwIfAborted();
  const call = (what: string, fn: (() => unknown) | undefined): Op<S>[] => (fn ? [{ op: 'call', what, fn }] : []);
  const save = (reason: FitCheckpoint['reason']): Op<S>[] =>
    call('checkpoint.save', o.checkpoint && (() => o.checkpoint!.save({ reason, state: t.getState(), loop: copyState(s) })));

  /** Evaluates, updates the watchers; the validation's callbacks and checkpoint follow. */
  function* validate(epoch: number): Generator<Op<S>, { v: EvalResult; best: boolean }, void> {
    let v!: EvalResult;
    yield { op: 'evaluate', then: (r) => { v = r; } };
    const best = improves(valueOf(v, w.best.monitor), s.best && valueOf(s.best, w.best.monitor), w.best);
    if (best) s.best = { epoch, step: t.step, loss: v.loss, ...(v.accuracy !== undefined ? { accuracy: v.accuracy } : {}) };
    // Counted without early stopping too, so a run resumed with it counts from where it was.
    const ew = w.early ?? w.best;
    const x = valueOf(v, ew.monitor);
    if (improves(x, s.earlyStopping.best, ew)) s.earlyStopping = { best: x, stale: 0 };
    else s.earlyStopping.stale++;
    if (w.plateau) {
      const p = w.plateau;
      const x = valueOf(v, p.monitor);
      if (improves(x, s.plateau.best, p)) {
        s.plateau.best = x;
        s.plateau.stale = 0;
      } else if (++s.plateau.stale > p.patience) {
        // PyTorch: the rate drops by `factor`, never below minLr; the count starts again either way.
        s.plateau.scale = Math.max(s.plateau.scale * p.factor, p.minLr / baseLr);
        s.plateau.stale = 0;
        t.lrScale = s.plateau.scale;
      }
    }
    yield* call('onValidation', o.onValidation && (() => o.onValidation!({ epoch, step: t.step, validation: v, best, lrScale: s.plateau.scale }, copyState(s))));
    if (best && o.checkpoint?.best) yield* save('best');
    return { v, best };
  }

  function* epochEnd(): Generator<Op<S>, void, void> {
    const m = s.meter;
    lastLoss = m.count ? m.sum / m.count : NaN;
    const ev: EpochEvent = {
      epoch: s.epoch, loss: lastLoss, ...(accuracy && m.count ? { accuracy: m.correct / m.count } : {}), steps: m.steps, timeMs: 0,
    };
    s.epoch++;
    s.batch = 0;
    s.meter = { sum: 0, count: 0, correct: 0, steps: 0 };
    if (o.validation && o.validateEvery === undefined) {
      const r = yield* validate(ev.epoch);
      ev.validation = r.v;
      ev.best = r.best;
    }
    ev.timeMs = performance.now() - te;
    te = performance.now();
    // The outputs go to the callbacks only: a long run would otherwise hold one copy per epoch.
    epochs.push(ev.validation?.outputs ? { ...ev, validation: withoutOutputs(ev.validation) } : ev);
    yield* call('onEpoch', o.onEpoch && (() => o.onEpoch!(ev, copyState(s))));
  }

  const earlyStop = () => w.early !== undefined && s.earlyStopping.stale >= w.early.patience;
  let stop: FitResult['stop'];
  abort();
  for (;;) {
    if (s.epoch >= o.epochs) { stop = 'epochs'; break; }
    if (earlyStop()) { stop = 'early-stopping'; break; }
    if (batchesOf !== s.epoch) {
      batches = trainBatches(data, t.config, s.epoch);
      batchesOf = s.epoch;
      if (s.batch > batches.length) throw new OptionError(`resume.loop.batch is ${s.batch}, but epoch ${s.epoch} has ${batches.length} batches: the checkpoint is of other data or another batch size`, 'resume.loop.batch');
    }
    if (s.batch === batches.length) {
      // An epoch whose steps are done but whose end is not (a checkpoint taken at its last step).
      yield* epochEnd();
      abort();
      continue;
    }
    if (steps >= o.steps) { stop = 'steps'; break; }
    abort();
    const i = s.batch;
    const rows = batches[i]!;
    let r!: S;
    yield { op: 'step', rows, reset: i === 0, epoch: s.epoch, then: (x) => { r = x; } };
    steps++;
    const m = s.meter;
    m.steps++;
    if (!r.skipped) { m.sum += r.loss * r.count; m.count += r.count; m.correct += r.correct; }
    s.batch = i + 1;
    lastLoss = m.count ? m.sum / m.count : NaN;
    const epoch = s.epoch;
    yield* call('onStep', o.onStep && (() => o.onStep!(r, { epoch, batch: i, rows, loop: copyState(s) })));
    abort();
    if (o.validation && o.validateEvery !== undefined && t.step % o.validateEvery === 0) yield* validate(epoch);
    if (s.batch === batches.length) yield* epochEnd();
    if (o.checkpoint?.every !== undefined && t.step % o.checkpoint.every === 0) yield* save('every');
    abort();
  }
  // A cut at an epoch's first batch ran nothing of it: the last loss is the previous epoch's.
  return { loss: lastLoss, epochs, steps, step: t.step, stop, best: s.best && { ...s.best }, loop: copyState(s), timeMs: performance.now() - t0 };
}

function isPromise(v: unknown): v is Promise<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs the loop on a target that answers at once (LocalTrainer). A callback or a checkpoint's
 * save that returns a promise is refused: nothing would wait for it.
 */
export function runLoopSync<S extends TrainStepResult>(t: LoopTarget<S>, data: SequenceDataset, o: ResolvedFitOptions<S>): FitResult {
  if (o.resume?.state) t.setState(o.resume.state);
  const g = fitLoop(t, data, o);
  const sync = <T>(v: T | Promise<T>, what: string): T => {
    if (isPromise(v)) {
      (v as Promise<unknown>).catch(() => {});
      throw new TypeError(`${what} returned a Promise, but LocalTrainer.fit runs synchronously and would not wait for it: ` +
        'do the work synchronously (e.g. TrainedModel.saveSync), or train with the Trainer of @weft/workers, whose fit awaits it');
    }
    return v as T;
  };
  for (let n = g.next(); ; ) {
    if (n.done) return n.value;
    const op = n.value;
    if (op.op === 'step') op.then(sync(t.trainStep(op.rows, op.reset, op.epoch), 'trainStep'));
    else if (op.op === 'evaluate') op.then(sync(t.evaluate(), 'evaluate'));
    else sync(op.fn(), op.what);
    n = g.next();
  }
}

/** Runs the loop on a target that answers with promises (the pool); callbacks may be async and are awaited. */
export async function runLoop<S extends TrainStepResult>(t: LoopTarget<S>, data: SequenceDataset, o: ResolvedFitOptions<S>): Promise<FitResult> {
  if (o.resume?.state) t.setState(o.resume.state);
  const g = fitLoop(t, data, o);
  for (let n = g.next(); ; ) {
    if (n.done) return n.value;
    const op = n.value;
    if (op.op === 'step') op.then(await t.trainStep(op.rows, op.reset, op.epoch));
    else if (op.op === 'evaluate') op.then(await t.evaluate());
    else await op.fn();
    n = g.next();
  }
}
