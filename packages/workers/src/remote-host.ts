/**
 * The thread behind RemoteTrainer: it owns a Trainer (whose own worker pool it starts) and
 * exposes it through comlink on its parentPort. Nothing of training runs on the caller's
 * thread: it only receives step and epoch events, and results.
 */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { loadLayerModules, type EvalResult, type SequenceDataset, type SequenceInputs } from '@weft/core';
import { Trainer } from './trainer.js';
import type { EvalOptions, FitOptions, FitResult, Prediction, PredictOptions, StepEvent, TrainerState, WarningEvent } from './events.js';

/** fit's options as they cross to the host thread: no functions (the caller's thread keeps its callbacks and checkpoint.save). */
export type HostFitOptions = Omit<FitOptions, 'signal' | 'onStep' | 'onEpoch' | 'onValidation' | 'checkpoint'> & {
  checkpoint?: Omit<NonNullable<FitOptions['checkpoint']>, 'save'>;
};
import type { TrainerOptions } from './options.js';
import type { RemoteEvent } from './remote.js';

export class TrainerHost {
  private trainer?: Trainer;
  private controller?: AbortController;

  private get t(): Trainer {
    if (!this.trainer) throw new Error('the remote trainer is not initialised');
    return this.trainer;
  }

  async init(options: TrainerOptions): Promise<void> {
    await loadLayerModules(options.model); // a spec's own layer types, as the caller's thread has them
    this.trainer = new Trainer(options);
  }

  async fit(data: SequenceDataset, opts: HostFitOptions, onEvent?: (e: RemoteEvent) => void | Promise<void>): Promise<FitResult> {
    const t = this.t;
    const controller = (this.controller = new AbortController());
    // Events go out without waiting for the caller: training never waits on the other thread...
    const send = (e: RemoteEvent) => void Promise.resolve(onEvent?.(e)).catch(() => {});
    const onWarning = (event: WarningEvent) => send({ type: 'warning', event });
    t.on('warning', onWarning);
    const { checkpoint, ...rest } = opts;
    try {
      const result = await t.fit(data, {
        ...rest,
        signal: controller.signal,
        onStep: (event, info) => send({ type: 'step', event, info }),
        onEpoch: (event, loop) => send({ type: 'epoch', event, loop }),
        onValidation: (event, loop) => send({ type: 'validation', event, loop }),
        // ...except for a checkpoint, which the caller's save must have written before training goes on.
        ...(checkpoint ? { checkpoint: { ...checkpoint, save: async (checkpoint) => { await onEvent?.({ type: 'checkpoint', checkpoint }); } } } : {}),
      });
      // The events travel on their own channel: a last one, answered, means the caller has had them all before the result.
      await onEvent?.({ type: 'done' });
      return result;
    } finally {
      t.off('warning', onWarning);
      if (this.controller === controller) this.controller = undefined;
      (onEvent as Partial<Comlink.Remote<object>> | undefined)?.[Comlink.releaseProxy]?.();
    }
  }

  /** Aborts the running fit (before its next step). */
  abort(reason?: string): void {
    this.controller?.abort(new DOMException(reason ?? 'This operation was aborted', 'AbortError'));
  }

  trainStep(data: SequenceDataset, rows: ArrayLike<number>, resetState?: boolean): Promise<StepEvent> {
    return this.t.trainStep(data, rows, resetState);
  }

  async evaluate(data: SequenceDataset, opts?: EvalOptions): Promise<EvalResult> {
    const r = await this.t.evaluate(data, opts);
    return r.outputs ? Comlink.transfer(r, [r.outputs.buffer as ArrayBuffer]) : r;
  }

  async predict(data: SequenceInputs, opts?: PredictOptions): Promise<Prediction> {
    const p = await this.t.predict(data, opts);
    return Comlink.transfer(p, [p.outputs.buffer as ArrayBuffer]);
  }

  getState(): TrainerState {
    const s = this.t.getState();
    return Comlink.transfer(s, [s.params.buffer as ArrayBuffer, ...s.optimizer.states.map((b) => b.buffer as ArrayBuffer)]);
  }

  setState(s: TrainerState): void {
    this.t.setState(s);
  }

  step(): number {
    return this.t.step;
  }

  /** Copies of the parameters, by PyTorch name. */
  parameters(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [k, v] of this.t.parameters) out.set(k, v.slice());
    return out;
  }

  info(): { workers: number; kernels: string | undefined; paramCount: number } {
    return { workers: this.t.workers, kernels: this.t.kernels, paramCount: this.t.layout.paramCount };
  }

  async close(): Promise<void> {
    this.controller?.abort();
    await this.trainer?.close();
  }
}

if (parentPort) Comlink.expose(new TrainerHost(), nodeEndpoint(parentPort));
