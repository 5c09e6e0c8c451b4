import { validateDataset, type SequenceDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { checkDataMeta } from './meta.js';
import { encodeMultilabelInputs, loadMultilabel, loadMultilabelEval, type MultilabelMeta } from './multilabel.js';
import { UnknownSymbols, Vocab } from './vocab.js';
import { tempFiles, dataError } from './testkit.js';

const { file } = tempFiles('weft-multilabel-');

/** The (text, labels) pairs a dataset holds, decoded with its meta: the inverse of loading. */
function decodeAll(d: SequenceDataset, meta: MultilabelMeta): [string, string[]][] {
  const v = Vocab.fromJSON(meta.input.vocab);
  const C = meta.labels.length;
  return Array.from({ length: d.count }, (_, i) => [
    v.decodeText(d.inputs.subarray(i * d.maxSteps, (i + 1) * d.maxSteps)),
    meta.labels.filter((_, j) => d.targets[i * C + j] === 1),
  ]);
}

const rows: [string, string[]][] = [
  ['Vote on the stadium tax', ['politics', 'sports']],
  ['A quiet morning', []],
  ['New chip', ['tech']],
  ['Chef wins the match', ['sports', 'food']],
];
const jsonl = (rs: readonly (readonly [string, unknown])[], field = 'labels') => rs.map(([text, labels]) => JSON.stringify({ text, [field]: labels })).join('\n') + '\n';

describe('loadMultilabel', () => {
  it('loads a labels array per row into 0/1 targets over the sorted union of the labels; [] is a row with no label', () => {
    const f = file('m.jsonl', jsonl(rows));
    const { train, valid, meta, summary, longest } = loadMultilabel(f, { validFraction: 0 });
    validateDataset(train);
    expect(valid).toBeUndefined();
    expect(train.targetKind).toBe('multilabel-per-sequence');
    expect(train.targets).toBeInstanceOf(Float32Array);
    expect(meta).toMatchObject({ task: 'multilabel', labels: ['food', 'politics', 'sports', 'tech'], input: { kind: 'chars', lowercase: false } });
    expect(() => checkDataMeta(meta)).not.toThrow();
    // Each row's labels in label-set order (the file listed "sports", "food").
    expect(decodeAll(train, meta)).toEqual(rows.map(([t, l]) => [t, [...l].sort()]));
    expect(Array.from(train.targets.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(summary).toContain('4 examples, 4 labels (food 1, politics 1, sports 2, tech 1; 1 examples with none');
    expect(longest).toEqual({ file: f, line: 1, field: 'text', steps: 23, unit: 'characters' });
  });
  it('reads other field names, lowercases when asked, and reads labels and texts in NFC', () => {
    const f = file('f.jsonl', '{"title": "Zoe\\u0308 Wins", "topics": ["cafe\\u0301"]}\n{"title": "b", "topics": ["café", "x"]}\n');
    const { train, meta } = loadMultilabel(f, { textField: 'title', labelField: 'topics', lowercase: true, validFraction: 0 });
    expect(meta.labels).toEqual(['café', 'x']);
    expect(meta.input.lowercase).toBe(true);
    expect(decodeAll(train, meta)).toEqual([['zoë wins', ['café']], ['b', ['café', 'x']]]);
  });
  it('splits off a seeded validation part, the same for the same seed', () => {
    const f = file('m40.jsonl', jsonl(Array.from({ length: 40 }, (_, i) => [`t${i}`, i % 3 ? ['a'] : ['a', 'b']] as const)));
    const a = loadMultilabel(f, { validFraction: 0.25, seed: 3 });
    expect([a.train.count, a.valid!.count]).toEqual([30, 10]);
    validateDataset(a.valid!);
    expect(decodeAll(loadMultilabel(f, { validFraction: 0.25, seed: 3 }).valid!, a.meta)).toEqual(decodeAll(a.valid!, a.meta));
  });
});

describe('loadMultilabel refuses, naming file, line and field', () => {
  const refusal = (name: string, content: string, o = {}) => {
    const f = file(name, content);
    return { f, e: dataError(() => loadMultilabel(f, o)) };
  };
  it('labels that are not an array, or missing', () => {
    const { f, e } = refusal('s.jsonl', '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": "x"}\n');
    expect(e.message).toBe(`${f}:2: field "labels" must be an array of labels (strings; [] when no label applies), got "x"`);
    expect([e.line, e.field]).toEqual([2, 'labels']);
    const m = refusal('miss.jsonl', '{"text": "a", "labels": ["x"]}\n{"text": "b", "label": "y"}\n');
    expect(m.e.message).toBe(`${m.f}:2: field "labels" must be an array of labels (strings; [] when no label applies), it is missing`);
  });
  it('a label that is not a non-empty string', () => {
    const { f, e } = refusal('n.jsonl', '{"text": "a", "labels": ["x", 3]}\n');
    expect(e.message).toBe(`${f}:1: field "labels" entry 1 must be a non-empty string, got 3`);
    const g = refusal('e.jsonl', '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": [""]}\n');
    expect(g.e.message).toBe(`${g.f}:2: field "labels" entry 0 must be a non-empty string, got ""`);
  });
  it('a row that lists a label twice (also when the two spellings are one in NFC)', () => {
    const { f, e } = refusal('d.jsonl', '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": ["x", "y", "x"]}\n');
    expect(e.message).toBe(`${f}:2: field "labels" lists "x" twice (entries 0 and 2): list each label of a row once`);
    const g = refusal('dn.jsonl', '{"text": "a", "labels": ["caf\\u00e9", "cafe\\u0301"]}\n');
    expect(g.e.message).toBe(`${g.f}:1: field "labels" lists "café" twice (entries 0 and 1): list each label of a row once`);
  });
  it('a missing or empty text, and a text longer than --max-len', () => {
    const a = refusal('t.jsonl', '{"text": "a", "labels": ["x"]}\n{"labels": ["x"]}\n');
    expect(a.e.message).toBe(`${a.f}:2: field "text" must be a non-empty string, it is missing`);
    const b = refusal('te.jsonl', '{"text": "", "labels": ["x"]}\n');
    expect(b.e.message).toBe(`${b.f}:1: field "text" must be a non-empty string, got ""`);
    const c = refusal('long.jsonl', '{"text": "abc", "labels": ["x"]}\n{"text": "abcdef", "labels": []}\n', { maxLen: 5 });
    expect(c.e.message).toBe(`${c.f}:2: field "text" is 6 characters long, more than maxLen = 5 (--max-len)`);
  });
  it('a file where no row has a label, or every row the same labels', () => {
    const a = refusal('none.jsonl', '{"text": "a", "labels": []}\n{"text": "b", "labels": []}\n');
    expect(a.e.message).toBe(`${a.f}: no example has a label (every field "labels" is []): a multi-label model learns which labels apply, so it needs some`);
    const b = refusal('same.jsonl', '{"text": "a", "labels": ["y", "x"]}\n{"text": "b", "labels": ["x", "y"]}\n');
    expect(b.e.message).toBe(`${b.f}: every example has the labels ["x","y"] (field "labels"): nothing to tell apart, the model would learn to answer them always`);
    // One label is enough when some rows lack it: the model learns when it applies.
    expect(loadMultilabel(file('one.jsonl', '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": []}\n'), { validFraction: 0 }).meta.labels).toEqual(['x']);
  });
  it('malformed JSON, a non-object line, an empty file, a file that is not .jsonl', () => {
    const a = refusal('bad.jsonl', '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": [\n');
    expect(a.e.message).toMatch(/bad\.jsonl:2: not valid JSON: /);
    const b = refusal('arr.jsonl', '["a", ["x"]]\n');
    expect(b.e.message).toBe(`${b.f}:1: expected a JSON object like {"text": ..., "label": ...}, got an array of 2`);
    expect(refusal('empty.jsonl', '').e.message).toMatch(/empty\.jsonl: file is empty$/);
    expect(refusal('m.csv', 'text,labels\na,x\n').e.message).toMatch(/m\.csv: cannot tell the format from the file name; expected \.jsonl \(or \.ndjson\)$/);
  });
});

describe('loadMultilabelEval and encodeMultilabelInputs', () => {
  const meta = loadMultilabel(file('tr.jsonl', jsonl(rows)), { validFraction: 0 }).meta;
  it('encodes with the training vocabulary and labels, counting unseen characters', () => {
    const f = file('ev.jsonl', jsonl([['New chip!', ['tech']], ['quiet', []]]));
    const { dataset, unknown } = loadMultilabelEval(f, meta);
    validateDataset(dataset);
    expect(dataset.outputSize).toBe(4);
    expect(Array.from(dataset.targets)).toEqual([0, 0, 0, 1, 0, 0, 0, 0]);
    expect(unknown).toMatchObject({ count: 1, examples: [{ symbol: '!', count: 1 }] });
  });
  it('refuses a label the model was not trained on, naming line and field', () => {
    const f = file('ev2.jsonl', jsonl([['a', ['tech']], ['b', ['tech', 'weather']]]));
    const e = dataError(() => loadMultilabelEval(f, meta));
    expect(e.message).toBe(`${f}:2: field "labels" has "weather", which is not one of the training labels: "food", "politics", "sports", "tech"`);
    expect([e.line, e.field]).toEqual([2, 'labels']);
  });
  it('texts to predict: no targets, unseen characters counted', () => {
    const counter = new UnknownSymbols('char');
    const d = encodeMultilabelInputs(meta, ['New chip', 'Qz'], counter);
    validateDataset(d);
    expect(Array.from(d.lengths)).toEqual([8, 2]);
    expect(counter.report().count).toBe(2); // Q and z
    expect(() => encodeMultilabelInputs(meta, [''])).toThrow('inputs[0] must be a non-empty string');
  });
  it('a stored meta is checked field by field', () => {
    expect(() => checkDataMeta({ ...meta, input: { kind: 'dense', size: 3 } }, 'meta')).toThrow(/meta\.input\.kind must be one of 'chars'|meta\.input\.kind/);
    expect(() => checkDataMeta({ ...meta, labels: ['a', 'a'] }, 'meta')).toThrow(/meta\.labels must be a non-empty array of distinct non-empty strings/);
  });
});
