/**
 * Data order: which dataset rows make up each batch of an epoch. A pure function of
 * (seed, epoch), so every thread, a resumed run and a run with another worker count all see
 * the same batches.
 */
import { Rng } from '../rng.js';
import { positiveInt } from '../options/validate.js';
import type { SequenceDataset } from './dataset.js';

/** Batches of epoch `epoch` (0-based): a seeded permutation cut into runs of `batchSize`; the last may be short. */
export function epochBatches(count: number, batchSize: number, seed: number, epoch: number, shuffle = true): Int32Array[] {
  positiveInt(batchSize, 'batchSize'); // 0 would cut empty batches forever
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (shuffle) Rng.keyed(seed, 0x5eed0, epoch).shuffle(order);
  const out: Int32Array[] = [];
  for (let s = 0; s < count; s += batchSize) out.push(order.subarray(s, Math.min(count, s + batchSize)));
  return out;
}

/** Consecutive batches in order (evaluation, or language-model streams that carry state). */
export function sequentialBatches(count: number, batchSize: number): Int32Array[] {
  return epochBatches(count, batchSize, 0, 0, false);
}

/** What of a training config decides the batches of an epoch. */
export interface BatchOrder { carryState: boolean; batchSize: number; seed: number }

/**
 * The batches of one training epoch: shuffled by (seed, epoch); with carryState, the streams'
 * windows in order and only full batches (a short last batch would break the streams).
 */
export function trainBatches(d: SequenceDataset, cfg: BatchOrder, epoch: number): Int32Array[] {
  if (!cfg.carryState) return epochBatches(d.count, cfg.batchSize, cfg.seed, epoch);
  return sequentialBatches(d.count, cfg.batchSize).filter((b) => b.length === cfg.batchSize);
}

/** Batches (steps) in one training epoch of `d`: the same in every epoch. */
export function epochBatchCount(d: SequenceDataset, cfg: BatchOrder): number {
  return trainBatches(d, cfg, 0).length;
}
