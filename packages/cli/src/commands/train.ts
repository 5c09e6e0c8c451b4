/**
 * `weft train`: data → model → training on every core → checkpoints, metrics and curves in a
 * run directory. Progress goes to the terminal as a live bar, to pipes as plain lines, and with
 * --json as one JSON object per event, the result last.
 *
 * The run's model (model.weft) ends as the weights of the epoch with the lowest validation loss
 * (best.weft), or of the last state with --keep-last or without validation data; last.weft keeps
 * the last state for --resume (run/checkpoint.ts). Only epoch ends compete for best: a run
 * stopped by --steps partway through an epoch validates its final state and reports it, but that
 * state stays in last.weft. The summary names the best epoch and why training stopped.
 *
 * The run directory is taken before the data is read (run/rundir.ts: one run per directory, a
 * read-only or full file system reported then). A run that replaces another (--force) leaves
 * every file of the old run in place, writing its metrics aside, until it has saved its first
 * checkpoint: a run that fails or is killed before then loses nothing. Ctrl-C, and stdout
 * closed by its reader (`| head -1`), end the run at the next step or after a validation, with
 * last.weft saved to resume from (exit 130 and 141).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  OptionError, batchTokens, checkTrainMemory, isModelSpec, planModel, epochBatchCount, modelLayout, resolveTrainConfig, tempPathFor, writeFileAtomicSync,
  type FitResult, type LoopState, type ResolvedTrainConfig, type TrainConfig,
} from '@weft/core';
import type { KernelChoice } from '@weft/core';
import { Trainer, resolveTrainerOptions } from '@weft/workers';
import { ProgressReporter, readMetrics, renderCurvesHtml, type MetricRecord } from '../report/index.js';
import { labelScores, scoresOf, validate, validationOutputs, validMetrics, type ValidMetrics, type ValidScores } from '../run/metrics.js';
import { checkTieSizes, modelFor, readSpecFile, type SpecFlags } from '../run/spec.js';
import { loadTrainData, resolveTask, type DataFlags, type ModelFlags, type RunData } from '../run/task.js';
import {
  BEST_NAME, CHECKPOINT_NAME, LAST_NAME, encodeRun, loadRun, nonFiniteMessage, resolveResumePath, saveRun, type RunConfig, type RunProgress,
} from '../run/checkpoint.js';
import { EXIT, fileError, InputError, UsageError } from '../run/errors.js';
import { withLimits, type LimitContext } from '../run/limits.js';
import { CURVES_NAME, METRICS_NAME, RunDir, existingRun, trimMetrics } from '../run/rundir.js';
import type { Output } from '../run/output.js';

export interface TrainArgs extends DataFlags, ModelFlags, SpecFlags {
  optimizer: 'sgd' | 'adam' | 'adamw' | 'rmsprop';
  lr: number;
  momentum?: number;
  weightDecay?: number;
  schedule: 'constant' | 'step' | 'cosine' | 'linear';
  warmup: number;
  lrStep?: number;
  lrGamma?: number;
  minLr?: number;
  clipNorm: number;
  clipValue: number;
  batch?: number;
  shardSize?: number;
  epochs?: number;
  steps?: number;
  patience?: number;
  workers?: number;
  out?: string;
  resume?: string;
  force?: boolean;
  /** Leave the last state in model.weft instead of the best epoch's. */
  keepLast?: boolean;
  kernels: KernelChoice;
}

/** Defaults per task that differ from the global ones (the names model must train in minutes). */
export const TASK_EPOCHS: Record<string, number> = { names: 14, classify: 20, multilabel: 20, tag: 20, lm: 10, regress: 30 };

/** Flags whose default depends on the task; a flag given on the command line always wins. */
type TunedFlags = Pick<TrainArgs, 'hidden' | 'lr' | 'schedule' | 'dropout' | 'recurrentDropout' | 'embedding'>;
const COMMON_DEFAULTS: TunedFlags = { hidden: 64, lr: 3e-3, schedule: 'constant', dropout: 0, recurrentDropout: 0, embedding: undefined };
/**
 * The default names model. Chosen on the validation split among a few settings (examples/names):
 * a small embedding, dropout between layers and on the recurrent state, and a cosine schedule
 * gave about 86% against 83-84% for the plain 64-unit model, in under a minute on 2 cores.
 */
export const TASK_DEFAULTS: Record<string, Partial<TunedFlags>> = {
  names: { hidden: 96, lr: 6e-3, schedule: 'cosine', dropout: 0.3, recurrentDropout: 0.2, embedding: 16 },
};

function withTaskDefaults(a: TrainArgs, task: string): TrainArgs {
  const out = { ...a } as TrainArgs & Record<string, unknown>;
  const d = { ...COMMON_DEFAULTS, ...TASK_DEFAULTS[task] } as Record<string, unknown>;
  for (const [k, v] of Object.entries(d)) if (out[k] === undefined) out[k] = v;
  return out;
}

function optimizerSpec(a: TrainArgs): TrainConfig['optimizer'] {
  const base = { lr: a.lr, ...(a.weightDecay !== undefined ? { weightDecay: a.weightDecay } : {}) };
  if (a.optimizer === 'sgd' || a.optimizer === 'rmsprop') {
    return { name: a.optimizer, ...base, ...(a.momentum !== undefined ? { momentum: a.momentum } : {}) } as TrainConfig['optimizer'];
  }
  return { name: a.optimizer, ...base } as TrainConfig['optimizer'];
}

interface Plan {
  config: RunConfig;
  data: RunData;
  resume?: ReturnType<typeof loadRun>;
}

/**
 * Training data must be a regular file: the checkpoint keeps its SHA-256 and --resume reads it
 * again to check it is unchanged, which a pipe cannot give (a FIFO read a second time waits for
 * a writer forever). Checked with stat, which does not open the file, so a FIFO without a writer
 * does not block either. A missing file or a directory is left to the loader's message.
 */
function checkRegularFile(file: string, what: string): void {
  let st;
  try {
    st = statSync(file);
  } catch {
    return;
  }
  if (st.isFile() || st.isDirectory()) return;
  const kind = st.isFIFO() ? 'a FIFO (named pipe)' : st.isCharacterDevice() ? 'a character device' : st.isSocket() ? 'a socket' : 'not a regular file';
  throw new InputError(`${what} ${file} is ${kind}, not a regular file: weft train reads its data again to check that it is unchanged ` +
    '(the checkpoint keeps its SHA-256 for --resume), which a pipe cannot give. Save the data to a file first, e.g. `... > data.jsonl`');
}

/** SHA-256 of a data file's bytes, so a resumed run can tell whether its data changed. */
function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function dataFingerprint(f: DataFlags): RunConfig['data']['sha256'] {
  const out: Record<string, string> = {};
  if (f.data) out.data = fileSha256(f.data);
  if (f.valid) out.valid = fileSha256(f.valid);
  return out;
}

/** Continuing a run: the flags that may come with --resume were checked in run/flags.ts. */
function planResume(a: TrainArgs, run: RunDir): Plan {
  const resume = loadRun(resolveResumePath(a.resume!));
  const existing = path.resolve(run.dir) !== path.resolve(path.dirname(resume.file)) ? existingRun(run.dir) : undefined;
  if (existing && !a.force) throw new InputError(`${existing} already exists: choose another --out, or replace it with --force`);
  const c = resume.config;
  const flags = c.data.flags;
  for (const [k, sha] of Object.entries(c.data.sha256 ?? {})) {
    const file = (flags as unknown as Record<string, string>)[k]!;
    checkRegularFile(file, `${resume.file}: its ${k === 'data' ? 'training' : 'validation'} data`);
    if (!existsSync(file) || fileSha256(file) !== sha) {
      throw new InputError(`${resume.file}: its ${k === 'data' ? 'training' : 'validation'} data ${file} is missing or has changed since the checkpoint was written; resuming would not continue the same run`);
    }
  }
  const data = loadTrainData(flags);
  if (JSON.stringify(data.meta) !== JSON.stringify(c.meta)) {
    throw new InputError(`${resume.file}: the training data (${c.data.file ?? 'names'}) has changed since this checkpoint was written; resuming would not continue the same run`);
  }
  checkRunLimits(c.train, data, a.workers, {
    train: c.train, checkpoint: resume.file, data: { meta: data.meta, ...(c.data.file ? { file: c.data.file } : {}), ...(data.longest ? { longest: data.longest } : {}) },
  });
  const diverged = nonFiniteMessage(resume);
  if (diverged !== undefined) throw new InputError(diverged);
  if (!resume.optimizer) {
    throw new InputError(`${resume.file}: holds no optimizer state, so training cannot go on from it (a model saved to predict, not to resume); start a new run`);
  }
  const config: RunConfig = { ...c, epochs: a.epochs ?? c.epochs, steps: a.steps ?? c.steps, patience: a.patience ?? c.patience };
  // A cosine or linear schedule is laid over the run's length: a longer run would go on at its final rate.
  const sched = c.train.schedule;
  if (sched && (sched.kind === 'cosine' || sched.kind === 'linear')) {
    const stepsPerEpoch = epochBatchCount(data.train, c.train);
    const total = Math.min(config.steps ?? Infinity, (config.epochs ?? Infinity) * stepsPerEpoch);
    if (total !== sched.totalSteps) {
      throw new UsageError(`this run's ${sched.kind} learning-rate schedule spans ${sched.totalSteps} steps; --epochs/--steps would make the run ${Number.isFinite(total) ? total : 'unbounded'} steps long. Resume with the run's length, or start a new run`);
    }
  }
  return { config, data, resume };
}

function plan(a: TrainArgs, run: RunDir): Plan {
  if (a.resume !== undefined) return planResume(a, run);
  const existing = a.out !== undefined ? existingRun(run.dir) : undefined;
  if (existing && !a.force) {
    throw new InputError(`${existing} already exists: continue that run with --resume ${run.dir}, choose another --out, or replace it with --force`);
  }
  // The task's defaults first, so flags that clash with them are refused before the data is read.
  a = withTaskDefaults(a, resolveTask(a));
  if (a.minLr !== undefined && a.minLr > a.lr) {
    throw new OptionError(`--min-lr must not be above the learning rate (--lr ${a.lr}), got ${a.minLr}`, '--min-lr');
  }
  const optimizer = optimizerSpec(a);
  const data = loadTrainData(a);
  const lm = data.task === 'lm';
  const batchSize = lm ? data.lm!.train.streams : (a.batch ?? 32);
  const epochs = a.epochs ?? (a.steps !== undefined ? Infinity : TASK_EPOCHS[data.task]!);
  const stepsPerEpoch = lm ? Math.floor(data.train.count / batchSize) : Math.ceil(data.train.count / batchSize);
  const totalSteps = Math.min(a.steps ?? Infinity, epochs * stepsPerEpoch);
  const trainCfg: TrainConfig = {
    model: modelFor(data.meta, a, data.train),
    optimizer,
    schedule: scheduleSpec(a, stepsPerEpoch, totalSteps),
    batchSize,
    shardSize: a.shardSize,
    clipNorm: a.clipNorm,
    clipValue: a.clipValue,
    seed: a.seed,
    carryState: lm,
  };
  const limits: LimitContext = {
    data: { meta: data.meta, ...(a.data ? { file: a.data } : {}), ...(data.longest ? { longest: data.longest } : {}) }, flags: { maxLen: true, batch: true },
    ...(a.modelSpec !== undefined ? { specFile: a.modelSpec } : {}), model: trainCfg.model,
  };
  const train: ResolvedTrainConfig = withLimits(limits, () => resolveTrainConfig(trainCfg));
  checkRunLimits(train, data, a.workers, { ...limits, train });
  const config: RunConfig = {
    kind: 'weft-run', task: data.task, meta: data.meta, train, epochs, steps: a.steps ?? null, patience: a.patience ?? null,
    data: { file: a.data ?? null, valid: a.valid ?? null, flags: dataFlags(a), sha256: dataFingerprint(a) },
  };
  return { config, data };
}

/**
 * The run must fit before anything is built: at most a worker per shard, and the memory of the
 * config, the workers and the longest sequence within the limit (@weft/core's limits, said in
 * flags, data lines or checkpoint fields by run/limits.ts).
 */
function checkRunLimits(train: ResolvedTrainConfig, data: RunData, workers: number | undefined, ctx: LimitContext): void {
  withLimits(ctx, () => {
    const w = resolveTrainerOptions({ ...train, workers }).workers;
    const steps = Math.max(data.train.maxSteps, data.valid?.maxSteps ?? 0);
    checkTrainMemory(train, { workers: w, steps, ...(data.valid ? { evalBatch: train.batchSize } : {}) });
  });
}

function dataFlags(a: TrainArgs): DataFlags {
  const keys: (keyof DataFlags)[] = ['task', 'data', 'valid', 'validFraction', 'seed', 'textColumn', 'labelColumn', 'maxLen', 'lowercase', 'seqLen', 'window', 'horizon', 'inputs', 'targets', 'perStep', 'batch', 'delimiter'];
  const f: Record<string, unknown> = {};
  for (const k of keys) if (a[k] !== undefined) f[k] = a[k];
  // Absolute, so --resume finds the files from any working directory.
  for (const k of ['data', 'valid'] as const) if (typeof f[k] === 'string') f[k] = path.resolve(f[k] as string);
  return f as unknown as DataFlags;
}

/**
 * The learning-rate schedule of the flags. 'step' decays by --lr-gamma every --lr-step steps
 * (default: every epoch); 'cosine' and 'linear' run down to --min-lr over the whole run.
 */
function scheduleSpec(a: TrainArgs, stepsPerEpoch: number, totalSteps: number): TrainConfig['schedule'] {
  const warmupSteps = a.warmup || undefined;
  switch (a.schedule) {
    case 'constant':
      return warmupSteps ? { kind: 'linear-warmup', warmupSteps } : undefined;
    case 'step':
      return { kind: 'step', warmupSteps, stepSize: a.lrStep ?? stepsPerEpoch, gamma: a.lrGamma };
    case 'cosine':
    case 'linear':
      // The length is known: --epochs has a default per task, and without one --steps is given.
      if (warmupSteps !== undefined && warmupSteps >= totalSteps) {
        throw new OptionError(`--warmup ${warmupSteps} must be shorter than the run (${totalSteps} steps) for --schedule ${a.schedule}`, '--warmup');
      }
      return { kind: a.schedule, warmupSteps, totalSteps, minLr: a.minLr };
  }
}

/** Copies a checkpoint file; atomic, so an interrupted copy never leaves half a model. */
function copyCheckpoint(from: string, to: string): void {
  try {
    writeFileAtomicSync(to, readFileSync(from));
  } catch (e) {
    throw fileError(to, e, `copy ${path.basename(from)} to it`);
  }
}

/**
 * The run directory: --out, the directory of the run --resume continues, or a new runs/<task>.
 * Taken (made, locked, cleaned of a killed run's temporary files) before any data is read.
 */
function openRunDir(a: TrainArgs, out: Output): RunDir {
  const notice = (line: string) => out.warn(line);
  if (a.resume !== undefined) {
    const dir = a.out ?? path.dirname(resolveResumePath(a.resume));
    return RunDir.open(dir, a.out !== undefined ? '--out' : '--resume', notice);
  }
  if (a.out !== undefined) return RunDir.open(a.out, '--out', notice);
  return RunDir.openFresh(path.join('runs', resolveTask(a)), notice);
}

export async function trainCommand(a: TrainArgs, out: Output): Promise<number> {
  // The spec file and the tied sizes are checked before the run directory is taken or any data read.
  if (a.modelSpec !== undefined) a = { ...a, modelSpecData: readSpecFile(a.modelSpec) };
  if (a.tieWeights && a.resume === undefined) {
    const d = withTaskDefaults(a, resolveTask(a));
    checkTieSizes(d.embedding, d.hidden);
  }
  if (a.data !== undefined) checkRegularFile(a.data, '--data');
  if (a.valid !== undefined) checkRegularFile(a.valid, '--valid');
  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(EXIT.interrupted); // a second Ctrl-C does not wait (the lock goes on exit)
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  try {
    const run = openRunDir(a, out);
    try {
      return await trainIn(run, a, out, () => interrupted);
    } finally {
      run.release();
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** The run in its (locked) directory; `interrupted` says whether Ctrl-C was pressed. */
async function trainIn(run: RunDir, a: TrainArgs, out: Output, interrupted: () => boolean): Promise<number> {
  const p = plan(a, run);
  const { config, data } = p;
  const cfg = config.train;
  if (!data.valid && config.patience !== null) throw new UsageError('--patience needs validation data (--valid FILE or --valid-fraction above 0)');
  const modelFile = run.file(CHECKPOINT_NAME);
  const lastFile = run.file(LAST_NAME);
  const bestFile = run.file(BEST_NAME);
  const metricsFile = run.file(METRICS_NAME);
  const curvesFile = run.file(CURVES_NAME);
  const layout = modelLayout(cfg.model);
  const resumedHere = p.resume !== undefined && path.resolve(path.dirname(p.resume.file)) === path.resolve(run.dir);

  out.info(`weft train: ${data.summary}`);
  if (data.ambiguous) out.info(`  ${data.ambiguous.length} names are on both lists and kept with both labels (ambiguous), e.g. ${data.ambiguous.slice(0, 5).join(', ')}`);
  if (data.valid) out.info(`  validation: ${data.valid.count} sequences`);

  // The trainer checks its options (--workers ...) before anything is written.
  const trainer = new Trainer({ ...cfg, workers: a.workers, kernels: a.kernels });
  // A resumed run goes on from its checkpoint's step: metrics of later steps (a run killed or
  // failed after its last checkpoint) would appear twice.
  if (resumedHere) trimMetrics(metricsFile, p.resume!.step);
  // A run that replaces another (--force, or leftovers of a run killed before its first
  // checkpoint) keeps the old files until its own first checkpoint: its metrics go aside.
  let replacing = !resumedHere && run.runFiles().length > 0;
  let metricsOut = replacing ? tempPathFor(metricsFile) : metricsFile;
  // A run resumed into another directory takes its best epoch's checkpoint along (at its first save).
  const fromBest = p.resume && !resumedHere ? path.join(path.dirname(p.resume.file), BEST_NAME) : undefined;
  let saved = false;
  try {
    let progress: RunProgress = { epoch: 0, batch: 0, bestValidLoss: null, staleEpochs: 0, seconds: 0 };
    if (p.resume) {
      await trainer.setState({ step: p.resume.step, params: p.resume.params, optimizer: p.resume.optimizer!, carry: p.resume.progress.carry });
      progress = { ...p.resume.progress };
      out.info(`  resuming ${p.resume.file} at step ${p.resume.step} (epoch ${progress.epoch + 1}, batch ${progress.batch + 1})`);
    }
    await trainer.start();
    const t0 = performance.now();
    const state = () => ({
      config, step: trainer.step, params: trainer.getParams(), optimizer: trainer.getOptimizerState(),
      progress: { ...progress, seconds: progress.seconds + (performance.now() - t0) / 1000, carry: cfg.carryState ? trainer.getCarry() : undefined },
    });
    // Room for the checkpoints, known now that the model is: refused before training, not at the first save.
    run.checkSpace(encodeRun(state()).byteLength, a.out === undefined && a.resume !== undefined ? '--resume' : '--out');
    out.info(`  model: ${describeModel(cfg)}, ${layout.size.toLocaleString('en-US')} parameters; ${trainer.workers} workers, ${trainer.kernels} kernels; saving to ${run.dir}`);
    out.event('start', { task: data.task, parameters: layout.size, workers: trainer.workers, kernels: trainer.kernels, out: run.dir, step: p.resume?.step ?? 0 });

    const stepsPerEpoch = epochBatchCount(data.train, cfg);
    const maxSteps = config.steps ?? Infinity;
    const reporter = out.progress ? new ProgressReporter({
      out: out.terminal, epochs: Number.isFinite(config.epochs) ? config.epochs! : Math.ceil(maxSteps / stepsPerEpoch), stepsPerEpoch, totalSteps: maxSteps,
    }) : null;
    const hasAccuracy = data.task !== 'regress' && data.task !== 'lm';
    const appendMetric = (rec: MetricRecord) => {
      try {
        appendFileSync(metricsOut, JSON.stringify(rec) + '\n');
      } catch (e) {
        throw fileError(metricsFile, e, 'append to the metrics');
      }
    };
    /** Saves last.weft. The first save of a run that replaces another removes what is left of the old one. */
    const checkpoint = () => {
      saveRun(lastFile, state());
      if (saved) return;
      saved = true;
      if (replacing) {
        for (const f of [bestFile, curvesFile]) rmSync(f, { force: true });
        try {
          if (existsSync(metricsOut)) renameSync(metricsOut, metricsFile);
          else rmSync(metricsFile, { force: true });
        } catch (e) {
          throw fileError(metricsFile, e, 'replace the metrics');
        }
        metricsOut = metricsFile;
        replacing = false;
      }
      if (fromBest && existsSync(fromBest)) copyCheckpoint(fromBest, bestFile);
    };
    // model.weft: the best epoch's weights, or the last ones (--keep-last, no validation, no epoch validated yet).
    const holdsBest = () => !a.keepLast && progress.bestValidLoss !== null && existsSync(bestFile);
    const publish = () => copyCheckpoint(holdsBest() ? bestFile : lastFile, modelFile);
    /** Why the run must stop now, if it must: Ctrl-C, or nobody reads stdout any more. */
    const stopCause = (): 'interrupted' | 'stdout' | undefined => (interrupted() ? 'interrupted' : out.closed ? 'stdout' : undefined);
    /** Ends the run early with a checkpoint to resume from (`justSaved`: the state is in the run directory already). */
    const stopEarly = (cause: 'interrupted' | 'stdout', justSaved: boolean): number => {
      if (!justSaved) {
        checkpoint();
        publish();
        writeCurves(curvesFile, metricsFile);
      }
      reporter?.end();
      const resume = `Resume with: weft train --resume ${run.dir}`;
      if (cause === 'interrupted') {
        out.result({ interrupted: true, step: trainer.step, checkpoint: lastFile }, `weft train: interrupted at step ${trainer.step}; saved ${lastFile}. ${resume}`);
        return EXIT.interrupted;
      }
      process.stderr.write(`weft train: stdout was closed (${out.closed!.code ?? out.closed!.message}) at step ${trainer.step}; stopped and saved ${lastFile}. ${resume}\n`);
      return EXIT.stdoutClosed;
    };
    if (interrupted()) {
      // Ctrl-C while the data was read or the workers started: nothing trained, nothing to save,
      // and a run that --force was to replace stays as it was.
      out.result({ interrupted: true, step: trainer.step, checkpoint: null },
        `weft train: interrupted before the first step; nothing was saved${p.resume ? ` (${p.resume.file} is as it was)` : ''}`);
      return EXIT.interrupted;
    }
    // The training loop is @weft/core's (train/loop.ts, through Trainer.fit); what is here is the
    // run's reporting and files, as its callbacks.
    let lastTrain = NaN;
    let lastValid: ValidMetrics | undefined;
    /** Whether the run directory holds the state as it is now (an epoch's end was just saved). */
    let justSaved = false;
    const stopping = new AbortController();
    const stopNow = () => { if (stopCause()) stopping.abort(STOPPED); };
    if (data.valid && progress.batch === stepsPerEpoch) reporter?.validating(); // an epoch end left pending by the checkpoint
    let fit: FitResult;
    try {
      fit = await trainer.fit(data.train, {
        ...(Number.isFinite(config.epochs) ? { epochs: config.epochs! } : {}),
        ...(Number.isFinite(maxSteps) ? { steps: Math.max(0, maxSteps - trainer.step) } : {}),
        ...(data.valid ? { validation: data.valid, validationOutputs: validationOutputs(data.meta) } : {}),
        ...(config.patience !== null ? { earlyStopping: { patience: config.patience } } : {}),
        resume: { loop: loopStateOf(progress, trainer.step) },
        signal: stopping.signal,
        onStep: (r, info) => {
          justSaved = false;
          progress = progressOf(info.loop, progress);
          const m = info.loop.meter;
          appendMetric({ step: r.step + 1, epoch: info.epoch + 1, split: 'train', loss: r.loss, ...(r.count && hasAccuracy ? { accuracy: r.correct / r.count } : {}) });
          // The bar shows the epoch's running means, as Keras does, not the noisy loss of this batch.
          reporter?.step({ epoch: info.epoch + 1, step: info.batch + 1, loss: m.count ? m.sum / m.count : NaN, ...(hasAccuracy && m.count ? { accuracy: m.correct / m.count } : {}), tokens: batchTokens(data.train, info.rows) });
          out.event('step', { step: r.step + 1, epoch: info.epoch + 1, loss: r.loss, gradNorm: r.gradNorm, lr: r.lr, tokensPerSecond: r.tokensPerSecond, skipped: r.skipped });
          stopNow();
          if (!stopping.signal.aborted && data.valid && info.batch + 1 === stepsPerEpoch) reporter?.validating();
        },
        onEpoch: async (e, loop) => {
          progress = progressOf(loop, progress);
          lastTrain = e.loss;
          const trainAccuracy = hasAccuracy ? e.accuracy : undefined;
          const trainAcc = trainAccuracy !== undefined ? `, train accuracy ${pct(trainAccuracy)}` : '';
          if (e.validation) {
            const v = validMetrics(e.validation, data.valid!, data.meta);
            lastValid = v;
            if (e.best && progress.best) progress.best = { ...progress.best, ...scoresOf(v) };
            appendMetric({ step: trainer.step, epoch: e.epoch + 1, split: 'valid', loss: v.loss, ...(v.accuracy !== undefined ? { accuracy: v.accuracy } : {}) });
            reporter?.epochEnd(`epoch ${e.epoch + 1}: train loss ${fmt(lastTrain)}${trainAcc}, valid loss ${fmt(v.loss)}${v.accuracy !== undefined ? `, valid accuracy ${pct(v.accuracy)}` : ''}${labelScores(v)}${e.best ? ' (best)' : ''}`);
            out.event('epoch', { epoch: e.epoch + 1, step: trainer.step, loss: lastTrain, ...(trainAccuracy !== undefined ? { accuracy: trainAccuracy } : {}), valid: v, best: e.best });
          } else {
            reporter?.epochEnd(`epoch ${e.epoch + 1}: train loss ${fmt(lastTrain)}${trainAcc}`);
            out.event('epoch', { epoch: e.epoch + 1, step: trainer.step, loss: lastTrain, ...(trainAccuracy !== undefined ? { accuracy: trainAccuracy } : {}) });
          }
          checkpoint();
          if (e.best) copyCheckpoint(lastFile, bestFile);
          if (e.best || !holdsBest()) publish();
          writeCurves(curvesFile, metricsFile);
          justSaved = true;
          // Ctrl-C during the validation (the last epoch's too) is honoured once the epoch is saved.
          stopNow();
        },
      });
    } catch (e) {
      const cause = stopCause();
      if (e === STOPPED && cause) return stopEarly(cause, justSaved);
      throw e;
    }
    progress = progressOf(fit.loop, progress);
    const stop = fit.stop;
    const m = fit.loop.meter;
    if (m.count > 0 && fit.steps > 0) {
      // Stopped by --steps inside an epoch: report that partial epoch, and validate the final state
      // (not again in a resumed run that had no step left: its last run did).
      lastTrain = m.sum / m.count;
      if (data.valid) {
        reporter?.validating();
        lastValid = await validate(trainer, data.valid, data.meta);
        appendMetric({ step: trainer.step, epoch: progress.epoch + 1, split: 'valid', loss: lastValid.loss, ...(lastValid.accuracy !== undefined ? { accuracy: lastValid.accuracy } : {}) });
        reporter?.epochEnd(`step ${trainer.step}: valid loss ${fmt(lastValid.loss)}${lastValid.accuracy !== undefined ? `, valid accuracy ${pct(lastValid.accuracy)}` : ''}${labelScores(lastValid)}`);
      }
    }
    checkpoint();
    publish();
    writeCurves(curvesFile, metricsFile);
    // Ctrl-C during the final validation: the run is saved, but it did not end the way it was asked to.
    const cause = stopCause();
    if (cause) return stopEarly(cause, true);
    reporter?.end();
    const seconds = (performance.now() - t0) / 1000;
    const best = progress.bestValidLoss !== null ? progress.best ?? null : null;
    const stopReason = stop === 'early-stopping' ? `stopped early: no better validation loss for ${config.patience} epochs`
      : stop === 'steps' ? `reached --steps ${config.steps}`
      : `finished ${progress.epoch} epoch${progress.epoch === 1 ? '' : 's'}`;
    const lastAt = progress.batch > 0 ? `step ${trainer.step}, partway through epoch ${progress.epoch + 1}` : `epoch ${progress.epoch}`;
    const metrics = lastValid ? { ...scoresOf(lastValid), trainLoss: lastTrain, split: 'valid' }
      : { loss: lastTrain, split: 'train' };
    const result = {
      command: 'train', task: data.task, out: run.dir, checkpoint: modelFile, step: trainer.step, epochs: progress.epoch,
      stop, stopReason, model: holdsBest() ? 'best' : 'last', bestEpoch: best?.epoch ?? null,
      best: best && { ...scoresOf(best), step: best.step },
      files: { model: modelFile, last: lastFile, ...(existsSync(bestFile) ? { best: bestFile } : {}), metrics: metricsFile, curves: curvesFile },
      seconds: Math.round(seconds * 10) / 10, workers: trainer.workers, kernels: trainer.kernels, metrics,
    };
    const validText = (m: ValidScores) => `valid loss ${fmt(m.loss)}${m.accuracy !== undefined ? `, accuracy ${pct(m.accuracy)}` : ''}${labelScores(m)}`;
    const whatModel = holdsBest() ? `${CHECKPOINT_NAME} holds the best epoch's weights (--keep-last keeps the last)`
      : a.keepLast ? `${CHECKPOINT_NAME} holds the last weights (--keep-last)${best ? `; ${BEST_NAME} the best epoch's` : ''}`
      : !data.valid ? `no validation data, so no best epoch: ${CHECKPOINT_NAME} holds the last weights`
      : `no epoch finished, so no best epoch: ${CHECKPOINT_NAME} holds the last weights`;
    out.result(result, [
      `weft train: ${stopReason}${stop === 'steps' ? '' : `, ${trainer.step} steps`} in ${seconds.toFixed(1)} s.`,
      best ? `  best: epoch ${best.epoch}, ${validText(best)}` : undefined,
      `  last: ${[lastAt, Number.isNaN(lastTrain) ? undefined : `train loss ${fmt(lastTrain)}`, lastValid && validText(lastValid)].filter(Boolean).join(', ')}`,
      `  ${whatModel}`,
      `  in ${run.dir}: ${CHECKPOINT_NAME}, ${existsSync(bestFile) ? `${BEST_NAME}, ` : ''}${LAST_NAME} (weft train --resume ${run.dir} goes on from it)${[curvesFile, metricsFile].filter((f) => existsSync(f)).map((f) => `, ${path.basename(f)}`).join('')}`,
    ].filter((l) => l !== undefined).join('\n'));
    return EXIT.ok;
  } finally {
    await trainer.close();
    // A run that failed before its first checkpoint leaves the run it was to replace as it was.
    if (metricsOut !== metricsFile) rmSync(metricsOut, { force: true });
  }
}

/** The abort reason of a run stopped by Ctrl-C or a closed stdout (fit rejects with it). */
const STOPPED = new Error('the run was stopped');

/**
 * The training loop's state of a run's progress (its checkpoint's `extra`). A checkpoint older
 * than the `best` record keeps its best loss; the record's epoch and step are then unknown
 * (-1 is never shown: progressOf leaves `best` out again).
 */
function loopStateOf(p: RunProgress, step: number): LoopState {
  const best = p.best ? { epoch: p.best.epoch - 1, step: p.best.step, loss: p.best.loss, ...(p.best.accuracy !== undefined ? { accuracy: p.best.accuracy } : {}) }
    : p.bestValidLoss !== null ? { epoch: 0, step, loss: p.bestValidLoss, legacy: true } : null;
  return {
    epoch: p.epoch, batch: p.batch, meter: p.meter ?? { sum: 0, count: 0, correct: 0, steps: 0 }, best,
    earlyStopping: { best: p.bestValidLoss, stale: p.staleEpochs },
    plateau: { best: null, stale: 0, scale: 1 },
  };
}

/** A run's progress of the training loop's state (`prev` gives what the loop does not keep: seconds, the carried state). */
function progressOf(l: LoopState, prev: RunProgress): RunProgress {
  const b = l.best;
  const { best: kept, ...rest } = prev;
  // The loop keeps loss and accuracy; a multi-label best's micro-F1 and exact match stay from the record of the same epoch.
  const same = kept && b && kept.epoch === b.epoch + 1 && kept.step === b.step ? kept : {};
  return {
    ...rest, epoch: l.epoch, batch: l.batch, meter: { ...l.meter }, bestValidLoss: b ? b.loss : null, staleEpochs: l.earlyStopping.stale,
    ...(b && !(b as { legacy?: boolean }).legacy ? { best: { ...same, epoch: b.epoch + 1, step: b.step, loss: b.loss, ...(b.accuracy !== undefined ? { accuracy: b.accuracy } : {}) } } : {}),
  };
}

function writeCurves(file: string, metricsFile: string): void {
  const records = existsSync(metricsFile) ? readMetrics(metricsFile) : [];
  // Nothing to draw (a run resumed into a new directory with no step left to train): no page.
  if (!records.some((r) => Number.isFinite(r.loss) || Number.isFinite(r.accuracy ?? NaN))) return;
  try {
    writeFileAtomicSync(file, new TextEncoder().encode(renderCurvesHtml(records, { title: `weft: ${path.basename(path.dirname(file))}` })));
  } catch (e) {
    throw fileError(file, e, 'write the curves');
  }
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(4) : String(x);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

export function describeModel(cfg: ResolvedTrainConfig): string {
  const training = `${cfg.optimizer.name} lr ${cfg.optimizer.lr}, batch ${cfg.batchSize}`;
  if (isModelSpec(cfg.model)) {
    const plan = planModel(cfg.model);
    const layers = plan.spec.layers.map((l) => (l.type === 'pool' ? `pool ${String(l.mode)}` : l.type === 'recurrent' ? String(l.cell).toUpperCase() : l.type));
    return `spec ${layers.join(' → ')} → ${plan.task}, ${plan.spec.loss.kind} loss, ${training}`;
  }
  const m = cfg.model;
  const dirs = m.bidirectional ? 'bidirectional ' : '';
  return `${m.numLayers ?? 1}-layer ${dirs}${m.cell.toUpperCase()} (hidden ${m.hiddenSize}) → ${m.task}, ${training}`;
}
