/**
 * What every loader hands back, and the option checks they share. A loader for training builds
 * its vocabulary / label set / normalisation from the data and returns it as `meta`, a plain
 * JSON object for the checkpoint; the matching `...Eval` loader takes that meta back and
 * encodes new data exactly as the training data was encoded.
 */
import type { SequenceDataset } from './dataset.js';
import { split } from './split.js';
import type { UnknownReport } from './vocab.js';
import { DataError } from './errors.js';
import { MEMORY_LIMIT_BYTES, formatBytes } from '../kernels/memory.js';

export interface TrainData<M> {
  /** The examples to train on. */
  train: SequenceDataset;
  /** The held-out examples, when a validation fraction above 0 was asked for. */
  valid?: SequenceDataset;
  /** Everything needed to encode new inputs and decode predictions; JSON-serialisable. */
  meta: M;
  /** One human-readable line about what was loaded (counts, sizes, oddities). */
  summary: string;
  /** Loaders that read one sequence per line: where the longest is (training and validation parts alike). */
  longest?: Longest;
}

/** Where a file's longest sequence is: what a message about sequence length points at. */
export interface Longest {
  file: string;
  /** Its 1-based physical line. */
  line: number;
  /** The JSON field or CSV column that holds it. */
  field: string;
  /** Its length in steps (characters, tokens, rows of numbers). */
  steps: number;
  /** What a step is, for messages: 'characters', 'tokens', 'steps'. */
  unit: string;
}

export interface EvalData {
  dataset: SequenceDataset;
  summary: string;
  /** Loaders that read one sequence per line: where the longest is. */
  longest?: Longest;
  /** Token inputs: how many of the file's characters or words the model's vocabulary lacks. */
  unknown?: UnknownReport;
}

/** Options shared by the loaders that split off a validation part. */
export interface SplitOptions {
  /** Fraction of the examples held out for validation, in [0, 1) (default 0.1; 0 = none). */
  validFraction?: number;
  /** Seed of the split (default 0). */
  seed?: number;
}

export function resolveSplit(o: SplitOptions, where: string): { validFraction: number; seed: number } {
  const validFraction = o.validFraction ?? 0.1;
  const seed = o.seed ?? 0;
  if (typeof validFraction !== 'number' || !(validFraction >= 0 && validFraction < 1)) {
    throw new RangeError(`${where}.validFraction must be a number in [0, 1), got ${JSON.stringify(validFraction)}`);
  }
  if (!Number.isInteger(seed)) throw new TypeError(`${where}.seed must be an integer, got ${JSON.stringify(seed)}`);
  return { validFraction, seed };
}

/** undefined, or a positive integer; the message names the command-line flag too. */
export function optionalPositiveInt(v: unknown, name: string, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new TypeError(`${name} (${flag}) must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

export function splitIfAsked(d: SequenceDataset, validFraction: number, seed: number): { train: SequenceDataset; valid?: SequenceDataset } {
  if (validFraction === 0 || d.count < 2) return { train: d };
  const s = split(d, validFraction, seed);
  return { train: s.train, valid: s.valid };
}

/** Counts per label, `a 12, b 30`, for summaries. */
export function countsLine(labels: readonly string[], ids: ArrayLike<number>): string {
  const counts = new Array<number>(labels.length).fill(0);
  for (let i = 0; i < ids.length; i++) if (ids[i]! >= 0) counts[ids[i]!]!++;
  const parts = labels.slice(0, 10).map((l, k) => `${l} ${counts[k]}`);
  return labels.length > 10 ? `${parts.join(', ')}, ...` : parts.join(', ');
}

/**
 * Keeps the longest of the sequences it is shown, and refuses one at once, where it is read,
 * when the file's `count` sequences padded to its length (a dataset is a [count, maxSteps]
 * array of `bytesPerStep` per step) could not fit in memory: a 50 MB line fails in the time it
 * takes to parse, not after minutes and gigabytes of encoding.
 */
export class LongestTracker {
  longest?: Longest;
  constructor(readonly file: string, readonly count: number, readonly bytesPerStep: number) {}

  see(line: number, field: string, steps: number, unit: string): void {
    const bytes = steps * this.count * this.bytesPerStep;
    if (bytes > MEMORY_LIMIT_BYTES) {
      throw new DataError(`field "${field}" is ${steps.toLocaleString('en-US')} ${unit} long: the file's ${this.count} sequences padded to this length ` +
        `would take ${formatBytes(bytes)}, past the ${formatBytes(MEMORY_LIMIT_BYTES)} limit; shorten or remove this line (--max-len N refuses lines longer than N as they are read)`,
      { file: this.file, line, field });
    }
    if (!this.longest || steps > this.longest.steps) this.longest = { file: this.file, line, field, steps, unit };
  }
}
