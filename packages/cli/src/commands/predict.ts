/**
 * `weft predict`: labels (classify), tags (tag) or values (regress) for new inputs, given as
 * --text (repeatable) or a --data file: JSONL records with the text field, or a plain text
 * file with one input per line (for tag: tokens separated by spaces); for regress a CSV
 * series, predicted window by window.
 */
import type { KernelChoice } from '@weft/core';
import { encodeClassifyInputs, encodeTagInputs, parseJsonLines, parseCsv, columnIndex, readTextFile, splitLines, FieldReader, denormalize, DataError } from '../data/index.js';
import { loadModel, predictAll, softmaxRow } from '../run/model.js';
import { loadEvalData } from '../run/task.js';
import { InputError } from '../run/errors.js';
import type { Output } from '../run/output.js';

export interface PredictArgs {
  model?: string;
  text?: string[];
  data?: string;
  textColumn?: string;
  kernels: KernelChoice;
}

function readInputs(a: PredictArgs, field: string): string[] {
  if (a.text?.length) return a.text;
  if (a.data === undefined) throw new InputError('give the inputs with --text "..." (repeatable) or --data FILE');
  if (a.data.endsWith('.csv')) {
    const t = parseCsv(a.data, readTextFile(a.data));
    const k = columnIndex(t, field, '--text-column');
    return t.rows.map((r) => r.cells[k]!);
  }
  if (a.data.endsWith('.jsonl')) {
    const r = new FieldReader(a.data);
    return parseJsonLines(a.data, readTextFile(a.data)).map((rec) => {
      const v = rec.value[field];
      if (typeof v !== 'string' || v.length === 0) r.fail(rec.line, field, 'a non-empty string', v);
      return v as string;
    });
  }
  const lines = splitLines(readTextFile(a.data)).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new DataError('file has no inputs', { file: a.data });
  return lines;
}

export async function predictCommand(a: PredictArgs, out: Output): Promise<number> {
  const { run, model } = loadModel(a.model, a.kernels);
  const meta = run.config.meta;
  const O = model.config.outputSize;
  if (meta.task === 'classify') {
    let shown: (string | number[][])[];
    let d;
    if (meta.input.kind === 'chars') {
      const texts = readInputs(a, a.textColumn ?? 'text');
      shown = texts;
      d = encodeClassifyInputs(meta, meta.input.lowercase ? texts.map((t) => t.toLowerCase()) : texts);
    } else {
      // A model of number sequences: JSONL records with a "sequence" field of steps.
      if (a.data === undefined || !a.data.endsWith('.jsonl')) {
        throw new InputError(`${run.file}: this model reads number sequences; give --data FILE.jsonl with a "sequence" field ([[numbers], ...]) on each line`);
      }
      const r = new FieldReader(a.data);
      const size = meta.input.size;
      shown = parseJsonLines(a.data, readTextFile(a.data)).map((rec) => r.matrix(rec, 'sequence', size, `as the model (${size} per step)`));
      d = encodeClassifyInputs(meta, shown);
    }
    const y = predictAll(model, d);
    const predictions = shown.map((text, i) => {
      const p = softmaxRow(y, i * O, O);
      let k = 0;
      for (let j = 1; j < O; j++) if (p[j]! > p[k]!) k = j;
      return { input: text, label: meta.labels[k]!, probability: p[k]!, probabilities: Object.fromEntries(meta.labels.map((l, j) => [l, p[j]!])) };
    });
    const label = (x: string | number[][]) => (typeof x === 'string' ? x : `[${x.length} steps]`);
    out.result({ command: 'predict', model: run.file, predictions }, predictions.map((p) => `${label(p.input)}\t${p.label}\t${p.probability.toFixed(3)}`).join('\n'));
    return 0;
  }
  if (meta.task === 'tag') {
    const sentences = readInputs(a, a.textColumn ?? 'text').map((s) => s.trim().split(/\s+/));
    const d = encodeTagInputs(meta, sentences.map((s) => (meta.lowercase ? s.map((w) => w.toLowerCase()) : s)));
    const y = predictAll(model, d);
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
    out.result({ command: 'predict', model: run.file, predictions }, predictions.map((p) => p.tokens.map((w, t) => `${w}/${p.tags[t]}`).join(' ')).join('\n'));
    return 0;
  }
  if (meta.task === 'regress') {
    if (a.data === undefined) throw new InputError('give the series to predict from with --data FILE.csv');
    const { dataset } = loadEvalData(meta, a.data, {});
    const y = predictAll(model, dataset);
    const values = denormalize(meta, y);
    const n = meta.targetColumns.length;
    const rows = dataset.count * (meta.perStep ? dataset.maxSteps : 1);
    const predictions = Array.from({ length: rows }, (_, i) => Object.fromEntries(meta.targetColumns.map((c, j) => [c, values[i * n + j]!])));
    out.result({ command: 'predict', model: run.file, predictions }, predictions.map((p) => Object.values(p).map((v) => v.toPrecision(6)).join('\t')).join('\n'));
    return 0;
  }
  throw new InputError(`${run.file}: a language model; use 'weft generate' to sample text from it`);
}
