/**
 * A Trainer that runs entirely off the calling thread: RemoteTrainer starts one thread
 * (remote-host.ts) that owns the Trainer and its worker pool, and talks to it through comlink.
 * Every method is an async proxy; fit's progress comes back as events through a callback that
 * comlink proxies (Comlink.proxy), so a server's event loop never runs any training code.
 *
 *   const t = await createRemoteTrainer({ model, workers: 4 });
 *   t.on('step', (e) => ...);
 *   await t.fit(data, { epochs: 3, signal });
 *   await t.close();
 *
 * Datasets and states cross by structured clone (a copy), except arrays already on a
 * SharedArrayBuffer, which are shared.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { OptionError, functionOption, keysOf, type EvalResult, type SequenceDataset, type SequenceInputs } from '@weft/core';
import type {
  EpochEvent, EvalOptions, FitCheckpoint, LoopState, FitOptions, FitResult, Prediction, PredictOptions, StepEvent, StepInfo, TrainerEvents, TrainerState, ValidationEvent, WarningEvent,
} from './events.js';
import { checkEvalOptions, resolveFitOptions, resolveTrainerOptions, type TrainerOptions } from './options.js';
import { builtFile, workerExecArgv } from './paths.js';
import type { HostFitOptions, TrainerHost } from './remote-host.js';

/** What the host thread sends back during fit (a checkpoint is waited for: fit goes on once it is saved). */
export type RemoteEvent =
  | { type: 'step'; event: StepEvent; info: StepInfo }
  | { type: 'epoch'; event: EpochEvent; loop: LoopState }
  | { type: 'validation'; event: ValidationEvent; loop: LoopState }
  | { type: 'warning'; event: WarningEvent }
  | { type: 'checkpoint'; checkpoint: FitCheckpoint }
  | { type: 'done' };

/** The Trainer's options, except `pool` (a pool cannot move to another thread). */
export type RemoteTrainerOptions = Omit<TrainerOptions, 'pool'>;

/** What RemoteTrainer.fit adds to fit's options (whose onStep, onEpoch and onValidation it has too). */
export interface RemoteFitCallbacks {
  onWarning?: (e: WarningEvent) => void;
}

export interface RemoteFitOptions extends FitOptions, RemoteFitCallbacks {}

const CALLBACK_KEYS = keysOf<RemoteFitCallbacks>({ onWarning: true });

export class RemoteTrainer extends EventEmitter<TrainerEvents> {
  private readonly dead: Promise<never>;
  private exited = false;
  private closing?: Promise<void>;
  /** Calls in flight: while there are none, the thread does not keep the process alive. */
  private busy = 0;

  private constructor(private readonly thread: Worker, private readonly remote: Comlink.Remote<TrainerHost>) {
    super();
    this.dead = new Promise<never>((_, reject) => {
      thread.once('error', (e) => reject(e));
      thread.once('exit', (code) => {
        this.exited = true;
        reject(new Error(`the remote trainer's thread exited (code ${code})`));
      });
    });
    this.dead.catch(() => {});
  }

  /** Starts the trainer thread and the Trainer in it (options are validated here first). */
  static async create(options: RemoteTrainerOptions): Promise<RemoteTrainer> {
    if ((options as TrainerOptions | undefined)?.pool !== undefined) {
      throw new OptionError('pool cannot be given to a remote trainer: its worker pool lives on the trainer thread', 'pool');
    }
    resolveTrainerOptions(options); // the same messages as Trainer, thrown on this thread
    const thread = new Worker(builtFile('remote-host.js'), { execArgv: workerExecArgv() });
    const remote = Comlink.wrap<TrainerHost>(nodeEndpoint(thread as unknown as Parameters<typeof nodeEndpoint>[0]));
    const t = new RemoteTrainer(thread, remote);
    try {
      await t.call(() => remote.init(options));
    } catch (e) {
      await thread.terminate();
      throw e;
    }
    return t;
  }

  /**
   * A remote call that rejects if the thread dies instead of hanging. The thread is referenced
   * only while a call is in flight, so a program that never calls close() still exits once its
   * last call has settled (as the in-process Trainer's parked loops allow).
   */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.exited) throw new Error('the remote trainer is closed');
    if (this.busy++ === 0) this.thread.ref();
    try {
      return await Promise.race([fn(), this.dead]);
    } finally {
      if (--this.busy === 0) this.thread.unref();
    }
  }

  /**
   * Like Trainer.fit; events arrive as this object's 'step', 'epoch', 'validation' and 'warning'
   * events and the on* callbacks (on this thread, not waited for), and checkpoints through
   * checkpoint.save (waited for).
   */
  async fit(data: SequenceDataset, opts: RemoteFitOptions): Promise<FitResult> {
    // Checked on this thread, so a mistake throws the OptionError itself, not a copy from the other thread.
    resolveFitOptions(opts, CALLBACK_KEYS);
    for (const k of CALLBACK_KEYS) if (opts[k] !== undefined) functionOption(opts[k], k);
    // Functions cannot cross to the host thread: the callbacks and checkpoint.save stay here, fed by its events.
    const { signal, onStep, onEpoch, onValidation, onWarning, checkpoint, ...rest } = opts;
    signal?.throwIfAborted();
    const onEvent = Comlink.proxy(async (e: RemoteEvent) => {
      if (e.type === 'step') { void onStep?.(e.event, e.info); this.emit('step', e.event); }
      else if (e.type === 'epoch') { void onEpoch?.(e.event, e.loop); this.emit('epoch', e.event); }
      else if (e.type === 'validation') { void onValidation?.(e.event, e.loop); this.emit('validation', e.event); }
      else if (e.type === 'warning') { onWarning?.(e.event); this.emit('warning', e.event); }
      else if (e.type === 'checkpoint') await checkpoint!.save(e.checkpoint);
    });
    const { save: _save, ...saving } = checkpoint ?? { save: undefined };
    const remoteOpts: HostFitOptions = { ...rest, ...(checkpoint ? { checkpoint: saving } : {}) };
    const abort = () => void this.remote.abort(String((signal?.reason as Error | undefined)?.message ?? 'aborted')).catch(() => {});
    signal?.addEventListener('abort', abort, { once: true });
    try {
      return await this.call(() => this.remote.fit(data, remoteOpts, onEvent));
    } catch (e) {
      // The host's AbortError arrives as a plain Error: hand back the caller's own reason.
      if (signal?.aborted && (e as Error)?.name === 'AbortError') throw signal.reason;
      throw e;
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  trainStep(data: SequenceDataset, rows: ArrayLike<number>, resetState = false): Promise<StepEvent> {
    return this.call(async () => {
      const e = await this.remote.trainStep(data, Int32Array.from(rows), resetState);
      this.emit('step', e);
      return e;
    });
  }

  async evaluate(data: SequenceDataset, opts: EvalOptions = {}): Promise<EvalResult> {
    checkEvalOptions(opts, 'evaluate');
    return this.call(() => this.remote.evaluate(data, opts));
  }

  async predict(data: SequenceInputs, opts: PredictOptions = {}): Promise<Prediction> {
    checkEvalOptions(opts, 'predict');
    return this.call(() => this.remote.predict(data, opts));
  }

  getState(): Promise<TrainerState> {
    return this.call(() => this.remote.getState());
  }

  setState(s: TrainerState): Promise<void> {
    return this.call(() => this.remote.setState(s));
  }

  /** Completed steps. */
  getStep(): Promise<number> {
    return this.call(() => this.remote.step());
  }

  /** Copies of the parameters, by PyTorch name. */
  parameters(): Promise<Map<string, Float32Array>> {
    return this.call(() => this.remote.parameters());
  }

  info(): Promise<{ workers: number; kernels: string | undefined; paramCount: number }> {
    return this.call(() => this.remote.info());
  }

  /** Stops training threads and the trainer thread. Safe to call more than once. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        if (!this.exited) await this.call(() => this.remote.close()).catch(() => {});
        this.remote[Comlink.releaseProxy]();
        await this.thread.terminate();
      })();
    }
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts a RemoteTrainer (see RemoteTrainer.create). */
export function createRemoteTrainer(options: RemoteTrainerOptions): Promise<RemoteTrainer> {
  return RemoteTrainer.create(options);
}
