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
 *
 * Prediction (`loadRegressEval`, `forecastRegress`): every prediction is labelled with the row it
 * predicts (`targetRows`), and a file's date column, if it has one, gives that row's date: the
 * first column the model does not read whose name contains date, time, day, week, month, year,
 * period or timestamp (any case). `forecastRegress` continues past the last row, one row at a
 * time, feeding each prediction back as the next window's last row; that needs every input
 * column to be a target and a horizon of at least 1 (`forecastProblem` says why not otherwise).
 */
import type { SequenceDataset } from './dataset.js';
import { columnIndex, numberCell, parseCsv, type CsvTable } from './csv.js';
import { DataError, saneDataValue } from './errors.js';
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
  /** CSV field delimiter (--delimiter); default: guessed from the header (csv.ts). */
  delimiter?: string;
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

/** A CSV series as a trained regress model reads it. */
export interface RegressSeries {
  file: string;
  /** Data rows (the header not counted). */
  rows: number;
  /** The physical CSV line of each row. */
  lines: number[];
  /** The model's columns (inputs and targets), raw values by name. */
  columns: Map<string, Float64Array>;
  /** The date column, if the file has one (see the file comment): its name and each row's cell. */
  dates?: { column: string; values: string[] };
}

const DATE_NAME = /date|time|day|week|month|year|period|timestamp/i;

/** Reads the columns a trained model uses from a CSV series, and its date column if any. */
export function readRegressSeries(file: string, meta: RegressMeta, delimiter?: string): RegressSeries {
  const table = loadTable(file, delimiter);
  const used = [...new Set([...meta.inputColumns, ...meta.targetColumns])];
  const values = readColumns(table, used, 'a column the model was trained on');
  const series: RegressSeries = {
    file, rows: table.rows.length, lines: table.rows.map((r) => r.line), columns: new Map(used.map((n, k) => [n, values[k]!])),
  };
  const k = table.header.findIndex((name) => !used.includes(name) && DATE_NAME.test(name));
  if (k >= 0) series.dates = { column: table.header[k]!, values: table.rows.map((r) => r.cells[k]!) };
  return series;
}

function loadTable(file: string, delimiter: string | undefined): CsvTable {
  const format = formatOf(file, ['csv', 'tsv']);
  return parseCsv(file, readTextFile(file), delimiter, format === 'tsv' ? '\t' : ',');
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
  const table = loadTable(file, options.delimiter);
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

export interface RegressEvalData extends EvalData {
  series: RegressSeries;
  /**
   * The 0-based row each target (and prediction) belongs to, in the dataset's target order:
   * [count] windows, or [count, window] steps with perStep.
   */
  targetRows: Int32Array;
}

/** Windows over a whole series (a file, or a series already read), normalised with a trained model's statistics. */
export function loadRegressEval(file: string | RegressSeries, meta: RegressMeta, options: { stride?: number; delimiter?: string } = {}): RegressEvalData {
  const o = resolve({ window: meta.window, horizon: meta.horizon, perStep: meta.perStep, stride: options.stride, validFraction: 0 });
  const series = typeof file === 'string' ? readRegressSeries(file, meta, options.delimiter) : file;
  checkNormalised(series, meta);
  const dataset = windows(series.file, 'the file', o, meta, series.columns, 0, series.rows);
  const T = o.perStep ? o.window : 1;
  const targetRows = new Int32Array(dataset.count * T);
  for (let i = 0; i < dataset.count; i++) {
    for (let t = 0; t < T; t++) targetRows[i * T + t] = i * o.stride + (o.perStep ? t : o.window - 1) + o.horizon;
  }
  return { dataset, series, targetRows, summary: `${series.file}: ${series.rows} rows, ${dataset.count} windows of ${meta.window}` };
}

/**
 * Every value of a series, normalised with a trained model's statistics, must still be a sane
 * number (saneDataValue): a value far outside what the model was trained on (a column that was
 * near constant in training) would otherwise overflow the float32 loss.
 */
function checkNormalised(series: RegressSeries, meta: RegressMeta): void {
  for (const [name, v] of series.columns) {
    const { mean, std } = meta.stats[name]!;
    for (let r = 0; r < v.length; r++) {
      const z = (v[r]! - mean) / std;
      if (!saneDataValue(z)) {
        throw new DataError(`column "${name}" is ${v[r]}, which normalises to ${z.toPrecision(3)} with the training data's mean ${mean.toPrecision(6)} ` +
          `and standard deviation ${std.toPrecision(3)}: past ±1e15 the model's float32 arithmetic overflows; this value is not of the data the model was trained on`,
        { file: series.file, line: series.lines[r], field: name });
      }
    }
  }
}

/** A target column's errors in its own units. */
export interface RegressErrors {
  column: string;
  /** Mean absolute error. */
  mae: number;
  /** Root mean squared error. */
  rmse: number;
  /** Predictions compared. */
  count: number;
}

/**
 * Mean absolute and root mean squared error per target column, in the data's units: `outputs`
 * are a model's raw (normalised) outputs for `data.dataset`, compared with the file's own values
 * at `data.targetRows`.
 */
export function regressErrors(meta: RegressMeta, data: RegressEvalData, outputs: ArrayLike<number>): RegressErrors[] {
  const O = meta.targetColumns.length;
  const n = data.targetRows.length;
  if (outputs.length !== n * O) throw new RangeError(`regressErrors: ${outputs.length} outputs, expected ${n * O} (${n} predictions × ${O} targets)`);
  const pred = denormalize(meta, outputs);
  return meta.targetColumns.map((column, j) => {
    const truth = data.series.columns.get(column)!;
    let abs = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const e = pred[i * O + j]! - truth[data.targetRows[i]!]!;
      abs += Math.abs(e);
      sq += e * e;
    }
    return { column, mae: abs / n, rmse: Math.sqrt(sq / n), count: n };
  });
}

/** Why a model cannot forecast past the end of its data, or undefined when it can. */
export function forecastProblem(meta: RegressMeta): string | undefined {
  if (meta.horizon < 1) return 'the model predicts the row it reads (horizon 0), so it cannot predict a row past the last one';
  const missing = meta.inputColumns.filter((c) => !meta.targetColumns.includes(c));
  if (missing.length === 0) return undefined;
  const list = missing.map((c) => `"${c}"`).join(', ');
  return `the model reads ${list}, which it does not predict (its targets: ${meta.targetColumns.join(', ')}), so past the last row it would have no ${list} to read; ` +
    `train a model whose inputs are all among its targets (e.g. --inputs ${meta.targetColumns.join(' ')})`;
}

export interface RegressForecast {
  /** The 0-based row each forecast is for: series.rows, series.rows + 1, ... */
  rows: number[];
  /** Forecast values in the targets' own units, [steps, targetColumns]. */
  values: Float32Array;
  /** Each forecast row's date, when the series has a date column with a regular step (see nextDates). */
  dates?: (string | undefined)[];
}

/**
 * Continues a series `steps` rows past its end. Row r = rows + k is predicted from the window
 * ending at row r - horizon, whose rows past the end are earlier forecasts, each fed back in the
 * targets' own units exactly as if the file had had that row. `predict` maps a dataset of
 * windows to the model's raw outputs (normalised; [count, targets], or [count, window, targets]
 * with perStep, whose last step is taken).
 */
export function forecastRegress(
  meta: RegressMeta, series: RegressSeries, steps: number, predict: (windows: SequenceDataset) => ArrayLike<number>,
): RegressForecast {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`forecast steps must be a positive integer, got ${JSON.stringify(steps)}`);
  const why = forecastProblem(meta);
  if (why !== undefined) throw new RangeError(why);
  const W = meta.window;
  const h = meta.horizon;
  const n = series.rows;
  if (n < W + h - 1) {
    throw new DataError(`has ${n} rows; forecasting needs at least window + horizon - 1 = ${W + h - 1} (the first forecast row is predicted from the window ending ${h} row${h > 1 ? 's' : ''} before it)`, { file: series.file });
  }
  const cols = new Map<string, Float64Array>();
  for (const [name, v] of series.columns) {
    const ext = new Float64Array(n + steps);
    ext.set(v);
    cols.set(name, ext);
  }
  const o = resolve({ window: W, horizon: h, perStep: meta.perStep, validFraction: 0 });
  const O = meta.targetColumns.length;
  const values = new Float32Array(steps * O);
  const rows: number[] = [];
  for (let k = 0; k < steps; k++) {
    const r = n + k;
    const end = r - h;
    const d = windows(series.file, 'the forecast window', o, meta, cols, end - W + 1, end + 1 + h);
    const y = predict(d);
    const last = meta.perStep ? (W - 1) * O : 0;
    const v = denormalize(meta, Array.from({ length: O }, (_, j) => y[last + j]!));
    values.set(v, k * O);
    meta.targetColumns.forEach((c, j) => { cols.get(c)![r] = v[j]!; });
    rows.push(r);
  }
  const out: RegressForecast = { rows, values };
  if (series.dates) out.dates = nextDates(series.dates.values, steps);
  return out;
}

/**
 * The `count` dates after a column's last value, continuing the step between its last two
 * values: ISO days (2024-01-05), ISO months (2024-01, or days on the same day, up to the 28th, of each month)
 * and plain integers (years, week numbers). Anything else gives undefined dates.
 */
export function nextDates(values: readonly string[], count: number): (string | undefined)[] {
  const none = new Array<undefined>(count).fill(undefined);
  if (values.length < 2) return none;
  const a = values[values.length - 2]!;
  const b = values[values.length - 1]!;
  if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const step = Number(b) - Number(a);
    return step > 0 ? Array.from({ length: count }, (_, k) => String(Number(b) + (k + 1) * step)) : none;
  }
  const ymd = (s: string) => /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(s);
  const pa = ymd(a);
  const pb = ymd(b);
  if (!pa || !pb || (pa[3] === undefined) !== (pb[3] === undefined)) return none;
  const pad = (x: number, w = 2) => String(x).padStart(w, '0');
  const months = (p: RegExpExecArray) => Number(p[1]) * 12 + Number(p[2]) - 1;
  if (pb[3] === undefined || (pa[3] === pb[3] && Number(pb[3]) <= 28)) {
    const step = months(pb) - months(pa);
    if (step <= 0) return none;
    return Array.from({ length: count }, (_, k) => {
      const m = months(pb) + (k + 1) * step;
      const ym = `${pad(Math.floor(m / 12), 4)}-${pad((m % 12) + 1)}`;
      return pb[3] === undefined ? ym : `${ym}-${pb[3]}`;
    });
  }
  const day = (p: RegExpExecArray) => Date.UTC(Number(p[1]), Number(p[2]) - 1, Number(p[3]));
  const step = day(pb) - day(pa);
  if (!(step > 0)) return none;
  return Array.from({ length: count }, (_, k) => new Date(day(pb) + (k + 1) * step).toISOString().slice(0, 10));
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
