/**
 * The public face of the pool: `new Trainer(options)`, then fit / trainStep / evaluate /
 * predict, events, checkpoint state, close. Deterministic data parallelism: the global batch
 * is cut into shards by (batch, shardSize), never by the worker count, and every sum has a
 * fixed order (train/step.ts), so 1 worker, 3 workers and LocalTrainer give the same bits.
 *
 * The main thread only orchestrates: it writes the batch's row indices into shared memory,
 * bumps a word of the control block and awaits Atomics.waitAsync; the gradient never exists
 * on the main thread except as the shared arena the workers wrote.
 */
import { EventEmitter } from 'node:events';
import { availableParallelism } from 'node:os';
import {
  NonFiniteError, SequenceModel, StepRunner, addEvalTotals, allocF32In, checkTrainMemory, checkTrainerState, checkedEvaluation, captureTrainerState, optimizerSnapshot, restoreTrainerState, createOptimizer,
  adviseArenaPages, createSchedule, createSharedMemory, TrainedModel, batchTokens, checkScheduleCovers, evalResult, fitSteps, lossScale, positiveNumber, runLoop,
  shardCount, trainArenaLayout, checkInputsFit, predictionShape, KERNEL_NAMES,
  type DataMeta, type ToModelOptions,
  type ArenaLayout, type EvalResult, type ModelPlan, type Optimizer, type OptimizerSnapshot, type ResolvedModelSpec,
  type ResolvedTrainConfig, type SequenceDataset, type SequenceInputs, type WasmMemory,
} from '@weft/core';
import { Ctl, StepResult } from './control.js';
import type { EvalOptions, FitOptions, FitResult, Prediction, PredictOptions, StepEvent, TrainerEvents, TrainerState, WarningEvent } from './events.js';
import { checkEvalOptions, resolveFitOptions, resolveTrainerOptions, type TrainerOptions } from './options.js';
import { StepPool } from './pool.js';
import { shareDataset } from './shared-data.js';

const PAGE = 65536;

/** Zeroed room the workers write head outputs of predictionShape `shape` into (shared memory; copied out after). */
function sharedOutputs(shape: readonly number[]): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * shape.reduce((a, b) => a * b, 1)));
}

export class Trainer extends EventEmitter<TrainerEvents> {
  readonly config: ResolvedTrainConfig;
  readonly optimizer: Optimizer;
  /** Offsets of the regions of the arena (parameters, gradient, optimizer state, slots). */
  readonly layout: ArenaLayout;
  /** The shared memory of the run: the arena, and every worker's scratch. */
  readonly memory: WasmMemory;
  /** The whole training arena [layout.size], shared with the workers (advanced use: tests, inspection). */
  readonly arena: Float32Array;
  /** Worker threads. */
  readonly workers: number;
  private readonly runner: StepRunner;
  private readonly pool: StepPool;
  private readonly lrAt: (step: number) => number;
  private completed = 0;
  /** Optimizer updates applied (completed steps less the skipped ones): the optimizer's step count. */
  private updates = 0;
  private scale = 1;
  private queue: Promise<unknown> = Promise.resolve();
  /** Commands queued or running (exclusive); at 0 the park timer starts. */
  private pending = 0;
  private readonly parkAfterMs: number;
  private parkTimer?: NodeJS.Timeout;
  private inFlight = 0;
  private fitting = false;
  private closed = false;
  private closing?: Promise<void>;
  /** The largest sequence length and evaluation batch whose memory checkMemory found to fit. */
  private checkedMemory = { steps: 0, evalBatch: 0 };
  /** The dataset trainStep last used, kept shared between calls. */
  private stepData?: { source: SequenceDataset; id: number };

  constructor(options: TrainerOptions) {
    super();
    const { config: cfg, ...threads } = resolveTrainerOptions(options);
    this.config = cfg;
    this.workers = threads.workers;
    this.parkAfterMs = threads.parkAfterMs;
    const cores = availableParallelism();
    if (threads.workers > cores) {
      process.emitWarning(
        `workers is ${threads.workers}, more than the ${cores} cores of this machine (os.availableParallelism()): the extra threads ` +
        'only take turns on the same cores, so training is no faster (usually slower); the results are the same with any worker count',
        { type: 'WeftWarning', code: 'WEFT_WORKERS_EXCEED_CORES' },
      );
    }
    this.optimizer = createOptimizer(cfg.optimizer);
    this.lrAt = createSchedule(cfg.schedule ?? { kind: 'constant' }, this.optimizer.options.lr);
    this.layout = trainArenaLayout(cfg, this.optimizer, { undo: true });
    // Room for the arena now; the memory grows as the workers allocate their scratch in it.
    this.memory = createSharedMemory(Math.ceil((4 * this.layout.size) / PAGE) + 16);
    if (threads.kernels === 'auto' || threads.kernels === 'native') adviseArenaPages(this.memory); // before the parameters are written
    this.arena = allocF32In(this.memory, this.layout.size);
    this.runner = new StepRunner(cfg.model, this.arena, this.layout, this.optimizer, cfg);
    // Initialised exactly as a standalone model (and LocalTrainer) would be.
    this.runner.params.set(new SequenceModel(cfg.model).paramBuffer);
    this.pool = new StepPool(cfg, this.layout, this.memory, this.arena.byteOffset, {
      ...threads,
      onWarning: (message) => this.warn('worker-failed', message),
      rollBackUpdate: () => { this.runner.rollBackUpdate(); },
    });
  }

  /** The model's spec, every default filled in (what a checkpoint stores to rebuild it). */
  get spec(): ResolvedModelSpec {
    return this.plan.spec;
  }

  /** What the model is made of: its layers, layout and targets. */
  get plan(): ModelPlan {
    return this.runner.model.plan;
  }

  /** Completed steps (updated or skipped). */
  get step(): number {
    return this.completed;
  }

  /** Named views (PyTorch names) of the shared parameters: no copies, they change as training runs. */
  get parameters(): Map<string, Float32Array> {
    return this.runner.model.parameters;
  }

  /** Which kernels the workers run: 'native', 'wasm-simd' or 'reference'; undefined until the workers started (`await start()`). */
  get kernels(): string | undefined {
    return Atomics.load(this.pool.control.i32, Ctl.READY) > 0
      ? KERNEL_NAMES[Atomics.load(this.pool.control.i32, Ctl.KERNELS)] : undefined;
  }

  /** Starts the worker threads now (otherwise the first command does). */
  async start(): Promise<void> {
    await this.exclusive('start', () => this.pool.ensureLoops());
  }

  /**
   * One step on explicit rows of `data` (a global batch of at most batchSize rows). With
   * carryState, `resetState` starts the streams from zero (the first batch of an epoch), as in
   * LocalTrainer.trainStep.
   */
  async trainStep(data: SequenceDataset, rows: ArrayLike<number>, resetState = false): Promise<StepEvent> {
    this.assertOpen('trainStep');
    if (this.fitting) throw new Error('trainStep: fit is running on this trainer; wait for it to finish');
    // Checked when first seen: the dataset stays shared (as copied then) for the calls after, and
    // checking every value at every step would keep the workers waiting on the main thread.
    if (this.stepData?.source !== data) this.checkData(data, 'dataset');
    this.checkRows(rows, data);
    // The workers size their scratch for the whole dataset's longest sequence (SequenceModel.reserve).
    this.checkMemory(data.maxSteps);
    if (this.config.carryState && rows.length !== this.config.batchSize) {
      throw new RangeError(`with carryState every batch must hold batchSize = ${this.config.batchSize} streams, got ${rows.length}`);
    }
    const id = await this.exclusive('trainStep', async () => {
      if (this.stepData?.source !== data) {
        const old = this.stepData;
        this.stepData = undefined;
        if (old) await this.pool.dropDatasets([old.id]);
        this.stepData = { source: data, id: await this.pool.addDataset(shareDataset(data)) };
      }
      return this.stepData.id;
    });
    return this.runStep(id, data, rows, undefined, resetState);
  }

  /**
   * Trains with @weft/core's training loop (train/loop.ts, the loop of LocalTrainer.fit, so the
   * same options give the same bits): whole epochs of the (seed, epoch) data order, or `steps`
   * steps, with validation, early stopping, reduce-on-plateau, checkpoints and resume as the
   * options say; the 'step', 'epoch' and 'validation' events and the on* callbacks report it.
   * Rejects with the signal's reason when aborted (the model is then as after the last whole step).
   */
  async fit(data: SequenceDataset, opts: FitOptions): Promise<FitResult> {
    this.assertOpen('fit');
    if (this.fitting) throw new Error('fit: this trainer is already fitting; wait for the running fit to finish');
    const o = resolveFitOptions(opts);
    this.checkData(data, 'dataset');
    if (o.validation) this.checkData(o.validation, 'validation');
    this.checkMemory(Math.max(data.maxSteps, o.validation?.maxSteps ?? 0), o.validation ? (o.evalBatchSize ?? this.config.batchSize) : undefined);
    if (o.resume?.state) checkTrainerState(o.resume.state, this);
    const from = o.resume?.state?.step ?? this.completed;
    checkScheduleCovers(this.config, from, fitSteps(data, this.config, o));
    o.signal?.throwIfAborted();
    this.fitting = true;
    const ids: number[] = [];
    try {
      const trainId = await this.exclusive('fit', () => this.pool.addDataset(shareDataset(data)));
      ids.push(trainId);
      const valId = o.validation ? await this.exclusive('fit', () => this.pool.addDataset(shareDataset(o.validation!))) : undefined;
      if (valId !== undefined) ids.push(valId);
      // eslint-disable-next-line @typescript-eslint/no-this-alias -- the target's accessors read this trainer
      const self = this;
      return await runLoop<StepEvent>({
        config: this.config,
        optimizer: this.optimizer,
        get step() { return self.completed; },
        get lrScale() { return self.lrScale; },
        set lrScale(v: number) { self.lrScale = v; },
        trainStep: (rows, reset, epoch) => {
          if (this.closed) throw new Error('fit: the trainer was closed');
          return this.runStep(trainId, data, rows, epoch, reset);
        },
        evaluate: () => this.evaluateShared(valId!, o.validation!, o.evalBatchSize, o.validationOutputs ?? false),
        getState: () => this.getState(),
        setState: (s) => this.applyState(s),
      }, data, {
        ...o,
        onEpoch: (e, loop) => { this.emit('epoch', e); return o.onEpoch?.(e, loop); },
        onValidation: (e, loop) => { this.emit('validation', e); return o.onValidation?.(e, loop); },
      });
    } finally {
      this.fitting = false;
      if (ids.length && !this.closed) await this.exclusive('fit', () => this.pool.dropDatasets(ids)).catch(() => {});
    }
  }

  /**
   * Mean loss (and accuracy) over the whole dataset, in batches, without dropout, and with
   * `outputs: true` the head's outputs of the same pass (predict's bits): LocalTrainer.evaluate's numbers.
   */
  async evaluate(data: SequenceDataset, opts: EvalOptions = {}): Promise<EvalResult> {
    this.assertOpen('evaluate');
    checkEvalOptions(opts, 'evaluate');
    this.checkData(data, 'dataset');
    this.checkMemory(data.maxSteps, opts.batchSize ?? this.config.batchSize);
    const id = await this.exclusive('evaluate', () => this.pool.addDataset(shareDataset(data)));
    try {
      return await this.evaluateShared(id, data, opts.batchSize, opts.outputs ?? false);
    } finally {
      await this.exclusive('evaluate', () => this.pool.dropDatasets([id])).catch(() => {});
    }
  }

  /**
   * The head's outputs for every sequence (logits or values), computed by the workers, of a
   * dataset or of inputs alone (targets are not needed): LocalTrainer.predict's bits.
   */
  async predict(data: SequenceInputs, opts: PredictOptions = {}): Promise<Prediction> {
    this.assertOpen('predict');
    const bs = checkEvalOptions(opts, 'predict').batchSize ?? this.config.batchSize;
    this.checkData(data, 'dataset', false);
    this.checkMemory(data.maxSteps, bs);
    const shape = predictionShape(this.plan, data);
    const out = sharedOutputs(shape);
    const id = await this.exclusive('predict', () => this.pool.addDataset(shareDataset(data)));
    try {
      await this.exclusive('predict', () => this.busy(() => this.pool.evaluate(id, data.count, bs, { loss: false, outputs: out })));
    } finally {
      await this.exclusive('predict', () => this.pool.dropDatasets([id])).catch(() => {});
    }
    return { outputs: out.slice(), shape };
  }

  /**
   * A copy of the training state (parameters, optimizer state, step; the carried states with
   * carryState) for a checkpoint. Call it between steps: in a step or epoch event handler, or
   * when no command runs.
   */
  getState(): TrainerState {
    this.assertIdle('getState');
    return captureTrainerState(this.stateHost, this.completed, this.updates);
  }

  /** A copy of all parameters [paramCount], in the model's layout order. */
  getParams(): Float32Array {
    this.assertIdle('getParams');
    return this.runner.params.slice();
  }

  /** A copy of the optimizer's state (what a checkpoint stores). */
  getOptimizerState(): OptimizerSnapshot {
    this.assertIdle('getOptimizerState');
    return optimizerSnapshot(this.stateHost, this.updates);
  }

  /** With carryState: a copy of the states carried into the next step; otherwise undefined. */
  getCarry(): Float32Array | undefined {
    this.assertIdle('getCarry');
    return this.config.carryState ? this.runner.carriedState(this.completed) : undefined;
  }

  /** Restores a state from getState (or a checkpoint): parameters, optimizer state, step count. */
  setState(s: TrainerState): void {
    this.assertOpen('setState');
    if (this.inFlight || this.fitting) throw new Error('setState: the trainer is busy; call it when no fit or step is running');
    this.applyState(s);
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

  /** What @weft/core's trainer-state functions read and write (the runner stays private). */
  private get stateHost() {
    return { layout: this.layout, optimizer: this.optimizer, config: this.config, runner: this.runner };
  }

  /** Applies a checked state (setState, or fit's resume). */
  private applyState(s: TrainerState): void {
    restoreTrainerState(s, this.stateHost);
    this.completed = s.step;
    this.updates = s.optimizer.step;
  }

  /**
   * The model as trained so far (a copy; call it between steps, like getState): with the data
   * loader's `meta` it can `predict` raw inputs; with `optimizer: true` it keeps the optimizer's
   * state, so that a saved file can resume training.
   */
  toModel<M extends DataMeta | undefined = undefined>(options: ToModelOptions<M> = {}): TrainedModel<M> {
    return new TrainedModel<M>({
      train: this.config, params: this.getParams(), step: this.completed,
      ...(options.meta !== undefined ? { meta: options.meta } : {}),
      ...(options.optimizer ? { optimizer: this.getOptimizerState() } : {}),
    });
  }

  /** `toModel(options).save(path)`: the model file that `loadModel` (@weft/core) and the CLI read. */
  async save(path: string, options: ToModelOptions<DataMeta | undefined> = {}): Promise<void> {
    await this.toModel(options).save(path);
  }

  /** Ends every worker loop (and the pool, if the trainer made it). Safe to call more than once. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      clearTimeout(this.parkTimer);
      this.closing = (async () => {
        await this.queue.catch(() => {});
        await this.pool.close();
      })();
    }
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- internals ----

  /**
   * Commands one at a time: the control block holds one command. Event handlers run inside
   * (after the command finished, before the next may start), so they see a consistent state.
   */
  private exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.pending++;
    clearTimeout(this.parkTimer);
    const run = this.queue.catch(() => {}).then(() => {
      if (this.pool.isClosed) throw new Error(`${what}: the trainer is closed`);
      return fn();
    });
    this.queue = run.catch(() => {});
    void this.queue.then(() => {
      if (--this.pending === 0) this.armPark();
    });
    return run;
  }

  /**
   * Once nothing is queued, parks the worker loops after parkAfterMs (StepPool.park): running
   * loops keep the process alive, parked ones do not, so a program that never calls close()
   * still exits once its training is done. Any command cancels the timer; the next one after a
   * park starts the loops again.
   */
  private armPark(): void {
    if (this.closed || !Number.isFinite(this.parkAfterMs) || !this.pool.running) return;
    this.parkTimer = setTimeout(() => {
      if (this.pending || this.fitting || this.closed) return;
      this.exclusive('park', () => this.pool.park()).catch((e: unknown) => this.warn('worker-failed', `parking the worker loops failed: ${String(e)}`));
    }, this.parkAfterMs);
    this.parkTimer.unref();
  }

  /** A command the workers are running: state read meanwhile could be half updated. */
  private async busy<T>(fn: () => Promise<T>): Promise<T> {
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
    }
  }

  private async runStep(id: number, d: SequenceDataset, rows: ArrayLike<number>, epoch: number | undefined, reset: boolean): Promise<StepEvent> {
    return this.exclusive('step', async () => {
      const K = shardCount(rows.length, this.config.shardSize);
      const scale = lossScale(d, rows, this.plan.loss);
      const step = this.completed;
      const lr = this.lrAt(step) * this.scale;
      const tokens = batchTokens(d, rows);
      const t0 = performance.now();
      const out = await this.busy(() => this.pool.step(id, rows, step, lr, scale, reset, this.updates));
      const stepMs = performance.now() - t0;
      const s = this.runner.stepStats(K); // the numbers every worker decided on
      if (out.result === StepResult.NON_FINITE_ERROR) throw new NonFiniteError(step, s.loss, s.gradNorm);
      const skipped = out.result === StepResult.SKIPPED;
      this.completed++;
      if (!skipped) this.updates++;
      const ev: StepEvent = {
        ...s, step, lr, skipped, tokensPerSecond: (1000 * tokens) / stepMs, stepMs, syncMs: out.syncMs, computeMs: out.computeMs, phases: out.phases,
        ...(epoch !== undefined ? { epoch } : {}),
      };
      if (skipped) {
        this.warn('non-finite', `step ${step}: the loss (${s.loss}) or gradient norm (${s.gradNorm}) is not finite; the step was skipped (nonFinite: 'skip')`);
      }
      this.emit('step', ev);
      return ev;
    });
  }

  /** An evaluation of a shared dataset (with `outputs`, the head's outputs of the same pass too). */
  private async evaluateShared(id: number, d: SequenceDataset, batchSize: number | undefined, outputs: boolean): Promise<EvalResult> {
    const bs = batchSize ?? this.config.batchSize;
    const shape = outputs ? predictionShape(this.plan, d) : undefined;
    const out = shape && sharedOutputs(shape);
    const res = await this.exclusive('evaluate', () => this.busy(() => this.pool.evaluate(id, d.count, bs, { loss: true, ...(out ? { outputs: out } : {}) })));
    // Batches summed in order: the same bits as evaluateModel in one thread.
    const totals = [0, 0, 0, 0];
    for (let b = 0; b < res.length / 4; b++) addEvalTotals(totals, { sum: res[4 * b]!, count: res[4 * b + 1]!, correct: res[4 * b + 2]!, weight: res[4 * b + 3]! });
    const r = checkedEvaluation(evalResult(totals, d), this.config, this.completed);
    return out ? { ...r, outputs: out.slice(), shape: shape! } : r;
  }

  /**
   * The run must fit in its WebAssembly memory with sequences of `steps` steps (and evaluation
   * batches of `evalBatch`): MemoryLimitError otherwise, before a worker allocates anything.
   */
  private checkMemory(steps: number, evalBatch = 0): void {
    // The need only grows with both, so a shape within one already checked fits (no recount per step).
    const c = this.checkedMemory;
    if (steps <= c.steps && evalBatch <= c.evalBatch) return;
    checkTrainMemory(this.config, { workers: this.workers, steps, ...(evalBatch > 0 ? { evalBatch } : {}) });
    if (steps >= c.steps && evalBatch >= c.evalBatch) this.checkedMemory = { steps, evalBatch };
  }

  private warn(kind: WarningEvent['kind'], message: string): void {
    const ev: WarningEvent = { kind, message, step: this.completed };
    if (this.listenerCount('warning') > 0) this.emit('warning', ev);
    else process.emitWarning(message, 'WeftWarning');
  }

  private assertIdle(what: string): void {
    if (this.inFlight) throw new Error(`${what}: a step is running; call it from a step or epoch event handler, or when no command runs`);
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new Error(`${what}: the trainer is closed`);
  }

  /** The dataset's shapes, and that it fits the model (@weft/core's checkInputsFit, LocalTrainer's check). */
  private checkData(d: SequenceInputs, where: string, targets = true): void {
    checkInputsFit(d, this.plan, where, targets);
  }

  private checkRows(rows: ArrayLike<number>, d: SequenceDataset): void {
    const bs = this.config.batchSize;
    if (!rows || typeof rows.length !== 'number' || rows.length < 1 || rows.length > bs) {
      throw new RangeError(`rows must hold 1..batchSize (${bs}) row indices, got ${rows?.length}`);
    }
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (!Number.isInteger(r) || r < 0 || r >= d.count) throw new RangeError(`rows[${i}] = ${r} is not a row of the dataset (0..${d.count - 1})`);
    }
  }
}
