/**
 * Sequence classification data → 'class-per-sequence'.
 *
 * Formats (chosen by the file extension):
 *   .jsonl  {"text": "some words", "label": "pos"}            characters → token ids
 *           {"sequence": [[0.1, 2], [0.3, 1], ...], "label": "a"}  dense features, one array per step
 *           (the first record decides which; every record must then have the same kind)
 *   .csv / .tsv  a header with a text column and a label column (other columns are ignored);
 *           options.delimiter (--delimiter), else guessed from the header (csv.ts)
 * Field / column names: options.textField (--text-column, default "text") and
 * options.labelField (--label-column, default "label"). Labels are strings.
 *
 * The label set is the sorted set of training labels (see labels.ts); the character vocabulary
 * is built from the training texts (see vocab.ts for its reserved ids).
 */
import type { SequenceDataset } from './dataset.js';
import { columnIndex, parseCsv } from './csv.js';
import { DataError } from './errors.js';
import { FieldReader, parseJsonLines, type JsonRecord } from './jsonl.js';
import { buildLabelSet, labelIndex, listForMessage } from './labels.js';
import { packDataset } from './pack.js';
import { formatOf, readTextFile } from './read.js';
import {
  LongestTracker, countsLine, optionalPositiveInt, resolveSplit, splitIfAsked, type EvalData, type Longest, type SplitOptions, type TrainData,
} from './task.js';
import { UnknownSymbols, Vocab, distinctSymbols, type VocabJSON } from './vocab.js';
import { codePoints } from './text.js';

export interface ClassifyOptions extends SplitOptions {
  /** JSONL field / CSV column holding the text (--text-column, default "text"). */
  textField?: string;
  /** JSONL field / CSV column holding the label (--label-column, default "label"). */
  labelField?: string;
  /** Longest sequence accepted (--max-len); a longer one is an error, not silently cut. Default: no limit. */
  maxLen?: number;
  /** Lowercase texts before encoding (default false). Stored in the meta, so prediction does the same. */
  lowercase?: boolean;
  /** CSV field delimiter (--delimiter); default: guessed from the header (csv.ts). */
  delimiter?: string;
}

export type ClassifyInput =
  | { kind: 'chars'; vocab: VocabJSON; lowercase: boolean }
  | { kind: 'dense'; size: number };

export interface ClassifyMeta {
  task: 'classify';
  input: ClassifyInput;
  /** Class id → label. */
  labels: string[];
}

interface Example {
  line: number;
  text?: string;
  sequence?: number[][];
  label?: string;
}

interface Parsed {
  kind: 'chars' | 'dense';
  width: number;
  examples: Example[];
  longest?: Longest;
}

function tooLongError(file: string, line: number, field: string, n: number, unit: string, maxLen: number): never {
  throw new DataError(`field "${field}" is ${n} ${unit} long, more than maxLen = ${maxLen} (--max-len)`, { file, line, field });
}

/**
 * A JSONL record's text: a non-empty string (NFC), at most `maxLen` characters (code points;
 * --max-len), its length shown to `longest`. The classify and multilabel loaders read texts so.
 */
export function readTextField(f: FieldReader, r: JsonRecord, field: string, maxLen: number | undefined, longest: LongestTracker): string {
  const text = f.string(r, field);
  const n = codePoints(text);
  if (maxLen !== undefined && n > maxLen) tooLongError(f.file, r.line, field, n, 'characters', maxLen);
  longest.see(r.line, field, n, 'characters');
  return text;
}

function parseFile(file: string, o: ClassifyOptions, requireLabel: boolean, expect?: ClassifyInput): Parsed {
  const textField = o.textField ?? 'text';
  const labelField = o.labelField ?? 'label';
  const maxLen = optionalPositiveInt(o.maxLen, 'maxLen', '--max-len');
  const format = formatOf(file, ['jsonl', 'csv', 'tsv']);
  const text = readTextFile(file);
  const examples: Example[] = [];
  const tooLong = (line: number, field: string, n: number, unit: string): never => tooLongError(file, line, field, n, unit, maxLen!);

  if (format !== 'jsonl') {
    if (expect?.kind === 'dense') throw new DataError('the model was trained on dense "sequence" features, which only .jsonl files can hold', { file });
    const table = parseCsv(file, text, o.delimiter, format === 'tsv' ? '\t' : ',');
    const tk = columnIndex(table, textField, '--text-column');
    const lk = requireLabel ? columnIndex(table, labelField, '--label-column') : table.header.indexOf(labelField);
    const longest = new LongestTracker(file, table.rows.length, 4);
    for (const row of table.rows) {
      const t = row.cells[tk]!;
      if (t === '') throw new DataError(`column "${textField}" must be a non-empty text, got an empty cell`, { file, line: row.line, field: textField });
      const n = codePoints(t);
      if (maxLen !== undefined && n > maxLen) tooLong(row.line, textField, n, 'characters');
      longest.see(row.line, textField, n, 'characters');
      const ex: Example = { line: row.line, text: t };
      if (lk >= 0) {
        const l = row.cells[lk]!;
        if (l === '') throw new DataError(`column "${labelField}" must be a non-empty label, got an empty cell`, { file, line: row.line, field: labelField });
        ex.label = l;
      }
      examples.push(ex);
    }
    return { kind: 'chars', width: 0, examples, longest: longest.longest };
  }

  const records = parseJsonLines(file, text);
  const f: FieldReader = new FieldReader(file);
  const first = records[0]!;
  const kind = expect?.kind ?? (textField in first.value || !('sequence' in first.value) ? 'chars' : 'dense');
  let width = expect?.kind === 'dense' ? expect.size : undefined;
  let widthFrom = expect?.kind === 'dense' ? 'the model was trained on that many features per step' : '';
  let longest: LongestTracker | undefined;
  for (const r of records) {
    const ex: Example = { line: r.line };
    if (kind === 'chars') {
      if (!(textField in r.value) && r === first) {
        f.fail(r.line, textField, `a non-empty string (or give "sequence": [[numbers], ...] for dense features)`, undefined);
      }
      ex.text = readTextField(f, r, textField, maxLen, (longest ??= new LongestTracker(file, records.length, 4)));
    } else {
      const steps = r.value.sequence;
      if (maxLen !== undefined && Array.isArray(steps) && steps.length > maxLen) tooLong(r.line, 'sequence', steps.length, 'steps');
      ex.sequence = f.matrix(r, 'sequence', width, widthFrom);
      if (width === undefined) {
        width = ex.sequence[0]!.length;
        widthFrom = `as on line ${r.line}`;
      }
      (longest ??= new LongestTracker(file, records.length, 4 * width)).see(r.line, 'sequence', ex.sequence.length, 'steps');
    }
    if (requireLabel || labelField in r.value) ex.label = f.string(r, labelField);
    examples.push(ex);
  }
  return { kind, width: width ?? 0, examples, longest: longest?.longest };
}

function encode(
  file: string, p: Parsed, input: ClassifyInput, labels: readonly string[] | undefined, labelField: string, unknown?: UnknownSymbols,
): SequenceDataset {
  const index = labels ? labelIndex(labels) : undefined;
  const vocab = input.kind === 'chars' ? Vocab.fromJSON(input.vocab) : undefined;
  const inputs: ArrayLike<number>[] = [];
  const targets: number[] = [];
  for (const ex of p.examples) {
    if (vocab) inputs.push(vocab.encode(input.kind === 'chars' && input.lowercase ? ex.text!.toLowerCase() : ex.text!, unknown));
    else inputs.push(Float32Array.from(ex.sequence!.flat()));
    if (!index || ex.label === undefined) {
      targets.push(-1);
      continue;
    }
    const id = index.get(ex.label);
    if (id === undefined) {
      throw new DataError(`field "${labelField}" is ${JSON.stringify(ex.label)}, which is not one of the training labels: ${listForMessage(labels!)}`, { file, line: ex.line, field: labelField });
    }
    targets.push(id);
  }
  return packDataset({
    inputKind: input.kind === 'chars' ? 'tokens' : 'dense',
    inputSize: input.kind === 'chars' ? vocab!.size : input.size,
    targetKind: 'class-per-sequence',
    outputSize: labels?.length ?? 0,
    inputs,
    targets,
  });
}

function describe(file: string, d: SequenceDataset, meta: ClassifyMeta): string {
  const what = meta.input.kind === 'chars' ? `${distinctSymbols(d)} distinct characters` : `${meta.input.size} features per step`;
  let longest = 0;
  for (const L of d.lengths) longest = Math.max(longest, L);
  return `${file}: ${d.count} examples, ${meta.labels.length} labels (${countsLine(meta.labels, d.targets)}), ${what}, longest ${longest} steps`;
}

/** Loads classification training data, building the vocabulary and label set (at least two labels) from it. */
export function loadClassify(file: string, options: ClassifyOptions = {}): TrainData<ClassifyMeta> {
  const { validFraction, seed } = resolveSplit(options, 'classify options');
  const p = parseFile(file, options, true);
  const labels = buildLabelSet(p.examples.map((e) => e.label!));
  if (labels.length < 2) {
    const field = options.labelField ?? 'label';
    throw new DataError(`every example has the label ${JSON.stringify(labels[0])} (field "${field}"): a classifier learns to tell labels apart, so it needs at least two`, { file, field });
  }
  const lowercase = options.lowercase ?? false;
  const input: ClassifyInput = p.kind === 'chars'
    ? { kind: 'chars', vocab: Vocab.build('char', p.examples.map((e) => (lowercase ? e.text!.toLowerCase() : e.text!))).toJSON(), lowercase }
    : { kind: 'dense', size: p.width };
  const meta: ClassifyMeta = { task: 'classify', input, labels };
  const all = encode(file, p, input, labels, options.labelField ?? 'label');
  return { ...splitIfAsked(all, validFraction, seed), meta, summary: describe(file, all, meta), ...(p.longest ? { longest: p.longest } : {}) };
}

/** Loads labelled data encoded with a trained model's meta; a label outside the training labels is an error. */
export function loadClassifyEval(file: string, meta: ClassifyMeta, options: ClassifyOptions = {}): EvalData {
  const p = parseFile(file, options, true, meta.input);
  const unknown = meta.input.kind === 'chars' ? new UnknownSymbols('char') : undefined;
  const dataset = encode(file, p, meta.input, meta.labels, options.labelField ?? 'label', unknown);
  return { dataset, summary: describe(file, dataset, meta), ...(unknown ? { unknown: unknown.report() } : {}), ...(p.longest ? { longest: p.longest } : {}) };
}

/**
 * Inputs to predict on (texts, or dense step arrays), encoded with a trained model's meta
 * (lowercased when the model was trained so, NFC-normalised). Targets are -1 (unknown). A
 * character never seen in training encodes as Vocab.UNK; `unknown`, when given, counts them.
 */
export function encodeClassifyInputs(
  meta: ClassifyMeta, items: readonly (string | readonly (readonly number[])[])[], unknown?: UnknownSymbols,
): SequenceDataset {
  const examples: Example[] = items.map((it, i) => {
    if (meta.input.kind === 'chars') {
      if (typeof it !== 'string' || it.length === 0) throw new TypeError(`inputs[${i}] must be a non-empty string for a model of characters`);
      return { line: i + 1, text: it };
    }
    const size = meta.input.size;
    if (typeof it === 'string' || it.length === 0 || it.some((s) => s.length !== size)) {
      throw new TypeError(`inputs[${i}] must be a non-empty array of steps of ${size} numbers each`);
    }
    return { line: i + 1, sequence: it.map((s) => [...s]) };
  });
  if (examples.length === 0) throw new TypeError('inputs must not be empty');
  return encode('inputs', { kind: meta.input.kind, width: 0, examples }, meta.input, meta.labels, 'label', unknown);
}
