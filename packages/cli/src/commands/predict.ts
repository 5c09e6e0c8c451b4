/**
 * `weft predict`: labels (classify; multilabel: every label of probability ≥ --threshold, default
 * 0.5, and with --json every label's probability), tags (tag) or values (regress) for new inputs, given as
 * --text (repeatable) or a --data file: JSONL records with the text field (for tag also a
 * "tokens" list), or a plain text file with one input per line; for regress a CSV series,
 * predicted window by window, each prediction labelled with the row it predicts (and its date),
 * and --forecast N rows past the end. Characters or words the model never saw in training are
 * counted: a warning on stderr and `unknown` in the --json result.
 */
import {
  encodeClassifyInputs, encodeMultilabelInputs, encodeTagInputs, parseJsonLines, parseCsv, columnIndex, readTextFile, splitLines, FieldReader, denormalize, DataError,
  UnknownSymbols, tagTokens, readRegressSeries, loadRegressEval, forecastRegress, forecastProblem,
  type DataMeta, type RegressMeta, type SequenceDataset, type UnknownReport,
} from '@weft/core';
import type { KernelChoice } from '@weft/core';
import { loadModel, multilabelRow, predictAll, softmaxRow } from '../run/model.js';
import { InputError, UsageError } from '../run/errors.js';
import { withLimits, type LimitContext } from '../run/limits.js';
import type { Output } from '../run/output.js';

export interface PredictArgs {
  model?: string;
  text?: string[];
  data?: string;
  textColumn?: string;
  forecast?: number;
  delimiter?: string;
  /** multilabel: the probability from which a label is given (default 0.5). */
  threshold?: number;
  kernels: KernelChoice;
}

/** Inputs, each with the line of --data it was read from (none for --text). */
interface Inputs<T> {
  items: T[];
  lines?: number[];
}

function readInputs(a: PredictArgs, field: string): Inputs<string> {
  if (a.text?.length) return { items: a.text };
  if (a.data === undefined) throw new UsageError('give the inputs with --text "..." (repeatable) or --data FILE');
  if (a.data.endsWith('.csv')) {
    const t = parseCsv(a.data, readTextFile(a.data), a.delimiter);
    const k = columnIndex(t, field, '--text-column');
    return { items: t.rows.map((r) => r.cells[k]!), lines: t.rows.map((r) => r.line) };
  }
  if (a.data.endsWith('.jsonl')) {
    const r = new FieldReader(a.data);
    const records = parseJsonLines(a.data, readTextFile(a.data));
    return {
      items: records.map((rec) => {
        const v = rec.value[field];
        if (typeof v !== 'string' || v.length === 0) r.fail(rec.line, field, 'a non-empty string', v);
        return v as string;
      }),
      lines: records.map((rec) => rec.line),
    };
  }
  const all = splitLines(readTextFile(a.data));
  const lines = all.flatMap((l, i) => (l.trim() !== '' ? [i + 1] : []));
  if (lines.length === 0) throw new DataError('file has no inputs', { file: a.data });
  return { items: lines.map((n) => all[n - 1]!), lines };
}

/** Tag inputs: texts to split into words, or, from a JSONL file, a "tokens" list where a record has one. */
function readTagInputs(a: PredictArgs, field: string): Inputs<string | string[]> {
  if (a.data === undefined || !a.data.endsWith('.jsonl')) return readInputs(a, field);
  const r = new FieldReader(a.data);
  const records = parseJsonLines(a.data, readTextFile(a.data));
  return { items: records.map((rec) => ('tokens' in rec.value ? r.strings(rec, 'tokens') : r.string(rec, field))), lines: records.map((rec) => rec.line) };
}

/**
 * What a refusal for memory names (run/limits.ts): the input with the longest encoded sequence,
 * by its line of --data, or its place among the --text inputs.
 */
function limitsOf(a: PredictArgs, file: string, meta: DataMeta, d: SequenceDataset, lines: number[] | undefined, field: string, unit: string): LimitContext {
  let k = 0;
  for (let i = 1; i < d.count; i++) if (d.lengths[i]! > d.lengths[k]!) k = i;
  const steps = d.lengths[k]!;
  // (run/limits.ts names an input of --text by its place, under the file name '--text'.)
  const longest = a.data !== undefined && lines ? { file: a.data, line: lines[k]!, field, steps, unit } : { file: '--text', line: k + 1, field, steps, unit };
  return { checkpoint: file, data: { meta, ...(a.data ? { file: a.data } : {}), longest } };
}

export async function predictCommand(a: PredictArgs, out: Output): Promise<number> {
  const { run, model } = loadModel(a.model, a.kernels);
  out.noticeFifo(a.data, '--data');
  const meta = run.config.meta;
  const O = model.outputSize;
  if (a.forecast !== undefined && meta.task !== 'regress') throw new InputError(`--forecast: ${run.file} is a ${meta.task} model; only regress models forecast`);
  if (a.threshold !== undefined && meta.task !== 'multilabel') throw new InputError(`--threshold: ${run.file} is a ${meta.task} model; only multilabel models have a threshold`);
  if (meta.task === 'classify') {
    let shown: (string | number[][])[];
    let d;
    let unknown: UnknownReport | undefined;
    let lines: number[] | undefined;
    const field = meta.input.kind === 'chars' ? a.textColumn ?? 'text' : 'sequence';
    if (meta.input.kind === 'chars') {
      const texts = readInputs(a, field);
      shown = texts.items;
      lines = texts.lines;
      const counter = new UnknownSymbols('char');
      d = encodeClassifyInputs(meta, texts.items, counter);
      unknown = out.unknown(counter.report());
    } else {
      // A model of number sequences: JSONL records with a "sequence" field of steps.
      if (a.data === undefined || !a.data.endsWith('.jsonl')) {
        throw new UsageError(`${run.file}: this model reads number sequences; give --data FILE.jsonl with a "sequence" field ([[numbers], ...]) on each line`);
      }
      const r = new FieldReader(a.data);
      const size = meta.input.size;
      const records = parseJsonLines(a.data, readTextFile(a.data));
      shown = records.map((rec) => r.matrix(rec, 'sequence', size, `as the model (${size} per step)`));
      lines = records.map((rec) => rec.line);
      d = encodeClassifyInputs(meta, shown);
    }
    const dataset = d;
    const y = withLimits(limitsOf(a, run.file, meta, dataset, lines, field, meta.input.kind === 'chars' ? 'characters' : 'steps'), () => predictAll(model, dataset));
    const predictions = shown.map((text, i) => {
      const p = softmaxRow(y, i * O, O);
      let k = 0;
      for (let j = 1; j < O; j++) if (p[j]! > p[k]!) k = j;
      return { input: text, label: meta.labels[k]!, probability: p[k]!, probabilities: Object.fromEntries(meta.labels.map((l, j) => [l, p[j]!])) };
    });
    const label = (x: string | number[][]) => (typeof x === 'string' ? x : `[${x.length} steps]`);
    out.result({ command: 'predict', model: run.file, predictions, ...(unknown ? { unknown } : {}) }, predictions.map((p) => `${label(p.input)}\t${p.label}\t${p.probability.toFixed(3)}`).join('\n'));
    return 0;
  }
  if (meta.task === 'multilabel') {
    const field = a.textColumn ?? 'text';
    const texts = readInputs(a, field);
    const counter = new UnknownSymbols('char');
    const d = encodeMultilabelInputs(meta, texts.items, counter);
    const unknown = out.unknown(counter.report());
    const y = withLimits(limitsOf(a, run.file, meta, d, texts.lines, field, 'characters'), () => predictAll(model, d));
    const threshold = a.threshold ?? 0.5;
    const predictions = texts.items.map((text, i) => ({ input: text, ...multilabelRow(meta.labels, y, i * O, threshold) }));
    const shown = (p: (typeof predictions)[number]) => p.labels.map((l) => `${l} ${p.probabilities[l]!.toFixed(3)}`).join(', ') || '(none)';
    out.result({ command: 'predict', model: run.file, threshold, predictions, ...(unknown ? { unknown } : {}) }, predictions.map((p) => `${p.input}\t${shown(p)}`).join('\n'));
    return 0;
  }
  if (meta.task === 'tag') {
    const inputs = readTagInputs(a, a.textColumn ?? 'text');
    const sentences = inputs.items.map((s, i) => {
      const tokens = tagTokens(s);
      if (tokens.length === 0) throw new InputError(`input ${i + 1} (${JSON.stringify(s)}) has no words to tag`);
      return tokens;
    });
    const counter = new UnknownSymbols('word');
    const d = encodeTagInputs(meta, sentences, counter);
    const unknown = out.unknown(counter.report());
    const y = withLimits(limitsOf(a, run.file, meta, d, inputs.lines, a.textColumn ?? 'text', 'tokens'), () => predictAll(model, d));
    const S = d.maxSteps;
    const predictions = sentences.map((tokens, i) => ({
      tokens,
      tags: tokens.map((_, t) => {
        const p = softmaxRow(y, (i * S + t) * O, O);
        let k = 0;
        for (let j = 1; j < O; j++) if (p[j]! > p[k]!) k = j;
        return meta.tags[k]!;
      }),
    }));
    out.result({ command: 'predict', model: run.file, predictions, unknown }, predictions.map((p) => p.tokens.map((w, t) => `${w}/${p.tags[t]}`).join(' ')).join('\n'));
    return 0;
  }
  if (meta.task === 'regress') return predictRegress(a, meta, run.file, model, out);
  throw new InputError(`${run.file}: a language model; use 'weft generate' to sample text from it`);
}

/**
 * Regress: one prediction per window of --data, labelled with the row it predicts (1-based data
 * row, CSV line, date), then --forecast rows past the end.
 */
function predictRegress(a: PredictArgs, meta: RegressMeta, file: string, model: ReturnType<typeof loadModel>['model'], out: Output): number {
  if (a.data === undefined) throw new UsageError(`${file}: a regress model predicts from a series: give --data FILE.csv`);
  if (a.forecast !== undefined) {
    const why = forecastProblem(meta);
    if (why !== undefined) throw new InputError(`--forecast: ${file}: ${why}`);
  }
  const series = readRegressSeries(a.data, meta, a.delimiter);
  const cols = meta.targetColumns;
  const n = cols.length;
  const date = (r: number): { date?: string } => (series.dates?.values[r] !== undefined ? { date: series.dates.values[r] } : {});
  // With --forecast, a file too short for one full window-plus-horizon still forecasts.
  const inFile = a.forecast === undefined || series.rows >= meta.window + meta.horizon;
  const predictions: { row: number; line: number; date?: string; values: Record<string, number> }[] = [];
  if (inFile) {
    const data = loadRegressEval(series, meta);
    const values = denormalize(meta, predictAll(model, data.dataset));
    data.targetRows.forEach((r, i) => {
      predictions.push({ row: r + 1, line: series.lines[r]!, ...date(r), values: Object.fromEntries(cols.map((c, j) => [c, values[i * n + j]!])) });
    });
  }
  let forecast: { row: number; date?: string; values: Record<string, number> }[] | undefined;
  if (a.forecast !== undefined) {
    const f = forecastRegress(meta, series, a.forecast, (d) => predictAll(model, d));
    forecast = f.rows.map((r, k) => ({
      row: r + 1, ...(f.dates?.[k] !== undefined ? { date: f.dates[k] } : {}), values: Object.fromEntries(cols.map((c, j) => [c, f.values[k * n + j]!])),
    }));
  }
  const dated = series.dates !== undefined;
  const line = (p: { row: number; date?: string; values: Record<string, number> }): string =>
    [String(p.row), ...(dated ? [p.date ?? ''] : []), ...cols.map((c) => p.values[c]!.toPrecision(6))].join('\t');
  const text = [['row', ...(dated ? [series.dates!.column] : []), ...cols].join('\t'), ...predictions.map(line)];
  if (forecast) text.push(`forecast past row ${series.rows} (each prediction fed back as the next input):`, ...forecast.map(line));
  out.result({ command: 'predict', model: file, predictions, ...(forecast ? { forecast } : {}) }, text.join('\n'));
  return 0;
}
