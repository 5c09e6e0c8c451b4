/**
 * One synchronous, deterministic data-parallel training step, cut into the phases that
 * DESIGN.md describes. The single-thread trainer (train/local.ts) and every worker of the pool
 * (@weft/workers) run these same functions; only who runs which shard or chunk differs, and
 * nothing about the result depends on that:
 *
 *   A. shards   gradient of shard k → slot k (any thread, any shard); loss stats → stats[k]
 *   B. reduce   grad = slot 0 + slot 1 + ... + slot K-1 in that order, per fixed chunk of the
 *               parameter vector, and the chunk's sum of squares (float64) → normChunks[c]
 *   C. update   global norm = sqrt(Σ_c normChunks[c]) in chunk order; clip coefficient;
 *               optimizer update of the chunk's parameters
 *
 * Between phases every thread waits at a barrier (except where one thread does all of B and C:
 * the pool gives a small model's reduce and update to whoever finishes the last shard). Nothing
 * is written to the parameters before phase C, so a failed shard can be recomputed from the
 * unchanged parameters.
 */
import { SequenceModel, gatherBatch, planModel, type Batch, type ModelDefinition, type ModelPlan } from '../model/model.js';
import { arenaLayout, f64View, NORM_CHUNK, STATS_WIDTH, ShardStat, type ArenaLayout } from './arena.js';
import { targetIsClass, type SequenceDataset } from '../data/dataset.js';
import { forEachTarget, valueTerms } from '../losses/terms.js';
import { Rng } from '../rng.js';
import { kernels } from '../kernels/index.js';
import { clipCoefficient, clipGradValue, normFromChunks, scaleGrads, sumSquaresChunks, type Optimizer } from '../optim/index.js';

/**
 * Loss terms of a global batch: what its mean loss divides by (tokens, sequences or values; with
 * class weights the sum of the targets' weights). `loss` is the model's (`model.plan.loss`);
 * without it, plain cross-entropy for class targets and a mean over values otherwise.
 */
export function lossTerms(d: SequenceDataset, rows: ArrayLike<number>, loss?: ModelPlan['loss']): number {
  if (loss) return loss.def.terms(loss.options, d, rows);
  if (!targetIsClass(d.targetKind)) return valueTerms(d, rows);
  let n = 0;
  forEachTarget(d, rows, (y) => {
    if (y >= 0) n++;
  });
  return n;
}

/** What a shard multiplies its loss gradient by: 1 / the loss terms of the whole batch (0 if none). */
export function lossScale(d: SequenceDataset, rows: ArrayLike<number>, loss?: ModelPlan['loss']): number {
  const terms = lossTerms(d, rows, loss);
  return terms > 0 ? 1 / terms : 0;
}

/** Number of shards of a batch: fixed by the batch and the shard size, never by the worker count. */
export function shardCount(batch: number, shardSize: number): number {
  return Math.ceil(batch / shardSize);
}

/** The default shard size: at most 16 shards, so up to 16 threads find work. */
export function defaultShardSize(batchSize: number): number {
  return Math.max(1, Math.ceil(batchSize / 16));
}

/**
 * How many shards a thread takes at once (StepRunner.computeShards runs them in lockstep), of a
 * batch of `shards` shared by `threads` threads: an even share. Big groups make the shared
 * per-step product pay; a thread that finishes early still takes a group another has not
 * claimed yet. (Groups shrinking as the batch runs out balanced a slow thread better but were
 * smaller: charlm on 2 workers measured 15.8–16.2k tokens/s with them, 16.6–17.4k with even
 * shares.) One thread takes every shard at once, up to MAX_GROUP.
 */
export function groupSize(shards: number, threads: number): number {
  return Math.max(1, Math.min(MAX_GROUP, Math.ceil(shards / threads)));
}

/**
 * The most shards in one group: a replica of the model each (a thousand shards of one row would
 * otherwise make a thousand models), and 64 shards give the per-step product rows enough.
 */
export const MAX_GROUP = 64;

/** Split the chunks 0..C-1 into `parts` contiguous ranges; range `i` of them. */
export function chunkRange(chunkCount: number, parts: number, i: number): [number, number] {
  return [Math.floor((chunkCount * i) / parts), Math.floor((chunkCount * (i + 1)) / parts)];
}

export interface StepStats {
  /** Mean loss over the global batch. */
  loss: number;
  /** Loss terms counted (targets or values). */
  count: number;
  /** What the mean divided by: count, or with class weights the sum of the counted targets' weights. */
  weight: number;
  /** Correct arg-max predictions (classification). */
  correct: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/** What a step needs to know besides the model: shards, clipping, the non-finite policy. */
export interface StepOptions {
  /** Seed of dropout masks (keyed by step and shard). */
  seed: number;
  /** Clip the global gradient norm to this (clip_grad_norm_), or 0 for no clipping. */
  clipNorm: number;
  /** Clip every gradient element to ±this (clip_grad_value_), or 0. */
  clipValue: number;
}

/**
 * A replica of the model over an arena: its parameters ARE the arena's parameter region, and
 * it computes any shard's gradient into that shard's slot. One per thread.
 */
export class StepRunner {
  /** The replica of the first shard of a group; the one that evaluates and predicts. */
  readonly model: SequenceModel;
  /** Replicas for the further shards of a group (computeShards), each its own scratch over the same parameters. */
  private readonly replicas: SequenceModel[];
  private readonly definition: ModelDefinition;
  readonly params: Float32Array;
  readonly grad: Float32Array;
  readonly states: Float32Array[];
  private readonly slots: Float32Array[];
  private readonly stats: Float64Array;
  private readonly norms: Float64Array;

  constructor(
    model: ModelDefinition,
    readonly arena: Float32Array,
    readonly layout: ArenaLayout,
    readonly optimizer: Optimizer,
    readonly options: StepOptions,
  ) {
    const P = layout.paramCount;
    const view = (off: number) => arena.subarray(off, off + P);
    this.params = view(layout.params);
    this.grad = view(layout.grad);
    this.states = layout.optState.map(view);
    this.slots = layout.slots.map(view);
    this.stats = f64View(arena, layout.stats, layout.shards * STATS_WIDTH);
    this.norms = f64View(arena, layout.normChunks, layout.chunkCount);
    this.definition = model;
    this.model = new SequenceModel(model, { params: this.params, grads: this.slots[0] });
    this.replicas = [this.model];
  }

  /**
   * Sizes the scratch of `group` replicas for any shard of `d` (and the lead's group rows, for
   * `group` shards or an evaluation batch of `evalBatch`), so that computing groups of up to that
   * many shards allocates nothing, whichever shards a thread happens to take (the scratch lives in
   * the thread's arena, which never frees). The first replica leads every group; the others make
   * no group rows of their own.
   */
  reserve(d: SequenceDataset, shardSize: number, group = 1, evalBatch = 0): void {
    this.model.reserveGroup(Math.max(group * shardSize, evalBatch)); // first: the lead's own reserve then finds its rows sized
    while (this.replicas.length < group) this.replicas.push(new SequenceModel(this.definition, { params: this.params, grads: this.slots[0] }));
    for (let j = 0; j < group; j++) this.replicas[j]!.reserve(d.maxSteps, shardSize, j === 0);
  }
  /**
   * Phase A for shards k0..k1-1 of the global batch `rows`, at once: each shard's gradient of its
   * part of the global mean loss (`scale` = 1 / lossTerms of the whole batch) into its slot, the
   * same bits whatever other shards it is computed with; their recurrent layers run in lockstep
   * by one replica each (SequenceModel.forwardBackwardGroup: one product per step for all rows).
   */
  computeShards(
    d: SequenceDataset, rows: ArrayLike<number>, k0: number, k1: number, shardSize: number, step: number, scale: number,
    carry?: { reset: boolean },
  ): void {
    const n = k1 - k0;
    if (n <= 0) return;
    if (!this.slots[k1 - 1]) throw new RangeError(`shard ${k1 - 1} is outside the arena's ${this.slots.length} slots`);
    // Scratch for any shard of d, not just these (a no-op once reserved; a pool worker reserves when d is registered).
    this.reserve(d, shardSize, n);
    const ms = this.replicas.slice(0, n);
    const batches: Batch[] = [];
    const rngs: Rng[] = [];
    for (let j = 0; j < n; j++) {
      const k = k0 + j;
      const start = k * shardSize;
      const slot = this.slots[k]!;
      kernels.zero(slot, 0, slot.length);
      ms[j]!.bindGrads(slot);
      const batch = gatherBatch(d, rows, start, Math.min(rows.length, start + shardSize));
      if (carry) this.readCarry(batch, start, step, carry.reset);
      batches.push(batch);
      // Masks depend on (seed, step, shard) only: whoever computes the shard draws the same.
      rngs.push(Rng.keyed(this.options.seed, step, k));
    }
    const res = SequenceModel.forwardBackwardGroup(ms, batches, scale, rngs);
    for (let j = 0; j < n; j++) {
      const k = k0 + j;
      if (carry) this.writeCarry(ms[j]!, batches[j]!, k * shardSize, step);
      const r = res[j]!;
      const s = k * STATS_WIDTH;
      this.stats[s + ShardStat.lossSum] = r.sum;
      this.stats[s + ShardStat.count] = r.count;
      this.stats[s + ShardStat.correct] = r.correct;
      this.stats[s + ShardStat.weight] = r.weight;
    }
  }

  /** Shape of the carried state of one batch position: L*D rows of H. */
  private carryDims(): { LD: number; H: number; lstm: boolean } {
    return this.model.carryShape();
  }

  /** Floats of one copy of the carried state for `batchSize` positions (the model's one recurrent layer's states). */
  static carrySize(model: ModelDefinition, batchSize: number): number {
    const r = planModel(model).layers.filter((l) => l.def.type === 'recurrent');
    if (r.length !== 1) throw new RangeError(`carryState needs a model with exactly one recurrent layer, this one has ${r.length}`);
    const o = r[0]!.options as { numLayers: number; bidirectional: boolean; hiddenSize: number; cell: string };
    return batchSize * o.numLayers * (o.bidirectional ? 2 : 1) * o.hiddenSize * (o.cell === 'lstm' ? 2 : 1);
  }

  /**
   * h0/c0 of a shard from the carried state of its batch positions (zero at a reset). The
   * arena keeps [position, L*D, H]; the stack wants [L*D, shard batch, H].
   */
  private readCarry(batch: Batch, start: number, step: number, reset: boolean): void {
    const { LD, H, lstm } = this.carryDims();
    const B = batch.batch;
    const h0 = new Float32Array(LD * B * H);
    const c0 = lstm ? new Float32Array(LD * B * H) : undefined;
    if (!reset) {
      const one = this.layout.carrySize;
      const base = this.layout.carry + (step % 2) * one;
      const cBase = base + one / 2;
      const a = this.arena;
      for (let i = 0; i < B; i++) {
        for (let l = 0; l < LD; l++) {
          const src = ((start + i) * LD + l) * H;
          const dst = (l * B + i) * H;
          h0.set(a.subarray(base + src, base + src + H), dst);
          if (c0) c0.set(a.subarray(cBase + src, cBase + src + H), dst);
        }
      }
    }
    batch.h0 = h0;
    batch.c0 = c0;
  }

  private writeCarry(model: SequenceModel, batch: Batch, start: number, step: number): void {
    const { LD, H } = this.carryDims();
    const B = batch.batch;
    const { hN, cN } = model.lastState;
    const one = this.layout.carrySize;
    const base = this.layout.carry + ((step + 1) % 2) * one;
    const cBase = base + one / 2;
    const a = this.arena;
    for (let i = 0; i < B; i++) {
      for (let l = 0; l < LD; l++) {
        const dst = ((start + i) * LD + l) * H;
        const src = (l * B + i) * H;
        a.set(hN.subarray(src, src + H), base + dst);
        if (cN) a.set(cN.subarray(src, src + H), cBase + dst);
      }
    }
  }

  /** The carried state after `steps` steps (for checkpoints): a copy. */
  carriedState(steps: number): Float32Array {
    const one = this.layout.carrySize;
    const base = this.layout.carry + (steps % 2) * one;
    return this.arena.slice(base, base + one);
  }

  /** Restore the carried state for the next step `step` (from a checkpoint). */
  setCarriedState(step: number, state: Float32Array): void {
    if (state.length !== this.layout.carrySize) throw new RangeError(`carried state has ${state.length} floats, expected ${this.layout.carrySize}`);
    this.arena.set(state, this.layout.carry + (step % 2) * this.layout.carrySize);
  }

  /** Phase B for chunks [c0, c1): sum the K slots in order 0..K-1, then each chunk's Σg². */
  reduceChunks(c0: number, c1: number, shards: number): void {
    const { paramCount: P, slots: at } = this.layout;
    if (!Number.isInteger(shards) || shards < 1 || shards > at.length) throw new RangeError(`reduceChunks: shards must be an integer in 1..${at.length} (the arena's slots), got ${shards}`);
    const g = this.grad;
    for (let c = c0; c < c1; c++) {
      const a = c * NORM_CHUNK;
      const b = Math.min(P, a + NORM_CHUNK);
      g.set(this.slots[0]!.subarray(a, b), a);
      // Slots 1..K-1, one after another and equally spaced, are the rows of one matrix: float32
      // adds in slot order in one pass (the chunk of g in L1), the same bits on every kernel path.
      if (shards > 1) kernels.sumRows(g, a, this.arena, at[1]! + a, shards - 1, b - a, at[1]! - at[0]!);
      if (this.options.clipValue > 0) clipGradValue(g, this.options.clipValue, a, b);
    }
    sumSquaresChunks(g, c0 * NORM_CHUNK, Math.min(P, c1 * NORM_CHUNK), NORM_CHUNK, this.norms);
  }

  /** Chunk c's range of the parameter vector. */
  private chunkBounds(c: number): [number, number] {
    return [c * NORM_CHUNK, Math.min(this.layout.paramCount, (c + 1) * NORM_CHUNK)];
  }

  private marks(): Int32Array {
    return new Int32Array(this.arena.buffer, this.arena.byteOffset + 4 * this.layout.undoMarks, this.layout.chunkCount);
  }

  /**
   * Phase C of chunks [c0, c1) with an undo (the arena must keep one): each chunk's parameters
   * and optimizer state are saved, marked, updated, marked done. See `rollBackUpdate`.
   * `afterFirst` (tests only) runs once the first chunk is updated: parameters partly written.
   */
  updateChunksUndoable(c0: number, c1: number, step: number, lr: number, norm: number, afterFirst?: () => void): void {
    if (this.layout.undoMarks === this.layout.undo) throw new Error('updateChunksUndoable: this arena keeps no undo (trainArenaLayout(..., { undo: true }))');
    const P = this.layout.paramCount;
    const marks = this.marks();
    const a = this.arena;
    for (let c = c0; c < c1; c++) {
      const [lo, hi] = this.chunkBounds(c);
      a.copyWithin(this.layout.undo + lo, this.layout.params + lo, this.layout.params + hi);
      this.layout.optState.forEach((off, k) => a.copyWithin(this.layout.undo + (k + 1) * P + lo, off + lo, off + hi));
      Atomics.store(marks, c, 1);
      this.updateChunks(c, c + 1, step, lr, norm);
      Atomics.store(marks, c, 2);
      if (c === c0) afterFirst?.();
    }
  }

  /** Clears the undo marks of chunks [c0, c1) (phase B, before any update of the step). */
  clearUndoMarks(c0: number, c1: number): void {
    if (this.layout.undoMarks !== this.layout.undo) this.marks().fill(0, c0, c1);
  }

  /**
   * After a failure during phase C: puts every chunk the step had begun to update back as it
   * was (parameters and optimizer state), so the step can be redone. Returns the chunks restored.
   */
  rollBackUpdate(): number {
    const P = this.layout.paramCount;
    const marks = this.marks();
    const a = this.arena;
    let n = 0;
    for (let c = 0; c < this.layout.chunkCount; c++) {
      if (Atomics.load(marks, c) === 0) continue;
      const [lo, hi] = this.chunkBounds(c);
      a.copyWithin(this.layout.params + lo, this.layout.undo + lo, this.layout.undo + hi);
      this.layout.optState.forEach((off, k) => a.copyWithin(off + lo, this.layout.undo + (k + 1) * P + lo, this.layout.undo + (k + 1) * P + hi));
      Atomics.store(marks, c, 0);
      n++;
    }
    return n;
  }

  /** The global gradient norm: chunks combined in order, so every thread gets the same bits. */
  gradNorm(): number {
    return normFromChunks(this.norms, this.layout.chunkCount);
  }

  /** The step's loss statistics, shards combined in order. */
  stepStats(shards: number): StepStats {
    let sum = 0;
    let count = 0;
    let correct = 0;
    let weight = 0;
    for (let k = 0; k < shards; k++) {
      sum += this.stats[k * STATS_WIDTH + ShardStat.lossSum]!;
      count += this.stats[k * STATS_WIDTH + ShardStat.count]!;
      correct += this.stats[k * STATS_WIDTH + ShardStat.correct]!;
      weight += this.stats[k * STATS_WIDTH + ShardStat.weight]!;
    }
    return { loss: weight > 0 ? sum / weight : 0, count, weight, correct, gradNorm: this.gradNorm() };
  }

  /**
   * Phase C for chunks [c0, c1): clip by the global norm (torch's clip_grad_norm_: coefficient
   * maxNorm / (norm + 1e-6), applied only when below 1) and take the optimizer step.
   * `step` is 1-based, as the optimizers' bias corrections expect.
   */
  updateChunks(c0: number, c1: number, step: number, lr: number, norm: number): void {
    const P = this.layout.paramCount;
    const a = c0 * NORM_CHUNK;
    const b = Math.min(P, c1 * NORM_CHUNK);
    if (a >= b) return;
    if (this.options.clipNorm > 0) {
      const coef = clipCoefficient(norm, this.options.clipNorm);
      if (coef < 1) scaleGrads(this.grad, coef, a, b);
    }
    this.optimizer.update(this.params, this.grad, this.states, a, b, step, lr);
  }
}

export { arenaLayout };
