/**
 * Time-series regression from a CSV → 'value-per-sequence' (or 'value-per-step').
 *
 * The rows are time steps in order. A sequence is `window` consecutive rows of the input
 * columns; its target is the target columns `horizon` rows after the window's last row
 * (horizon 0: the last row itself). Sequences start every `stride` rows. With perStep, every
 * step t of a window has a target: the target columns `horizon` rows after step t.
 *
 *   sequence i (rows s = i·stride .. s + window - 1):
 *     inputs[i, t, :]  = norm(row s + t, inputColumns)
 *     targets[i, :]    = norm(row s + window - 1 + horizon, targetColumns)     (per sequence)
 *     targets[i, t, :] = norm(row s + t + horizon, targetColumns)             (per step)
 *
 * Validation: the last validFraction of the rows (time order, no shuffling: a model must not
 * train on the future of its validation data), windowed separately, so no window straddles.
 * Normalisation: each used column's mean and standard deviation over the TRAINING rows only
 * (std 0 becomes 1, so a constant column stays finite), stored in the meta; `denormalize` turns
 * predictions back into the targets' units. Columns not used (a date, say) are ignored.
 */
import type { SequenceDataset } from '../train/dataset.js';
import { columnIndex, numberCell, parseCsv, type CsvTable } from './csv.js';
import { DataError } from './errors.js';
import { packDataset } from './pack.js';
import { formatOf, readTextFile } from './read.js';
import { type EvalData, type TrainData } from './task.js';

export interface RegressOptions {
  /** Rows per input sequence (--window). */
  window: number;
  /** Rows between a window's last row and the row it predicts (--horizon, default 1; 0 allowed). */
  horizon?: number;
  /** Rows between the starts of consecutive windows (default 1). */
  stride?: number;
  /** Input columns by name (default: every column). */
  inputColumns?: readonly string[];
  /** Target columns by name (default: the input columns). */
  targetColumns?: readonly string[];
  /** A target at every step instead of one after the window (default false). */
  perStep?: boolean;
  /** Fraction of the rows, at the end, held out for validation, in [0, 1) (default 0.1). */
  validFraction?: number;
}

export interface RegressMeta {
  task: 'regress';
  window: number;
  horizon: number;
  perStep: boolean;
  inputColumns: string[];
  targetColumns: string[];
  /** Per used column: the training rows' mean and std (std 0 stored as 1). */
  stats: Record<string, { mean: number; std: number }>;
}

interface Resolved {
  window: number;
  horizon: number;
  stride: number;
  perStep: boolean;
  validFraction: number;
}

function nonNegInt(v: unknown, name: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new TypeError(`regress options.${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function resolve(o: Partial<RegressOptions>): Resolved {
  if (o === null || typeof o !== 'object') throw new TypeError('regress options must be an object');
  const validFraction = o.validFraction ?? 0.1;
  if (typeof validFraction !== 'number' || !(validFraction >= 0 && validFraction < 1)) {
    throw new RangeError(`regress options.validFraction must be a number in [0, 1), got ${JSON.stringify(validFraction)}`);
  }
  return {
    window: nonNegInt(o.window, 'window (--window)', 1),
    horizon: nonNegInt(o.horizon ?? 1, 'horizon (--horizon)', 0),
    stride: nonNegInt(o.stride ?? 1, 'stride', 1),
    perStep: o.perStep ?? false,
    validFraction,
  };
}

/** The used columns of a table as numbers: columns[k][row]. */
function readColumns(table: CsvTable, names: readonly string[], option: string): Float64Array[] {
  const idx = names.map((n) => columnIndex(table, n, option));
  return idx.map((k) => Float64Array.from(table.rows, (row) => numberCell(table, row, k)));
}

function loadTable(file: string): CsvTable {
  const format = formatOf(file, ['csv', 'tsv']);
  return parseCsv(file, readTextFile(file), format === 'tsv' ? '\t' : ',');
}

function checkNames(names: readonly string[] | undefined, option: string): void {
  if (names === undefined) return;
  if (!Array.isArray(names) || names.length === 0 || names.some((n) => typeof n !== 'string' || n === '')) {
    throw new TypeError(`regress options.${option} must be a non-empty array of column names`);
  }
}

/** Windows over rows [from, to) of the normalised columns. */
function windows(
  file: string, part: string, o: Resolved, meta: RegressMeta, cols: Map<string, Float64Array>, from: number, to: number,
): SequenceDataset {
  const rows = to - from;
  const need = o.window + o.horizon;
  if (rows < need) {
    throw new DataError(`${part} has ${rows} rows, fewer than window + horizon = ${need}; lower --window or --horizon, or use more rows`, { file });
  }
  const count = Math.floor((rows - need) / o.stride) + 1;
  const I = meta.inputColumns.length;
  const O = meta.targetColumns.length;
  const T = o.window;
  const norm = (name: string, r: number): number => {
    const s = meta.stats[name]!;
    return (cols.get(name)![r]! - s.mean) / s.std;
  };
  const inputs = new Float32Array(count * T * I); // [count, window, I]
  const targets = new Float32Array(count * (o.perStep ? T : 1) * O); // [count(, window), O]
  for (let i = 0; i < count; i++) {
    const s = from + i * o.stride;
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < I; k++) inputs[(i * T + t) * I + k] = norm(meta.inputColumns[k]!, s + t);
    }
    if (o.perStep) {
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < O; k++) targets[(i * T + t) * O + k] = norm(meta.targetColumns[k]!, s + t + o.horizon);
      }
    } else {
      for (let k = 0; k < O; k++) targets[i * O + k] = norm(meta.targetColumns[k]!, s + T - 1 + o.horizon);
    }
  }
  return {
    inputKind: 'dense', inputSize: I, targetKind: o.perStep ? 'value-per-step' : 'value-per-sequence', outputSize: O,
    count, maxSteps: T, lengths: new Int32Array(count).fill(T), inputs, targets,
  };
}

/** Loads a time series for training: normalisation from the training rows, training and validation windows. */
export function loadRegress(file: string, options: RegressOptions): TrainData<RegressMeta> {
  const o = resolve(options);
  checkNames(options.inputColumns, 'inputColumns');
  checkNames(options.targetColumns, 'targetColumns');
  const table = loadTable(file);
  const inputColumns = [...(options.inputColumns ?? table.header)];
  const targetColumns = [...(options.targetColumns ?? inputColumns)];
  const used = [...new Set([...inputColumns, ...targetColumns])];
  const values = readColumns(table, used, 'input or target columns');
  const cols = new Map(used.map((n, k) => [n, values[k]!]));
  const n = table.rows.length;
  const cut = o.validFraction > 0 ? Math.floor(n * (1 - o.validFraction)) : n;
  const stats: RegressMeta['stats'] = {};
  for (const [name, v] of cols) {
    let mean = 0;
    for (let r = 0; r < cut; r++) mean += v[r]!;
    mean /= Math.max(cut, 1);
    let sq = 0;
    for (let r = 0; r < cut; r++) sq += (v[r]! - mean) ** 2;
    const std = Math.sqrt(sq / Math.max(cut, 1));
    stats[name] = { mean, std: std > 1e-12 ? std : 1 };
  }
  const meta: RegressMeta = { task: 'regress', window: o.window, horizon: o.horizon, perStep: o.perStep, inputColumns, targetColumns, stats };
  const rowsOf = (a: number, b: number): string => `lines ${table.rows[a]?.line ?? '?'}..${table.rows[b - 1]?.line ?? '?'}`;
  const train = windows(file, `the training part (${rowsOf(0, cut)})`, o, meta, cols, 0, cut);
  let summary = `${file}: ${n} rows, inputs ${inputColumns.join(', ')} → targets ${targetColumns.join(', ')}; train ${train.count} windows of ${o.window}`;
  if (cut === n) return { train, meta, summary };
  const valid = windows(file, `the validation part (the last ${Math.round(o.validFraction * 100)}% of the rows, ${rowsOf(cut, n)})`, o, meta, cols, cut, n);
  summary += `, valid ${valid.count}`;
  return { train, valid, meta, summary };
}

/** Windows over a whole series, normalised with a trained model's statistics. */
export function loadRegressEval(file: string, meta: RegressMeta, options: { stride?: number } = {}): EvalData {
  const o = resolve({ window: meta.window, horizon: meta.horizon, perStep: meta.perStep, stride: options.stride, validFraction: 0 });
  const table = loadTable(file);
  const used = [...new Set([...meta.inputColumns, ...meta.targetColumns])];
  const values = readColumns(table, used, 'a column the model was trained on');
  const cols = new Map(used.map((n, k) => [n, values[k]!]));
  const dataset = windows(file, 'the file', o, meta, cols, 0, table.rows.length);
  return { dataset, summary: `${file}: ${table.rows.length} rows, ${dataset.count} windows of ${meta.window}` };
}

/** Predictions (or targets) in normalised units, [..., targetColumns] → the targets' own units. */
export function denormalize(meta: RegressMeta, values: ArrayLike<number>): Float32Array {
  const O = meta.targetColumns.length;
  if (values.length % O !== 0) throw new RangeError(`denormalize: ${values.length} values is not a multiple of the ${O} target columns`);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = meta.stats[meta.targetColumns[i % O]!]!;
    out[i] = values[i]! * s.std + s.mean;
  }
  return out;
}

/** Values in the columns' own units → normalised units, the inverse of denormalize (for `columns`, default the targets). */
export function normalize(meta: RegressMeta, values: ArrayLike<number>, columns: readonly string[] = meta.targetColumns): Float32Array {
  const C = columns.length;
  if (values.length % C !== 0) throw new RangeError(`normalize: ${values.length} values is not a multiple of the ${C} columns`);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const s = meta.stats[columns[i % C]!];
    if (!s) throw new RangeError(`normalize: column "${columns[i % C]}" has no statistics in the meta`);
    out[i] = (values[i]! - s.mean) / s.std;
  }
  return out;
}

/**
 * Windows to predict from, in the columns' own units (each a list of rows, each row the values
 * of `meta.inputColumns` in that order), normalised with the trained model's statistics. The
 * targets are zeros (unknown). A window may be shorter or longer than the training `window`.
 */
export function encodeRegressInputs(meta: RegressMeta, windows: readonly (readonly (readonly number[])[])[]): SequenceDataset {
  if (!Array.isArray(windows) || windows.length === 0) throw new TypeError('inputs must be a non-empty array of windows');
  const I = meta.inputColumns.length;
  const O = meta.targetColumns.length;
  const inputs = windows.map((w, i) => {
    if (!Array.isArray(w) || w.length === 0 || w.some((row) => !Array.isArray(row) || row.length !== I || row.some((v) => typeof v !== 'number' || !Number.isFinite(v)))) {
      throw new TypeError(`inputs[${i}] must be a non-empty array of rows of ${I} finite numbers each (${meta.inputColumns.join(', ')})`);
    }
    return normalize(meta, w.flat(), meta.inputColumns);
  });
  const perStep = meta.perStep;
  return packDataset({
    inputKind: 'dense', inputSize: I, targetKind: perStep ? 'value-per-step' : 'value-per-sequence', outputSize: O,
    inputs, targets: inputs.map((x) => new Float32Array((perStep ? x.length / I : 1) * O)),
  });
}
