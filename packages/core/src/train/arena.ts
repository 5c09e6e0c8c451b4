/**
 * The memory of one training run, laid out once (DESIGN.md, "one shared arena"): parameters,
 * the reduced gradient, optimizer state, one gradient slot per shard, per-shard loss statistics
 * and the partial sums of the gradient norm. Offsets are in floats from the start of ONE
 * Float32Array, which the pool puts in a SharedArrayBuffer (or a shared WebAssembly.Memory) and
 * every worker views the same way: this function is the single source of those offsets.
 */
import { CLIP_CHUNK_SIZE } from '../optim/clip.js';

export interface ArenaLayout {
  /** Parameters in the model's Layout order. */
  params: number;
  /** Sum of the shard slots: the batch gradient that clipping and the optimizer read. */
  grad: number;
  /** Optimizer state buffers (moments), each `paramCount` long. */
  optState: number[];
  /** Gradient slot of shard k: each `paramCount` long. */
  slots: number[];
  /** Per-shard statistics: STATS_WIDTH float64 per shard (see ShardStat), viewed with f64View. */
  stats: number;
  /** Sum of squares of the batch gradient per fixed chunk (float64, viewed with f64View). */
  normChunks: number;
  /**
   * Carried recurrent state for truncated BPTT over streams (0 floats when not carrying):
   * two copies (read at step parity p, write at 1 - p, so a recomputed shard still reads the
   * state from before the step) of h [batch, L*D, H] then c (LSTM).
   */
  carry: number;
  /** Floats of ONE copy of the carried state (h and c together). */
  carrySize: number;
  /**
   * Undo of the update (0 floats when not kept): the parameters and optimizer state of each
   * chunk as they were before phase C touched it, then one Int32 mark per chunk (1 = saved and
   * being updated, 2 = updated). A worker that dies mid-update leaves marked chunks behind; the
   * coordinator rolls exactly those back and the step is redone from the same parameters.
   */
  undo: number;
  undoMarks: number;
  paramCount: number;
  shards: number;
  chunkCount: number;
  /** Total floats. */
  size: number;
}

/** Fields of a shard's statistics (float64 each). */
export const ShardStat = { lossSum: 0, count: 1, correct: 2, weight: 3 } as const;
export const STATS_WIDTH = 4;

/**
 * Chunk size of the gradient-norm partial sums. Fixed (never derived from the worker count) so
 * that the combined norm, and so the clipped update, is bit-identical however the chunks were
 * shared out between threads.
 */
export const NORM_CHUNK = CLIP_CHUNK_SIZE;

export function arenaLayout(paramCount: number, shards: number, optStateCount: number, carrySize = 0, undo = false): ArenaLayout {
  // Align regions to 16 floats (64 bytes): one cache line, and whole SIMD vectors.
  const align = (n: number) => Math.ceil(n / 16) * 16;
  const P = align(paramCount);
  let off = 0;
  const take = (n: number) => {
    const o = off;
    off += align(n);
    return o;
  };
  const chunkCount = Math.ceil(paramCount / NORM_CHUNK);
  const params = take(P);
  const grad = take(P);
  const optState = Array.from({ length: optStateCount }, () => take(P));
  const slots = Array.from({ length: shards }, () => take(P)); // one after another, P apart: the reduce reads them as rows
  const stats = take(shards * STATS_WIDTH * 2);
  const normChunks = take(chunkCount * 2);
  const carry = take(2 * carrySize);
  const undoAt = take(undo ? (1 + optStateCount) * P : 0);
  const undoMarks = take(undo ? chunkCount : 0);
  return { params, grad, optState, slots, stats, normChunks, carry, carrySize, undo: undoAt, undoMarks, paramCount, shards, chunkCount, size: off };
}

/** A float64 view of `n` values at float offset `off` of the arena (regions are 64-byte aligned). */
export function f64View(arena: Float32Array, off: number, n: number): Float64Array {
  return new Float64Array(arena.buffer, arena.byteOffset + 4 * off, n);
}
