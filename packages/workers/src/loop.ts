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
  StepRunner, createOptimizer, decideStep, chunkRange, groupSize, shardCount, gatherBatch, NonFiniteError,
  useKernels, activeKernels, KERNEL_NAMES, arenaAlloc, arenaUsage, placeOutputs, predictionShape,
  type ArenaLayout, type ResolvedTrainConfig, type SequenceDataset, type WasmMemory,
} from '@weft/core';
import {
  Command, Ctl, F64, IDLE_SLICE_MS, Phase, SPIN_MS, StepResult, WAIT_SLICE_MS, WorkerF64, WorkerField,
  clockMs, controlViews, wf, wi,
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
  | { kind: 'eval'; dataset: number; batchSize: number; loss: boolean; results: Float64Array; outputs?: Float32Array };

class Aborted extends Error {}

/**
 * What a parked loop leaves on its thread for the next loop of the same run (StepPool.park): the
 * memory object its kernels were instantiated on and its StepRunner, whose scratch was allocated
 * in the run's arena. The arena never frees, so a loop that built these anew at every restart
 * would grow it each time.
 */
let parked: { run: string; memory: WasmMemory; runner: StepRunner } | undefined;

/** Polls `ready` for up to SPIN_MS; whether it came true. */
function spinUntil(ready: () => boolean): boolean {
  const until = performance.now() + SPIN_MS;
  for (;;) {
    for (let i = 0; i < 64; i++) if (ready()) return true;
    if (performance.now() >= until) return false;
  }
}

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
  // The most shards this thread takes at once (groupSize of a full batch): a replica of the model for each.
  const group = groupSize(shardCount(cfg.batchSize, cfg.shardSize), init.workers);
  /**
   * Registers a dataset and sizes the runner's scratch for any shard of it, now: grown lazily, the
   * scratch (in the arena, which never frees) would depend on which shards this thread happened
   * to take, and a later step or a restarted loop could still allocate.
   */
  const register = (s: SharedDataset): void => {
    datasets.set(s.id, s.data as SequenceDataset);
    runner.reserve(s.data as SequenceDataset, cfg.shardSize, group, cfg.batchSize); // evaluations take batches of batchSize by default
  };
  for (const s of init.datasets) register(s);
  const port = init.port;

  const aborted = () => Atomics.load(ctl, Ctl.ABORT) !== 0;
  const setPhase = (p: number) => Atomics.store(ctl, wi(w, WorkerField.PHASE), p);
  const setItem = (k: number, n = 1) => {
    Atomics.store(ctl, wi(w, WorkerField.ITEM_COUNT), n);
    Atomics.store(ctl, wi(w, WorkerField.ITEM), k);
  };

  /**
   * Wait until ctl[addr] >= target; gives up when ABORT is raised. Spins for SPIN_MS first: at
   * a barrier the others are usually microseconds away, and a sleep costs a futex wake.
   */
  const waitAtLeast = (addr: number, target: number): void => {
    if (spinUntil(() => Atomics.load(ctl, addr) >= target)) return;
    for (;;) {
      const v = Atomics.load(ctl, addr);
      if (v >= target) return;
      if (aborted()) throw new Aborted();
      Atomics.wait(ctl, addr, v, WAIT_SLICE_MS);
    }
  };

  /** Count n finished items (default one); the one who finishes the last wakes the waiters (and learns it was the last). */
  const done = (addr: number, total: number, n = 1): boolean => {
    if (Atomics.add(ctl, addr, n) + n < total) return false;
    Atomics.notify(ctl, addr);
    return true;
  };

  /** Stamps point `field` of this step (ms after the coordinator issued it). */
  const stamp = (field: number, issued: number): void => {
    f64[wf(w, field)] = clockMs() - issued;
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

  /** Phase B for chunk range i of `parts`: ordered sum of the slots and Σg² per chunk. */
  const reduce = (i: number, parts: number, K: number): void => {
    const [c0, c1] = chunkRange(layout.chunkCount, parts, i);
    runner.reduceChunks(c0, c1, K);
    runner.clearUndoMarks(c0, c1);
  };

  /** Phase C for chunk range i of `parts`, with an undo so that a worker dying half-way can be rolled back and the step redone. */
  const update = (i: number, parts: number, s: number, lr: number, norm: number): void => {
    Atomics.store(ctl, Ctl.UPDATING, 1);
    const [c0, c1] = chunkRange(layout.chunkCount, parts, i);
    runner.updateChunksUndoable(c0, c1, Atomics.load(ctl, Ctl.UPDATES) + 1, lr, norm, () => injectUpdateFault(s));
  };

  /** The decision every updating worker takes alike (StepResult.*), written to RESULT; the global norm with it. */
  const decide = (K: number, s: number, lr: number): { result: number; norm: number } => {
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
    return { result, norm };
  };

  const step = (): void => {
    const issued = f64[F64.ISSUED]!;
    stamp(WorkerF64.WAKE, issued);
    for (const p of [WorkerF64.REDUCED, WorkerF64.END]) f64[wf(w, p)] = -1;
    f64[wf(w, WorkerF64.REDUCER)] = 0;
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
    let t = performance.now();

    // Phase A: any worker, any shards; shard k's gradient → slot k. A worker claims a group of
    // shards at once (groupSize) and runs them in lockstep; the bits do not depend on the groups.
    setPhase(Phase.SHARDS);
    const G = groupSize(K, init.workers);
    let last = false;
    for (;;) {
      if (aborted()) throw new Aborted();
      const k = Atomics.add(ctl, Ctl.NEXT_A, G);
      if (k >= K) break;
      const n = Math.min(G, K - k);
      for (let j = k; j < k + n; j++) {
        setItem(j); // a fault injected at shard j is shard j's
        injectFault(s, j);
      }
      setItem(k, n);
      runner.computeShards(d, rows, k, k + n, cfg.shardSize, s, scale, carry);
      setItem(-1);
      last = done(Ctl.DONE_A, K, n);
    }
    let now = performance.now();
    f64[wf(w, WorkerF64.COMPUTE_MS)] = now - t;
    stamp(WorkerF64.SHARDS_END, issued);
    t = now;

    if (parts === 1) {
      // One range (a small model: a barrier would cost more than the work it shares): whoever
      // finished the last shard reduces, decides and updates alone, with no barrier at all; the
      // others are done. The same functions on the same ranges: the same bits.
      f64[wf(w, WorkerF64.SYNC_MS)] = 0;
      if (!last) return;
      f64[wf(w, WorkerF64.REDUCER)] = 1;
      setPhase(Phase.REDUCE);
      Atomics.add(ctl, Ctl.NEXT_B, 1);
      reduce(0, 1, K);
      done(Ctl.DONE_B, 1);
      f64[wf(w, WorkerF64.SYNC_MS)] = performance.now() - t;
      stamp(WorkerF64.REDUCED, issued);
      const { result, norm } = decide(K, s, lr);
      if (result === StepResult.UPDATED) {
        setPhase(Phase.UPDATE);
        Atomics.add(ctl, Ctl.NEXT_C, 1);
        update(0, 1, s, lr, norm);
        done(Ctl.DONE_C, 1);
      }
      stamp(WorkerF64.END, issued);
      return;
    }

    waitAtLeast(Ctl.DONE_A, K);

    // Phase B: ordered sum of the slots and Σg² per chunk, one chunk range per item.
    setPhase(Phase.REDUCE);
    let reducer = false;
    for (;;) {
      if (aborted()) throw new Aborted();
      const i = Atomics.add(ctl, Ctl.NEXT_B, 1);
      if (i >= parts) break;
      reducer = true;
      reduce(i, parts, K);
      done(Ctl.DONE_B, parts);
    }
    // A worker that reduced nothing updates nothing either: every reducer takes update ranges
    // until none is left, so it can stop here instead of waiting at the barrier.
    if (!reducer) {
      f64[wf(w, WorkerF64.SYNC_MS)] = performance.now() - t;
      return;
    }
    f64[wf(w, WorkerF64.REDUCER)] = 1;
    waitAtLeast(Ctl.DONE_B, parts);
    f64[wf(w, WorkerF64.SYNC_MS)] = performance.now() - t;
    stamp(WorkerF64.REDUCED, issued);

    // Phase C: the same decision in every updating worker, then the update of whole chunk ranges.
    const { result, norm } = decide(K, s, lr);
    if (result !== StepResult.UPDATED) return;
    setPhase(Phase.UPDATE);
    for (;;) {
      // No abort check from here on: the update runs to its end unless a worker dies (then the undo rolls it back).
      const i = Atomics.add(ctl, Ctl.NEXT_C, 1);
      if (i >= parts) break;
      update(i, parts, s, lr, norm);
      done(Ctl.DONE_C, parts);
    }
    stamp(WorkerF64.END, issued);
  };

  const evaluate = (spec: Extract<LoopMessage, { kind: 'eval' }>): void => {
    const d = dataset(spec.dataset);
    const model = runner.model;
    const B = spec.batchSize;
    const items = Atomics.load(ctl, Ctl.ITEMS);
    const out = spec.outputs;
    const shape = predictionShape(model, d);
    // Whichever batches this thread takes, it allocates the same (nothing, the second time).
    model.reserve(d.maxSteps, B);
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
      if (spec.loss) {
        const r = model.evaluate(batch);
        spec.results[4 * b] = r.sum;
        spec.results[4 * b + 1] = r.count;
        spec.results[4 * b + 2] = r.correct;
        spec.results[4 * b + 3] = r.weight;
      }
      // With the loss, the outputs of its forward pass; without (predict: the data may have no targets), the outputs alone.
      if (out) placeOutputs(out, shape, spec.loss ? model.lastOutput : model.infer(batch), batch, rows);
      setItem(-1);
      done(Ctl.DONE_A, items);
    }
  };

  const ack = (seq: number): void => {
    setPhase(Phase.IDLE);
    setItem(-1);
    Atomics.store(ctl, wi(w, WorkerField.ACK), seq);
    // Only the last acknowledgement wakes main (a failed command's are all worth a look).
    if (Atomics.add(ctl, Ctl.ACKS, 1) + 1 >= Atomics.load(ctl, Ctl.LIVE) || aborted()) Atomics.notify(ctl, Ctl.ACKS);
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
    // The next command usually follows within the coordinator's round trip: spin briefly first.
    spinUntil(() => Atomics.load(ctl, Ctl.SEQ) !== seen);
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
