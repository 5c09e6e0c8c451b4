/**
 * The worker side of the pool: one long-lived loop per thread, run as ONE piscina task.
 *
 * Why a loop task and not a piscina task per step: a step is three phases separated by
 * barriers, and a task per phase (or per shard) costs a message round trip each (~17 µs, plus
 * the main thread's event loop in the middle). Instead each worker blocks in Atomics.wait on
 * the control block's SEQ word and runs every command the coordinator writes there; the phases
 * synchronise on shared counters, and the only messages are rare bulky ones (a new dataset, an
 * evaluation spec), read synchronously with receiveMessageOnPort when the control block says
 * one is there. Every wait is cut into slices of WAIT_SLICE_MS so a worker notices ABORT even
 * when the notify it was waiting for never comes (its peer died).
 *
 * A worker never decides anything alone: shards, chunks and batches are work items taken from
 * shared counters, so it does not matter which worker (or how many) took which, and a dead
 * worker's unfinished items are simply taken again when the coordinator redoes the command.
 */
import { receiveMessageOnPort, threadId, type MessagePort } from 'node:worker_threads';
import {
  StepRunner, createOptimizer, decideStep, chunkRange, gatherBatch, NonFiniteError,
  useKernels, activeKernels, KERNEL_NAMES, targetPerStep, arenaAlloc, arenaUsage,
  type ArenaLayout, type ResolvedTrainConfig, type SequenceDataset, type WasmMemory,
} from '@weft/core';
import {
  Command, Ctl, F64, IDLE_SLICE_MS, Phase, StepResult, WAIT_SLICE_MS, WorkerF64, WorkerField,
  controlViews, wf, wi,
} from './control.js';
import type { FaultInjection, KernelChoice } from './options.js';
import type { SharedDataset } from './shared-data.js';

/** Everything a loop needs, sent once as the piscina task (SharedArrayBuffers arrive shared). */
export interface LoopInit {
  /** This worker's slot in the control block. */
  index: number;
  /** Slots in the control block. */
  workers: number;
  control: SharedArrayBuffer;
  /**
   * The run's shared WebAssembly.Memory (an arena of @weft/core's createSharedMemory): the
   * kernels of every worker work on it in place, and each worker's scratch is allocated in it.
   */
  memory: WasmMemory;
  /** Byte address in `memory` of the training arena (parameters, gradient, optimizer state, slots). */
  arenaByteOffset: number;
  layout: ArenaLayout;
  /** Which kernels the worker uses ('auto': WebAssembly SIMD where available). */
  kernels: KernelChoice;
  /** Row indices of the current global batch: Int32 [batchSize]. */
  rows: SharedArrayBuffer;
  config: ResolvedTrainConfig;
  /** The run (StepPool) this loop belongs to: a parked loop's StepRunner is handed only to a loop of the same run. */
  run: string;
  /** SEQ when the loop was launched: commands issued before it are not this loop's. */
  seq: number;
  /** Port for the rare bulky messages (datasets, evaluation specs). */
  port: MessagePort;
  /** Datasets registered so far. */
  datasets: SharedDataset[];
  fault?: FaultInjection;
}

/** Messages on the port. */
export type LoopMessage =
  | { kind: 'load'; add: SharedDataset[]; drop: number[] }
  | { kind: 'eval'; dataset: number; batchSize: number; results: Float64Array; outputs?: Float32Array };

class Aborted extends Error {}

/**
 * What a parked loop leaves on its thread for the next loop of the same run (StepPool.park): the
 * memory object its kernels were instantiated on and its StepRunner, whose scratch was allocated
 * in the run's arena. The arena never frees, so a loop that built these anew at every restart
 * would grow it each time.
 */
let parked: { run: string; memory: WasmMemory; runner: StepRunner } | undefined;

export function runLoop(init: LoopInit): string {
  const { i32: ctl, f64 } = controlViews(init.control, init.workers);
  const w = init.index;
  const cfg = init.config;
  const layout = init.layout;
  const reuse = parked?.run === init.run ? parked : undefined;
  parked = undefined;
  const memory = reuse?.memory ?? init.memory;
  // The path the coordinator resolved for every worker (throws where it cannot run here); with
  // 'reference' a pool thread also detaches from an earlier trainer's memory.
  useKernels(init.kernels, memory);
  const arena = new Float32Array(memory.buffer, init.arenaByteOffset, layout.size); // [layout.size]
  const runner = reuse?.runner ?? new StepRunner(cfg.model, arena, layout, createOptimizer(cfg.optimizer), cfg);
  const rowsAll = new Int32Array(init.rows);
  // Inputs alone (to predict) too: the coordinator sends steps and evaluations only of datasets with targets.
  const datasets = new Map<number, SequenceDataset>();
  /**
   * Registers a dataset and sizes the runner's scratch for any shard of it, now: grown lazily, the
   * scratch (in the arena, which never frees) would depend on which shards this thread happened
   * to take, and a later step or a restarted loop could still allocate.
   */
  const register = (s: SharedDataset): void => {
    datasets.set(s.id, s.data as SequenceDataset);
    runner.model.reserve(s.data.maxSteps, cfg.shardSize);
  };
  for (const s of init.datasets) register(s);
  const port = init.port;

  const aborted = () => Atomics.load(ctl, Ctl.ABORT) !== 0;
  const setPhase = (p: number) => Atomics.store(ctl, wi(w, WorkerField.PHASE), p);
  const setItem = (k: number) => Atomics.store(ctl, wi(w, WorkerField.ITEM), k);

  /** Wait until ctl[addr] >= target; gives up when ABORT is raised. */
  const waitAtLeast = (addr: number, target: number): void => {
    for (;;) {
      const v = Atomics.load(ctl, addr);
      if (v >= target) return;
      if (aborted()) throw new Aborted();
      Atomics.wait(ctl, addr, v, WAIT_SLICE_MS);
    }
  };

  /** Count one finished item; the one who finishes the last wakes the waiters. */
  const done = (addr: number, total: number): void => {
    if (Atomics.add(ctl, addr, 1) + 1 >= total) Atomics.notify(ctl, addr);
  };

  const dataset = (id: number): SequenceDataset => {
    const d = datasets.get(id);
    if (!d) throw new Error(`worker ${w}: dataset ${id} is not registered`);
    return d;
  };

  /**
   * The message that comes with a command: posted before SEQ moved, so normally already here.
   * Always consumed, even when the command is being aborted, so the next command's message is
   * never confused with this one's.
   */
  const receive = (): LoopMessage => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const m = receiveMessageOnPort(port);
      if (m) return m.message as LoopMessage;
      if (Date.now() > deadline) throw new Error(`worker ${w}: the command's message did not arrive`);
      Atomics.wait(ctl, Ctl.SEQ, Atomics.load(ctl, Ctl.SEQ), 1);
    }
  };

  const injectFault = (step: number, k: number): void => {
    const f = init.fault;
    if (!f || (f.phase ?? 'shards') !== 'shards' || f.step !== step || f.shard !== k || Atomics.load(ctl, Ctl.ATTEMPT) >= (f.times ?? 1)) return;
    // Leave garbage behind first: a redo that forgot to zero the slot would count it.
    const slot = layout.slots[k]!;
    arena.fill(1e3, slot, slot + layout.paramCount);
    if (f.kind === 'exit') process.exit(3);
    if (f.kind === 'hang') {
      const never = new Int32Array(new SharedArrayBuffer(4));
      for (;;) Atomics.wait(never, 0, 0, IDLE_SLICE_MS);
    }
    if (f.kind === 'oom') arenaAlloc(memory, arenaUsage(memory).maxBytes);
    throw new Error(`injected fault at step ${step}, shard ${k}`);
  };

  /** FOR TESTS: fail in phase C with the parameters partly written. */
  const injectUpdateFault = (step: number): void => {
    const f = init.fault;
    if (!f || f.phase !== 'update' || f.step !== step || Atomics.load(ctl, Ctl.ATTEMPT) >= (f.times ?? 1)) return;
    if (f.kind === 'exit') process.exit(3);
    throw new Error(`injected fault at step ${step}, while updating`);
  };

  const step = (): void => {
    const K = Atomics.load(ctl, Ctl.ITEMS);
    const parts = Atomics.load(ctl, Ctl.PARTS);
    const n = Atomics.load(ctl, Ctl.ROWS);
    const s = Atomics.load(ctl, Ctl.STEP);
    const d = dataset(Atomics.load(ctl, Ctl.DATASET));
    const rows = rowsAll.subarray(0, n);
    const scale = f64[F64.SCALE]!;
    const lr = f64[F64.LR]!;
    // Carried states are double-buffered by step parity: a redo reads what the first try read.
    const carry = cfg.carryState ? { reset: Atomics.load(ctl, Ctl.RESET) === 1 } : undefined;
    let sync = 0;
    let t = performance.now();

    // Phase A: any worker, any shard; shard k's gradient → slot k.
    setPhase(Phase.SHARDS);
    for (;;) {
      if (aborted()) throw new Aborted();
      const k = Atomics.add(ctl, Ctl.NEXT_A, 1);
      if (k >= K) break;
      setItem(k);
      injectFault(s, k);
      runner.computeShard(d, rows, k, cfg.shardSize, s, scale, carry);
      setItem(-1);
      done(Ctl.DONE_A, K);
    }
    let now = performance.now();
    f64[wf(w, WorkerF64.COMPUTE_MS)] = now - t;
    t = now;
    waitAtLeast(Ctl.DONE_A, K);

    // Phase B: ordered sum of the slots and Σg² per chunk, one chunk range per item.
    setPhase(Phase.REDUCE);
    for (;;) {
      if (aborted()) throw new Aborted();
      const i = Atomics.add(ctl, Ctl.NEXT_B, 1);
      if (i >= parts) break;
      const [c0, c1] = chunkRange(layout.chunkCount, parts, i);
      runner.reduceChunks(c0, c1, K);
      runner.clearUndoMarks(c0, c1);
      done(Ctl.DONE_B, parts);
    }
    waitAtLeast(Ctl.DONE_B, parts);
    now = performance.now();
    sync += now - t;
    f64[wf(w, WorkerF64.SYNC_MS)] = sync;

    // Phase C: the same decision in every worker, then the update of whole chunk ranges.
    let result: number = StepResult.UPDATED;
    let norm = 0;
    try {
      const r = decideStep(cfg, runner, K, s, lr);
      norm = r.gradNorm;
      if (r.skipped) result = StepResult.SKIPPED;
    } catch (e) {
      if (!(e instanceof NonFiniteError)) throw e;
      result = StepResult.NON_FINITE_ERROR;
    }
    Atomics.store(ctl, Ctl.RESULT, result);
    if (result !== StepResult.UPDATED) return;
    setPhase(Phase.UPDATE);
    for (;;) {
      // No abort check from here on: the update runs to its end unless a worker dies (then the undo rolls it back).
      const i = Atomics.add(ctl, Ctl.NEXT_C, 1);
      if (i >= parts) break;
      Atomics.store(ctl, Ctl.UPDATING, 1);
      const [c0, c1] = chunkRange(layout.chunkCount, parts, i);
      // With an undo, so that a worker dying half-way can be rolled back and the step redone.
      runner.updateChunksUndoable(c0, c1, Atomics.load(ctl, Ctl.UPDATES) + 1, lr, norm, () => injectUpdateFault(s));
      done(Ctl.DONE_C, parts);
    }
  };

  const evaluate = (spec: Extract<LoopMessage, { kind: 'eval' }>): void => {
    const d = dataset(spec.dataset);
    const model = runner.model;
    const B = spec.batchSize;
    const items = Atomics.load(ctl, Ctl.ITEMS);
    const O = model.outputSize;
    const S = d.maxSteps;
    const perStep = targetPerStep(model.task);
    const out = spec.outputs;
    // Whichever batches this thread takes, it allocates the same (nothing, the second time).
    model.reserve(S, B);
    setPhase(Phase.EVAL);
    for (;;) {
      if (aborted()) throw new Aborted();
      const b = Atomics.add(ctl, Ctl.NEXT_A, 1);
      if (b >= items) break;
      setItem(b);
      const start = b * B;
      const end = Math.min(d.count, start + B);
      const rows = new Int32Array(end - start);
      for (let i = 0; i < rows.length; i++) rows[i] = start + i;
      const batch = gatherBatch(d, rows);
      if (!out) {
        const r = model.evaluate(batch);
        spec.results[4 * b] = r.sum;
        spec.results[4 * b + 1] = r.count;
        spec.results[4 * b + 2] = r.correct;
        spec.results[4 * b + 3] = r.weight;
      } else {
        // predict: the outputs alone (the data may have no targets).
        const y = model.infer(batch); // [B*T, O] per step, [B, O] per sequence
        const T = batch.steps;
        for (let i = 0; i < rows.length; i++) {
          const r0 = start + i;
          if (perStep) {
            const L = batch.lengths[i]!;
            out.set(y.subarray(i * T * O, (i * T + L) * O), r0 * S * O);
          } else {
            out.set(y.subarray(i * O, (i + 1) * O), r0 * O);
          }
        }
      }
      setItem(-1);
      done(Ctl.DONE_A, items);
    }
  };

  const ack = (seq: number): void => {
    setPhase(Phase.IDLE);
    setItem(-1);
    Atomics.store(ctl, wi(w, WorkerField.ACK), seq);
    Atomics.add(ctl, Ctl.ACKS, 1);
    Atomics.notify(ctl, Ctl.ACKS);
  };

  Atomics.store(ctl, Ctl.KERNELS, KERNEL_NAMES.indexOf(activeKernels() as (typeof KERNEL_NAMES)[number]));
  Atomics.store(ctl, wi(w, WorkerField.THREAD), threadId);
  Atomics.store(ctl, wi(w, WorkerField.ACK), init.seq);
  setItem(-1);
  setPhase(Phase.IDLE);
  Atomics.add(ctl, Ctl.READY, 1);
  Atomics.notify(ctl, Ctl.READY);

  let seen = init.seq;
  for (;;) {
    while (Atomics.load(ctl, Ctl.SEQ) === seen) Atomics.wait(ctl, Ctl.SEQ, seen, IDLE_SLICE_MS);
    seen = Atomics.load(ctl, Ctl.SEQ);
    const cmd = Atomics.load(ctl, Ctl.CMD);
    if (cmd === Command.STOP) {
      if (Atomics.load(ctl, Ctl.KEEP) === 1) parked = { run: init.run, memory, runner };
      ack(seen);
      port.close();
      return Atomics.load(ctl, Ctl.KEEP) === 1 ? 'parked' : 'stopped';
    }
    try {
      if (cmd === Command.STEP) {
        step();
      } else {
        const m = receive();
        if (m.kind === 'load') {
          for (const id of m.drop) datasets.delete(id);
          for (const s of m.add) register(s);
        } else {
          evaluate(m);
        }
      }
    } catch (e) {
      // Aborted: a peer failed; the coordinator redoes the command. Anything else is this
      // worker's failure: the task rejects with it and the coordinator replaces the loop.
      if (!(e instanceof Aborted)) throw e;
    }
    ack(seen);
  }
}
