/**
 * The control block: the only thing the coordinator (main thread) and the worker loops use to
 * synchronise on the hot path. One SharedArrayBuffer, viewed as Int32 fields (counters, flags,
 * command words; Atomics.wait/notify need Int32) and Float64 fields (learning rate, loss scale,
 * timings). Every field has a name here and nowhere else, as piscina does with its shared
 * buffer: no bare indices in the loop or the coordinator.
 *
 * Protocol of one command (see loop.ts and pool.ts for the two sides):
 *   main:    reset the counters, write the arguments, then Atomics.add(SEQ) + notify(SEQ)
 *   workers: wake on SEQ, run the command's phases (work items taken with Atomics.add on a
 *            NEXT_* counter, counted done on a DONE_* counter, whose last increment notifies),
 *            then store ACK = seq in their own field and Atomics.add(ACKS); the one whose add
 *            completes LIVE (or any, once ABORT is raised) notifies ACKS
 *   main:    Atomics.waitAsync on ACKS until every live worker acknowledged the sequence number
 *            (woken once per command, not once per worker)
 * The seq-cst Atomics on SEQ and ACKS order the plain writes around them (the rows, the
 * parameters written by setState, the slots and parameters written by the workers).
 */

/** Int32 fields shared by all threads. */
export const Ctl = {
  /** Command sequence number: main increments it to issue a command; idle workers wait on it. */
  SEQ: 0,
  /** The command (Command.*) of the current sequence number. */
  CMD: 1,
  /** Nonzero: give up the current command at the next check (a worker failed, or timed out). */
  ABORT: 2,
  /** Attempt of the current command, 0 first: fault injection fires on early attempts only. */
  ATTEMPT: 3,
  /** Items of the first phase: shards of a step, or batches of an evaluation. */
  ITEMS: 4,
  NEXT_A: 5,
  DONE_A: 6,
  /** Ranges of norm chunks that phases B and C are cut into (one per worker; any cut gives the same bits). */
  PARTS: 7,
  NEXT_B: 8,
  DONE_B: 9,
  NEXT_C: 10,
  DONE_C: 11,
  /** Set to 1 by the first worker that writes parameters in phase C: a redo must first roll back the undo. */
  UPDATING: 12,
  /** What phase C decided (StepResult.*); every worker writes the same value. */
  RESULT: 13,
  /** Acknowledgements of the current command so far (the address main waits on; main zeroes it when it issues one). */
  ACKS: 14,
  /** 0-based index of the step. */
  STEP: 15,
  /** Rows in the global batch (their indices are in the rows array). */
  ROWS: 16,
  /** Id of the dataset the step reads. */
  DATASET: 17,
  /** Worker loops started so far (main waits on it when it starts or replaces loops). */
  READY: 18,
  /** The kernels the workers run: an index into @weft/core's KERNEL_NAMES. */
  KERNELS: 19,
  /** 1: the step starts the carried states from zero (carryState, first batch of an epoch). */
  RESET: 20,
  /** Optimizer updates applied before this step (skipped steps do not count, as in PyTorch): t - 1 of the bias corrections. */
  UPDATES: 21,
  /** With STOP: 1 = the loop is parked (its thread keeps its StepRunner for the next loop of this run), 0 = closed. */
  KEEP: 22,
  /** Loops the current command was issued to: the acknowledgement that completes this count wakes main. */
  LIVE: 23,
} as const;

/** Int32 fields of worker i start at WORKER_BASE + i * WORKER_STRIDE. */
export const WORKER_BASE = 32;
export const WORKER_STRIDE = 5;
export const WorkerField = {
  /** Last sequence number this worker finished (or gave up). */
  ACK: 0,
  /** Shard (or evaluation batch) the worker is computing, -1 when none: names the culprit of a failure. */
  ITEM: 1,
  /** threadId of the worker's thread, so main can terminate a hung one. */
  THREAD: 2,
  /** Phase the worker is in (Phase.*), for the error message of a timeout. */
  PHASE: 3,
  /** How many items from ITEM on it computes together (a group of shards run in lockstep; 1 otherwise). */
  ITEM_COUNT: 4,
} as const;

/** Items k..k+n-1 in words: 'shard 3', 'shards 0–7'. */
export function itemsName(what: 'shard' | 'batch', k: number, n: number): string {
  return n > 1 ? `${what}s ${k}–${k + n - 1}` : `${what} ${k}`;
}

/** Float64 fields (a Float64Array over the same buffer from F64_BYTE_OFFSET). */
export const F64 = {
  /** Learning rate of the step. */
  LR: 0,
  /** 1 / loss terms of the global batch: shards' gradients add up to the gradient of the mean. */
  SCALE: 1,
  /** clockMs() when main issued the command: the origin of the workers' phase stamps. */
  ISSUED: 2,
} as const;
export const F64_WORKER_BASE = 8;
export const F64_WORKER_STRIDE = 7;
/**
 * What a worker measured of the last step: two durations, and the moments (ms after F64.ISSUED)
 * it passed each point of the step, from which the coordinator reads the step's critical path
 * (StepPhases). A point the worker did not reach in this step (another worker reduced and
 * updated) is -1.
 */
export const WorkerF64 = {
  /** Milliseconds of the last step spent waiting at barriers and reducing (phase B). */
  SYNC_MS: 0,
  /** Milliseconds of the last step spent computing shards (phase A). */
  COMPUTE_MS: 1,
  /** It saw the command (woke up). */
  WAKE: 2,
  /** It found no shard left to take (its last shard done). */
  SHARDS_END: 3,
  /** It had reduced its chunks and every other reducer had too (past the last barrier before the update). */
  REDUCED: 4,
  /** It had updated its chunks (or found none left). */
  END: 5,
  /** It took at least one chunk range of the reduce (1) or none (0). */
  REDUCER: 6,
} as const;

export const Command = {
  /** One training step (phases A, B, C). */
  STEP: 1,
  /** Loss (and outputs) of batches: the spec comes as a message on the worker's port. */
  EVAL: 2,
  /** Register or drop shared datasets: the list comes as a message on the worker's port. */
  LOAD: 3,
  /** Leave the loop: the piscina task returns and its thread is free again (KEEP says whether the loop comes back). */
  STOP: 4,
} as const;

export const StepResult = { UPDATED: 0, SKIPPED: 1, NON_FINITE_ERROR: 2 } as const;

export const Phase = { IDLE: 0, SHARDS: 1, REDUCE: 2, UPDATE: 3, EVAL: 4 } as const;
export const PHASE_NAMES = ['idle', 'computing shards', 'reducing', 'updating', 'evaluating'] as const;

/**
 * How long a worker spins (Atomics.load polling) on a word before it sleeps in Atomics.wait:
 * at the step's barriers, and for the next command right after acknowledging one. A futex wake
 * on a virtual machine costs tens of microseconds or more (the sleeping vCPU must be woken),
 * and a tiny model's whole step is a few milliseconds; but a spinning thread holds a core that
 * the main thread or another process may need, so the spin stays short.
 */
export const SPIN_MS = 0.05;

/** A clock every thread reads alike (CLOCK_MONOTONIC, milliseconds), so stamps of different threads compare. */
export function clockMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** How long one Atomics.wait lasts before a worker rechecks ABORT (a backstop: main also notifies). */
export const WAIT_SLICE_MS = 50;
/** How long an idle worker sleeps between checks of SEQ (nothing depends on it; it only bounds the wait). */
export const IDLE_SLICE_MS = 1000;

const F64_BYTE_OFFSET_PER_WORKER = 8 * F64_WORKER_STRIDE;

export interface ControlViews {
  buffer: SharedArrayBuffer;
  i32: Int32Array;
  f64: Float64Array;
}

/** Bytes of Int32 fields for `workers` workers, rounded to 8 so the Float64 fields align. */
function intBytes(workers: number): number {
  return Math.ceil(((WORKER_BASE + workers * WORKER_STRIDE) * 4) / 8) * 8;
}

export function createControl(workers: number): ControlViews {
  const bytes = intBytes(workers) + 8 * F64_WORKER_BASE + workers * F64_BYTE_OFFSET_PER_WORKER;
  return controlViews(new SharedArrayBuffer(bytes), workers);
}

export function controlViews(buffer: SharedArrayBuffer, workers: number): ControlViews {
  const ib = intBytes(workers);
  return { buffer, i32: new Int32Array(buffer, 0, ib / 4), f64: new Float64Array(buffer, ib) };
}

/** Index of worker w's Int32 field. */
export function wi(w: number, field: number): number {
  return WORKER_BASE + w * WORKER_STRIDE + field;
}

/** Index of worker w's Float64 field. */
export function wf(w: number, field: number): number {
  return F64_WORKER_BASE + w * F64_WORKER_STRIDE + field;
}
