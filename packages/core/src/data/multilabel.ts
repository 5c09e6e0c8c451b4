/**
 * Multi-label data → 'multilabel-per-sequence': a text may carry any number of labels, none
 * included (a tagger of topics, say, where a post can be about sport and politics at once).
 *
 * Format: .jsonl (or .ndjson), one record per line:
 *   {"text": "Vote on the stadium tax", "labels": ["politics", "sports"]}
 *   {"text": "A quiet morning", "labels": []}          an empty array: no label applies
 * Field names: options.textField (--text-column, default "text") and options.labelField
 * (--label-column, default "labels"). Texts are read as in the classify task (classify.ts:
 * characters, NFC, --max-len, --lowercase); each label must be a non-empty string, and a row
 * that lists a label twice is refused (a duplicate is a mistake in the data more often than
 * not, and saying so is better than guessing what was meant).
 *
 * The label set is the sorted union of the training rows' labels (labels.ts); the target of a
 * row is a 0/1 float per label, which the sigmoid binary cross-entropy loss reads.
 */
import type { SequenceDataset } from './dataset.js';
import { readTextField, type ClassifyInput } from './classify.js';
import { DataError, describeValue } from './errors.js';
import { FieldReader, parseJsonLines, type JsonRecord } from './jsonl.js';
import { buildLabelSet, labelIndex, listForMessage } from './labels.js';
import { packDataset } from './pack.js';
import { formatOf, readTextFile } from './read.js';
import {
  LongestTracker, countsLine, optionalPositiveInt, resolveSplit, splitIfAsked, type EvalData, type Longest, type SplitOptions, type TrainData,
} from './task.js';
import { codePoints, nfc } from './text.js';
import { UnknownSymbols, Vocab, distinctSymbols } from './vocab.js';

export interface MultilabelOptions extends SplitOptions {
  /** JSONL field holding the text (--text-column, default "text"). */
  textField?: string;
  /** JSONL field holding the array of labels (--label-column, default "labels"). */
  labelField?: string;
  /** Longest text accepted, in characters (--max-len); a longer one is an error. Default: no limit. */
  maxLen?: number;
  /** Lowercase texts before encoding (default false). Stored in the meta, so prediction does the same. */
  lowercase?: boolean;
}

export interface MultilabelMeta {
  task: 'multilabel';
  /** Characters, as the classify task reads texts. */
  input: Extract<ClassifyInput, { kind: 'chars' }>;
  /** Label index → label: the model's outputs, one sigmoid each. */
  labels: string[];
}

interface Row {
  line: number;
  text: string;
  labels: string[];
}

/** A record's labels: an array (possibly empty) of distinct non-empty strings, NFC. */
function readLabels(f: FieldReader, r: JsonRecord, field: string): string[] {
  const v = r.value[field];
  const where = { file: f.file, line: r.line, field };
  if (!Array.isArray(v)) f.fail(r.line, field, 'an array of labels (strings; [] when no label applies)', v);
  const out: string[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < v.length; i++) {
    const s = v[i];
    if (typeof s !== 'string' || s.length === 0) throw new DataError(`field "${field}" entry ${i} must be a non-empty string, got ${describeValue(s)}`, where);
    const label = nfc(s);
    const first = seen.get(label);
    if (first !== undefined) {
      throw new DataError(`field "${field}" lists ${JSON.stringify(label)} twice (entries ${first} and ${i}): list each label of a row once`, where);
    }
    seen.set(label, i);
    out.push(label);
  }
  return out;
}

function parseFile(file: string, o: MultilabelOptions): { rows: Row[]; longest?: Longest } {
  const textField = o.textField ?? 'text';
  const labelField = o.labelField ?? 'labels';
  const maxLen = optionalPositiveInt(o.maxLen, 'maxLen', '--max-len');
  formatOf(file, ['jsonl']);
  const records = parseJsonLines(file, readTextFile(file));
  const f = new FieldReader(file);
  const longest = new LongestTracker(file, records.length, 4);
  const rows = records.map((r) => ({ line: r.line, text: readTextField(f, r, textField, maxLen, longest), labels: readLabels(f, r, labelField) }));
  return { rows, longest: longest.longest };
}

/** The rows encoded with a vocabulary and label set; a label outside the set is an error naming its line. */
function encode(file: string, rows: Row[], meta: MultilabelMeta, labelField: string, unknown?: UnknownSymbols): SequenceDataset {
  const vocab = Vocab.fromJSON(meta.input.vocab);
  const index = labelIndex(meta.labels);
  const C = meta.labels.length;
  const targets = rows.map((row) => {
    const y = new Float32Array(C); // [C] 0/1
    for (const l of row.labels) {
      const k = index.get(l);
      if (k === undefined) {
        throw new DataError(`field "${labelField}" has ${JSON.stringify(l)}, which is not one of the training labels: ${listForMessage(meta.labels)}`, { file, line: row.line, field: labelField });
      }
      y[k] = 1;
    }
    return y;
  });
  return packDataset({
    inputKind: 'tokens',
    inputSize: vocab.size,
    targetKind: 'multilabel-per-sequence',
    outputSize: C,
    inputs: rows.map((row) => vocab.encode(meta.input.lowercase ? row.text.toLowerCase() : row.text, unknown)),
    targets,
  });
}

function describe(file: string, rows: Row[], meta: MultilabelMeta, d: SequenceDataset): string {
  const index = labelIndex(meta.labels);
  const ids = rows.flatMap((r) => r.labels.map((l) => index.get(l) ?? -1));
  const none = rows.filter((r) => r.labels.length === 0).length;
  const longest = rows.reduce((m, r) => Math.max(m, codePoints(r.text)), 0);
  return `${file}: ${rows.length} examples, ${meta.labels.length} labels (${countsLine(meta.labels, ids)}; ${none} examples with none, ` +
    `${(ids.length / rows.length).toFixed(2)} per example), ${distinctSymbols(d)} distinct characters, longest ${longest} steps`;
}

/**
 * Loads multi-label training data, building the vocabulary and the label set (the sorted union
 * of the rows' labels) from it. Refused: a file where no row has a label, or where every row
 * has the same labels (nothing to learn: the model would answer them always).
 */
export function loadMultilabel(file: string, options: MultilabelOptions = {}): TrainData<MultilabelMeta> {
  const { validFraction, seed } = resolveSplit(options, 'multilabel options');
  const { rows, longest } = parseFile(file, options);
  const labelField = options.labelField ?? 'labels';
  const labels = buildLabelSet(rows.flatMap((r) => r.labels));
  if (labels.length === 0) {
    throw new DataError(`no example has a label (every field "${labelField}" is []): a multi-label model learns which labels apply, so it needs some`, { file, field: labelField });
  }
  const key = (r: Row) => JSON.stringify([...r.labels].sort());
  if (rows.every((r) => key(r) === key(rows[0]!))) {
    throw new DataError(`every example has the labels ${key(rows[0]!)} (field "${labelField}"): nothing to tell apart, the model would learn to answer them always`, { file, field: labelField });
  }
  const lowercase = options.lowercase ?? false;
  const vocab = Vocab.build('char', rows.map((r) => (lowercase ? r.text.toLowerCase() : r.text)));
  const meta: MultilabelMeta = { task: 'multilabel', input: { kind: 'chars', vocab: vocab.toJSON(), lowercase }, labels };
  const all = encode(file, rows, meta, labelField);
  return { ...splitIfAsked(all, validFraction, seed), meta, summary: describe(file, rows, meta, all), ...(longest ? { longest } : {}) };
}

/** Loads labelled data encoded with a trained model's meta; a label outside the training labels is an error. */
export function loadMultilabelEval(file: string, meta: MultilabelMeta, options: Omit<MultilabelOptions, 'validFraction' | 'seed' | 'lowercase'> = {}): EvalData {
  const { rows, longest } = parseFile(file, options);
  const unknown = new UnknownSymbols('char');
  const dataset = encode(file, rows, meta, options.labelField ?? 'labels', unknown);
  return { dataset, summary: describe(file, rows, meta, dataset), unknown: unknown.report(), ...(longest ? { longest } : {}) };
}

/**
 * Texts to predict on, encoded with a trained model's meta (lowercased when the model was
 * trained so, NFC). Targets are all 0 (unknown). `unknown`, when given, counts characters the
 * vocabulary lacks.
 */
export function encodeMultilabelInputs(meta: MultilabelMeta, texts: readonly string[], unknown?: UnknownSymbols): SequenceDataset {
  if (texts.length === 0) throw new TypeError('inputs must not be empty');
  const rows = texts.map((text, i) => {
    if (typeof text !== 'string' || text.length === 0) throw new TypeError(`inputs[${i}] must be a non-empty string`);
    return { line: i + 1, text, labels: [] };
  });
  return encode('inputs', rows, meta, 'labels', unknown);
}
