/**
 * The coordinator of the worker loops (the main-thread side of loop.ts): it starts one loop per
 * worker as a long-lived piscina task, issues commands through the control block, waits for
 * them with Atomics.waitAsync (the main thread's event loop keeps turning), and recovers from
 * failures:
 *
 *   - A loop whose task rejects (it threw, or its thread exited) is a failure. The others are
 *     told to give up the command (ABORT), a fresh loop takes the dead one's place, and the
 *     command is issued again. A step is safe to redo: the parameters are not touched before
 *     phase C, and phase A zeroes each slot before computing it, so nothing is counted twice.
 *   - A command that makes no progress for stepTimeoutMs: the loops still busy are terminated
 *     (their threads), which turns a hang into a failure as above.
 *   - A failure after some worker started writing parameters (phase C): the chunks it had begun
 *     are put back from the arena's undo (rollBackUpdate), then the step is redone as above.
 *   - After maxRetries redos, the command rejects with an error naming the shard and the cause.
 *   - Memory that ran out (the arena full, a buffer the host would not allocate) is not a
 *     worker's fault and would run out again: the command rejects at once, nothing is redone.
 */
import { randomUUID } from 'node:crypto';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { isOutOfMemory, resolveKernels, shardCount, type ArenaLayout, type KernelPath, type ResolvedTrainConfig, type SequenceDataset, type SequenceInputs, type WasmMemory } from '@weft/core';
import {
  Command, Ctl, F64, PHASE_NAMES, StepResult, WAIT_SLICE_MS, WorkerF64, WorkerField, clockMs, createControl, itemsName, wf, wi, type ControlViews,
} from './control.js';
import type { StepPhases } from './events.js';
import type { LoopInit, LoopMessage } from './loop.js';
import type { ResolvedThreadOptions } from './options.js';
import { builtFile, workerExecArgv } from './paths.js';
import type { SharedDataset } from './shared-data.js';

const WORKER_FILE = builtFile('worker.js').href;

/** How long loops get to acknowledge an ABORT or STOP before they count as hung. */
const GRACE_MS = 2000;
/**
 * After a timeout, how long the loops waiting at a barrier get to acknowledge ABORT (they
 * recheck every WAIT_SLICE_MS, and are notified at once); the ones still busy then are stuck.
 */
const TIMEOUT_GRACE_MS = 10 * WAIT_SLICE_MS;

/** The Trainer's resolved thread options as they are (`pool`: the application's, else the StepPool makes and destroys its own), and two callbacks. */
export interface StepPoolOptions extends ResolvedThreadOptions {
  /** A worker failed and the command is redone. */
  onWarning(message: string, cause: Error): void;
  /** Puts back what a failed phase C had begun to update (the arena's undo); then the step is redone. */
  rollBackUpdate(): void;
}

/** What went wrong with one loop. */
interface Failure {
  worker: number;
  /** Shard (or evaluation batch) it was computing, -1 if none... */
  item: number;
  /** ...and how many from there (a group of shards computed together). */
  items: number;
  phase: number;
  /** Whether it had acknowledged the command before it failed (its part was done). */
  acked: boolean;
  error: Error;
}

interface LoopSlot {
  alive: boolean;
  port: MessagePort;
  promise: Promise<void>;
  /** Set when the coordinator terminates the thread for a timeout: the cause to report. */
  timedOut?: string;
}

export interface StepOutcome {
  /** StepResult.* */
  result: number;
  /** Mean over workers of the time spent at barriers and reducing. */
  syncMs: number;
  /** Mean over workers of the time spent computing shards. */
  computeMs: number;
  phases: StepPhases;
}

/**
 * Chunks that one range of phases B and C must hold for the range to be worth a barrier: a
 * model of under 2 ranges' worth (rnn-small: 1,153 parameters, one chunk) is reduced and
 * updated by one worker, the one that finished the last shard, with no barrier and no wake-up.
 * Two chunks of 16 slots are some 130,000 adds, about what a barrier's wake-ups cost.
 */
export const MIN_CHUNKS_PER_PART = 2;

/** Chunk ranges of phases B and C for a model of `chunkCount` norm chunks on `workers` workers (any cut gives the same bits). */
export function stepParts(chunkCount: number, workers: number): number {
  return Math.max(1, Math.min(workers, Math.floor(chunkCount / MIN_CHUNKS_PER_PART)));
}

export class StepPool {
  readonly control: ControlViews;
  readonly workers: number;
  private readonly rows: Int32Array;
  private readonly rowsBuffer: SharedArrayBuffer;
  private piscina?: Piscina;
  private readonly ownsPiscina: boolean;
  private readonly slots: (LoopSlot | undefined)[];
  private failures: Failure[] = [];
  private wake: () => void = () => {};
  private woken: Promise<void>;
  private readonly datasets = new Map<number, SequenceDataset | SequenceInputs>();
  private nextDatasetId = 1;
  private closed = false;
  /** The kernel path of every worker, resolved once here so that workers never mix paths. */
  private readonly kernels: KernelPath;
  /** Names this pool's run to the threads, so a parked loop's StepRunner is reused only by a loop of the same run. */
  private readonly runId = randomUUID();

  constructor(
    private readonly config: ResolvedTrainConfig,
    private readonly layout: ArenaLayout,
    private readonly memory: WasmMemory,
    private readonly arenaByteOffset: number,
    private readonly opts: StepPoolOptions,
  ) {
    this.workers = opts.workers;
    this.kernels = resolveKernels(opts.kernels);
    this.control = createControl(opts.workers);
    this.rowsBuffer = new SharedArrayBuffer(4 * config.batchSize);
    this.rows = new Int32Array(this.rowsBuffer); // [batchSize] row indices of the current batch
    this.slots = new Array(opts.workers).fill(undefined);
    this.woken = this.rearm();
    this.ownsPiscina = !opts.pool;
    if (opts.pool) this.piscina = opts.pool;
  }

  /** The pool, made at the first command (threads are not started by merely making a Trainer). */
  private threads(): Piscina {
    if (this.piscina) return this.piscina;
    const p = new Piscina({
      filename: WORKER_FILE,
      minThreads: this.workers,
      maxThreads: this.workers,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      execArgv: workerExecArgv(),
    });
    // Without a listener an 'error' event (a thread failing outside any task) would be thrown.
    p.on('error', (e: unknown) => this.opts.onWarning(`worker pool error: ${errorOf(e).message}`, errorOf(e)));
    return (this.piscina = p);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private rearm(): Promise<void> {
    return (this.woken = new Promise<void>((resolve) => (this.wake = resolve)));
  }

  /** Starts the loops that are missing (all of them at first, a failed one later). */
  async ensureLoops(): Promise<void> {
    if (this.closed) throw new Error('the trainer is closed');
    const missing: number[] = [];
    for (let w = 0; w < this.workers; w++) if (!this.slots[w]?.alive) missing.push(w);
    if (!missing.length) return;
    const ctl = this.control.i32;
    const target = Atomics.load(ctl, Ctl.READY) + missing.length;
    this.failures = [];
    for (const w of missing) this.launch(w);
    const deadline = performance.now() + this.opts.startTimeoutMs;
    for (;;) {
      const v = Atomics.load(ctl, Ctl.READY);
      const failed = this.failures.find((f) => missing.includes(f.worker));
      if (failed) {
        throw new Error(`worker ${failed.worker} failed to start: ${failed.error.message}` +
          (/Cannot find module|ERR_MODULE_NOT_FOUND/.test(failed.error.message) ? ' (is @weft/workers built? run `pnpm -r run build`)' : ''),
        { cause: failed.error });
      }
      if (v >= target) return;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`only ${v - (target - missing.length)} of ${missing.length} worker loop(s) started within ${this.opts.startTimeoutMs} ms: ` +
          'the pool needs a free thread per worker (maxThreads >= workers, concurrentTasksPerWorker 1)');
      }
      await this.waitChange(Ctl.READY, v, left);
    }
  }

  private launch(w: number): void {
    const { port1, port2 } = new MessageChannel();
    this.slots[w]?.port.close();
    const init: LoopInit = {
      index: w,
      workers: this.workers,
      control: this.control.buffer,
      memory: this.memory,
      arenaByteOffset: this.arenaByteOffset,
      kernels: this.kernels,
      layout: this.layout,
      rows: this.rowsBuffer,
      config: this.config,
      run: this.runId,
      seq: Atomics.load(this.control.i32, Ctl.SEQ),
      port: port2,
      datasets: [...this.datasets].map(([id, data]) => ({ id, data })),
      ...(this.opts.faultInjection ? { fault: this.opts.faultInjection } : {}),
    };
    const slot: LoopSlot = { alive: true, port: port1, promise: Promise.resolve() };
    this.slots[w] = slot;
    slot.promise = this.threads().run(init, { transferList: [port2], filename: WORKER_FILE, name: 'loop' }).then(
      () => { slot.alive = false; },
      (e: unknown) => this.onLoopError(w, slot, e),
    );
  }

  private onLoopError(w: number, slot: LoopSlot, e: unknown): void {
    slot.alive = false;
    if (this.closed || this.slots[w] !== slot) return;
    const ctl = this.control.i32;
    this.failures.push({
      worker: w,
      item: Atomics.load(ctl, wi(w, WorkerField.ITEM)),
      items: Atomics.load(ctl, wi(w, WorkerField.ITEM_COUNT)),
      phase: Atomics.load(ctl, wi(w, WorkerField.PHASE)),
      acked: Atomics.load(ctl, wi(w, WorkerField.ACK)) === Atomics.load(ctl, Ctl.SEQ),
      error: slot.timedOut ? new Error(slot.timedOut, { cause: e }) : errorOf(e),
    });
    this.wake();
    this.rearm();
  }

  /** Resolves when ctl[addr] may have changed from `v`, a loop failed, or `ms` passed. */
  private async waitChange(addr: number, v: number, ms: number): Promise<void> {
    const r = Atomics.waitAsync(this.control.i32, addr, v, ms);
    if (!r.async) return;
    // A pending waitAsync does not keep Node alive; this timer does, for as long as we wait.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms + 5)));
    await Promise.race([r.value, this.woken, timeout]);
    clearTimeout(timer);
  }

  private live(): number[] {
    const out: number[] = [];
    for (let w = 0; w < this.workers; w++) if (this.slots[w]?.alive) out.push(w);
    return out;
  }

  /**
   * Waits until every loop of `live` that is still alive acknowledged `seq`. 'failed' as soon
   * as a loop failed before acknowledging (when stopOnFailure), 'timeout' after `ms`.
   */
  private async waitAcks(seq: number, live: number[], ms: number, stopOnFailure: boolean): Promise<'ok' | 'failed' | 'timeout'> {
    const ctl = this.control.i32;
    const deadline = performance.now() + ms;
    for (;;) {
      const v = Atomics.load(ctl, Ctl.ACKS);
      if (stopOnFailure && this.failures.some((f) => !f.acked)) return 'failed';
      const pending = live.some((w) => this.slots[w]?.alive && Atomics.load(ctl, wi(w, WorkerField.ACK)) !== seq);
      if (!pending) return this.failures.some((f) => !f.acked) ? 'failed' : 'ok';
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      await this.waitChange(Ctl.ACKS, v, left);
    }
  }

  /**
   * Runs one command on all loops, redoing it after failures. `setup` writes its arguments,
   * `message` goes to every loop's port, `complete` says whether all its work got done even
   * though a loop failed, `what` names the failed item for messages.
   */
  private async command(
    cmd: number, setup: () => void, message: LoopMessage | undefined,
    complete: () => boolean, what: (f: Failure) => string,
  ): Promise<void> {
    const ctl = this.control.i32;
    for (let attempt = 0; ; attempt++) {
      // (A loop can die while idle, its rejection arriving just after ensureLoops looked.)
      for (let i = 0; this.live().length < this.workers; i++) {
        if (i > this.opts.maxRetries) throw new Error(`worker loops keep stopping right after they start (${i} tries)`);
        await this.ensureLoops();
      }
      for (const f of [Ctl.NEXT_A, Ctl.DONE_A, Ctl.NEXT_B, Ctl.DONE_B, Ctl.NEXT_C, Ctl.DONE_C, Ctl.UPDATING, Ctl.ABORT]) {
        Atomics.store(ctl, f, 0);
      }
      Atomics.store(ctl, Ctl.RESULT, -1);
      Atomics.store(ctl, Ctl.ATTEMPT, attempt);
      Atomics.store(ctl, Ctl.CMD, cmd);
      setup();
      const live = this.live();
      if (message) for (const w of live) this.slots[w]!.port.postMessage(message);
      this.failures = [];
      Atomics.store(ctl, Ctl.ACKS, 0);
      Atomics.store(ctl, Ctl.LIVE, live.length);
      const seq = Atomics.add(ctl, Ctl.SEQ, 1) + 1;
      Atomics.notify(ctl, Ctl.SEQ);

      const outcome = await this.waitAcks(seq, live, this.opts.stepTimeoutMs, true);
      if (outcome === 'ok') return;

      // A loop failed, or the command hangs: the others give up at their next check.
      Atomics.store(ctl, Ctl.ABORT, 1);
      for (const a of [Ctl.SEQ, Ctl.DONE_A, Ctl.DONE_B]) Atomics.notify(ctl, a);
      const grace = outcome === 'timeout' ? TIMEOUT_GRACE_MS : this.opts.stepTimeoutMs;
      const drained = await this.waitAcks(seq, live, grace, false);
      if (drained === 'timeout') await this.terminateStuck(seq, live, outcome === 'timeout' ? this.opts.stepTimeoutMs : grace);

      if (complete()) return; // every item got done before the failure: nothing to redo
      // Phase C had begun: every loop has stopped by now, so the chunks it updated are put back
      // from the undo, and the redo starts from the same parameters and optimizer state.
      if (cmd === Command.STEP && Atomics.load(ctl, Ctl.UPDATING) !== 0) this.opts.rollBackUpdate();
      const f = this.failures.find((x) => !x.acked) ?? this.failures[0];
      const cause = f?.error ?? new Error('no progress and no failed worker found');
      const name = f ? what(f) : `command ${cmd}`;
      // Memory that ran out runs out again on a redo: no worker is at fault, so nothing is redone.
      if (isOutOfMemory(cause)) {
        throw new RangeError(`${name} ran out of memory (${cause.message}); not redone, since a redo needs the same memory: ` +
          'use smaller batches or shards, fewer workers, or shorter sequences', { cause });
      }
      if (attempt >= this.opts.maxRetries) {
        throw new Error(`${name} failed ${attempt + 1} time(s) (maxRetries ${this.opts.maxRetries}); last cause: ${cause.message}`, { cause });
      }
      this.opts.onWarning(`${name} failed (${cause.message}); worker ${f?.worker ?? '?'} is replaced and the work redone ` +
        `(attempt ${attempt + 2} of ${this.opts.maxRetries + 1})`, cause);
    }
  }

  /** Terminates the threads of loops that did not acknowledge `seq` even after ABORT. */
  private async terminateStuck(seq: number, live: number[], waitedMs: number): Promise<void> {
    const ctl = this.control.i32;
    const stuck = live.filter((w) => this.slots[w]?.alive && Atomics.load(ctl, wi(w, WorkerField.ACK)) !== seq);
    for (const w of stuck) {
      const slot = this.slots[w]!;
      const item = Atomics.load(ctl, wi(w, WorkerField.ITEM));
      const items = Atomics.load(ctl, wi(w, WorkerField.ITEM_COUNT));
      const phase = PHASE_NAMES[Atomics.load(ctl, wi(w, WorkerField.PHASE))] ?? 'working';
      slot.timedOut = `worker ${w} made no progress for ${waitedMs} ms while ${phase}` +
        (item >= 0 ? ` (${itemsName(Atomics.load(ctl, Ctl.CMD) === Command.STEP ? 'shard' : 'batch', item, items)})` : '') +
        '; its thread was terminated (raise stepTimeoutMs if steps are really this slow)';
      const tid = Atomics.load(ctl, wi(w, WorkerField.THREAD));
      const thread = this.threads().threads.find((t) => t.threadId === tid);
      if (thread) {
        await thread.terminate();
      } else {
        this.onLoopError(w, slot, new Error('thread not found'));
      }
    }
    // The terminated loops' tasks reject soon after their threads exit.
    await settledWithin(stuck.map((w) => this.slots[w]!.promise), GRACE_MS);
    for (const w of stuck) if (this.slots[w]?.alive) this.onLoopError(w, this.slots[w]!, new Error('did not stop'));
  }

  /** One training step on `rows` of dataset `datasetId`: phases A, B, C on all loops. */
  async step(datasetId: number, rows: ArrayLike<number>, step: number, lr: number, scale: number, reset = false, updates = step): Promise<StepOutcome> {
    const ctl = this.control.i32;
    const f64 = this.control.f64;
    const K = shardCount(rows.length, this.config.shardSize);
    const parts = stepParts(this.layout.chunkCount, this.workers);
    for (let i = 0; i < rows.length; i++) this.rows[i] = rows[i]!;
    await this.command(Command.STEP, () => {
      Atomics.store(ctl, Ctl.ITEMS, K);
      Atomics.store(ctl, Ctl.PARTS, parts);
      Atomics.store(ctl, Ctl.ROWS, rows.length);
      Atomics.store(ctl, Ctl.STEP, step);
      Atomics.store(ctl, Ctl.UPDATES, updates);
      Atomics.store(ctl, Ctl.DATASET, datasetId);
      Atomics.store(ctl, Ctl.RESET, reset ? 1 : 0);
      f64[F64.LR] = lr;
      f64[F64.SCALE] = scale;
      f64[F64.ISSUED] = clockMs();
    }, undefined, () => {
      const r = Atomics.load(ctl, Ctl.RESULT);
      return Atomics.load(ctl, Ctl.DONE_C) >= parts || (Atomics.load(ctl, Ctl.DONE_B) >= parts && r !== -1 && r !== StepResult.UPDATED);
    }, (f) => `step ${step}` + (f.item >= 0 ? `, ${itemsName('shard', f.item, f.items)}` : ` (worker ${f.worker}, ${PHASE_NAMES[f.phase] ?? 'working'})`));
    const acked = clockMs() - f64[F64.ISSUED]!;
    let sync = 0;
    let compute = 0;
    for (let w = 0; w < this.workers; w++) {
      sync += f64[wf(w, WorkerF64.SYNC_MS)]!;
      compute += f64[wf(w, WorkerF64.COMPUTE_MS)]!;
    }
    return { result: Atomics.load(ctl, Ctl.RESULT), syncMs: sync / this.workers, computeMs: compute / this.workers, phases: this.phases(acked) };
  }

  /**
   * The last step's critical path from the workers' stamps (ms after the command was issued):
   * the mean wake-up, the last shard's end, the last reducer past its barrier, the last update's
   * end, and main resuming after the last acknowledgement. Each phase is the gap between two of them.
   */
  private phases(acked: number): StepPhases {
    const f64 = this.control.f64;
    const at = (field: number, reducersOnly: boolean): number => {
      let m = -Infinity;
      for (let w = 0; w < this.workers; w++) {
        if (reducersOnly && f64[wf(w, WorkerF64.REDUCER)] !== 1) continue;
        m = Math.max(m, f64[wf(w, field)]!);
      }
      return m;
    };
    let wake = 0;
    for (let w = 0; w < this.workers; w++) wake += f64[wf(w, WorkerF64.WAKE)]!;
    wake /= this.workers;
    const shards = at(WorkerF64.SHARDS_END, false);
    const reduced = Math.max(shards, at(WorkerF64.REDUCED, true));
    const updated = Math.max(reduced, at(WorkerF64.END, true));
    return { wakeMs: wake, shardsMs: shards - wake, reduceMs: reduced - shards, updateMs: updated - reduced, ackMs: acked - updated };
  }

  /**
   * Consecutive batches of `batchSize` rows: with `loss`, each one's loss sums [sum, count, correct,
   * weight] (float64) in batch order (the data must have targets); the head's outputs into
   * `outputs` (shared memory) when given. One forward pass per batch either way.
   */
  async evaluate(datasetId: number, count: number, batchSize: number, want: { loss: boolean; outputs?: Float32Array }): Promise<Float64Array> {
    const batches = Math.ceil(count / batchSize);
    const results = new Float64Array(new SharedArrayBuffer(8 * 4 * batches)); // [batches, 4]
    const ctl = this.control.i32;
    const message: LoopMessage = { kind: 'eval', dataset: datasetId, batchSize, loss: want.loss, results, ...(want.outputs ? { outputs: want.outputs } : {}) };
    await this.command(Command.EVAL, () => {
      Atomics.store(ctl, Ctl.ITEMS, batches);
      Atomics.store(ctl, Ctl.PARTS, this.workers);
    }, message, () => Atomics.load(ctl, Ctl.DONE_A) >= batches, (f) => `evaluation batch ${f.item}`);
    return results;
  }

  /** Makes a shared dataset known to every loop (and to loops started later); returns its id. */
  async addDataset(data: SequenceDataset | SequenceInputs): Promise<number> {
    const id = this.nextDatasetId++;
    this.datasets.set(id, data);
    const add: SharedDataset[] = [{ id, data }];
    await this.command(Command.LOAD, () => {}, { kind: 'load', add, drop: [] }, () => true, (f) => `loading a dataset (worker ${f.worker})`);
    return id;
  }

  async dropDatasets(ids: number[]): Promise<void> {
    if (!ids.length || this.closed) return;
    for (const id of ids) this.datasets.delete(id);
    await this.command(Command.LOAD, () => {}, { kind: 'load', add: [], drop: ids }, () => true, (f) => `dropping a dataset (worker ${f.worker})`);
  }

  /** Whether any loop is running (started and neither parked nor failed). */
  get running(): boolean {
    return this.live().length > 0;
  }

  /**
   * Ends the loops, keeping everything else: the next command starts them again (ensureLoops),
   * and each thread hands its StepRunner to the next loop of this run (loop.ts), so a park costs
   * no memory and no warm-up. A running loop is a piscina task, whose port keeps the process
   * alive; parked, the threads are idle piscina threads, which do not.
   */
  async park(): Promise<void> {
    if (this.closed) return;
    await this.stopLoops(true);
  }

  /** Stops every loop; destroys the pool if it is ours. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.stopLoops(false);
    this.closed = true;
    for (const s of this.slots) s?.port.close();
    if (this.ownsPiscina) await this.piscina?.destroy();
  }

  /** STOP to every live loop (KEEP: parked, to come back), and waits until their tasks ended. */
  private async stopLoops(keep: boolean): Promise<void> {
    const ctl = this.control.i32;
    const live = this.live();
    if (!live.length) return;
    Atomics.store(ctl, Ctl.CMD, Command.STOP);
    Atomics.store(ctl, Ctl.KEEP, keep ? 1 : 0);
    Atomics.store(ctl, Ctl.ABORT, 1);
    Atomics.store(ctl, Ctl.ACKS, 0);
    Atomics.store(ctl, Ctl.LIVE, live.length);
    const seq = Atomics.add(ctl, Ctl.SEQ, 1) + 1;
    for (const a of [Ctl.SEQ, Ctl.DONE_A, Ctl.DONE_B]) Atomics.notify(ctl, a);
    this.failures = [];
    if ((await this.waitAcks(seq, live, GRACE_MS, false)) === 'timeout') await this.terminateStuck(seq, live, GRACE_MS);
    await settledWithin(live.map((w) => this.slots[w]!.promise), GRACE_MS);
    for (const w of live) {
      const slot = this.slots[w]!;
      slot.alive = false; // ended, or counted as failed: either way the next command starts a fresh loop here
      slot.port.close();
    }
  }
}

function errorOf(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Waits until every promise settled, or `ms` passed. The timer is cleared as soon as they
 * settle: a timer left running would keep the process alive for the rest of `ms` after
 * close() (every `weft train` used to wait 2 s before exiting).
 */
async function settledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
