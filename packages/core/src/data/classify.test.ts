import { join } from 'node:path';
import { validateDataset, type SequenceDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { encodeClassifyInputs, loadClassify, loadClassifyEval, type ClassifyMeta } from './classify.js';
import { DataError } from './errors.js';
import { UnknownSymbols, Vocab } from './vocab.js';
import { tempFiles, dataError } from './testkit.js';

const { dir, file } = tempFiles('weft-classify-');

/** The (text, label) pairs a dataset holds, decoded with its meta: the inverse of loading. */
function decodeAll(d: SequenceDataset, meta: ClassifyMeta): [string, string][] {
  if (meta.input.kind !== 'chars') throw new Error('chars expected');
  const v = Vocab.fromJSON(meta.input.vocab);
  return Array.from({ length: d.count }, (_, i) => [
    v.decodeText(d.inputs.subarray(i * d.maxSteps, (i + 1) * d.maxSteps)),
    meta.labels[d.targets[i]!]!,
  ]);
}

const examples: [string, string][] = [
  ['great film', 'pos'], ['awful, boring', 'neg'], ['loved it', 'pos'], ['meh', 'neutral'], ['"quoted" text', 'neg'],
];

describe('loadClassify: text', () => {
  it('loads JSONL into a class-per-sequence dataset that decodes back to the file', () => {
    const f = file('c.jsonl', examples.map(([text, label]) => JSON.stringify({ text, label, extra: 1 })).join('\n') + '\n');
    const { train, valid, meta, summary } = loadClassify(f, { validFraction: 0 });
    validateDataset(train);
    expect(valid).toBeUndefined();
    expect(train.targetKind).toBe('class-per-sequence');
    expect(train.inputKind).toBe('tokens');
    expect(meta.labels).toEqual(['neg', 'neutral', 'pos']);
    expect(decodeAll(train, meta)).toEqual(examples);
    expect(Array.from(train.lengths)).toEqual(examples.map(([t]) => t.length));
    expect(train.maxSteps).toBe(Math.max(...examples.map(([t]) => t.length)));
    expect(summary).toContain('5 examples');
  });
  it('loads the same data from CSV with named columns and ignores other columns', () => {
    const csv = 'id,review,sentiment\n' + examples.map(([t, l], i) => `${i},"${t.replace(/"/g, '""')}",${l}`).join('\n');
    const f = file('c.csv', csv);
    const { train, meta } = loadClassify(f, { validFraction: 0, textField: 'review', labelField: 'sentiment' });
    expect(decodeAll(train, meta)).toEqual(examples);
  });
  it('splits off a seeded validation part', () => {
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 2 ? 'a' : 'b' }));
    const f = file('c40.jsonl', lines.join('\n'));
    const a = loadClassify(f, { validFraction: 0.25, seed: 3 });
    expect(a.train.count + a.valid!.count).toBe(40);
    expect(a.valid!.count).toBe(10);
    const texts = [...decodeAll(a.train, a.meta), ...decodeAll(a.valid!, a.meta)].map(([t]) => t).sort();
    expect(texts).toEqual(Array.from({ length: 40 }, (_, i) => `t${i}`).sort());
    expect(decodeAll(loadClassify(f, { validFraction: 0.25, seed: 3 }).valid!, a.meta)).toEqual(decodeAll(a.valid!, a.meta));
  });
  it('lowercases when asked and stores it for prediction', () => {
    const f = file('case.jsonl', '{"text": "AbC", "label": "x"}\n{"text": "b", "label": "y"}\n');
    const { meta } = loadClassify(f, { lowercase: true, validFraction: 0 });
    expect(meta.input).toMatchObject({ kind: 'chars', lowercase: true, vocab: { symbols: ['a', 'b', 'c'] } });
    const d = encodeClassifyInputs(meta, ['CAB', 'q']);
    validateDataset(d);
    expect(decodeAll({ ...d, targets: new Int32Array([0, 0]) }, meta).map(([t]) => t)).toEqual(['cab', '\uFFFD']);
    expect(Array.from(d.targets)).toEqual([-1, -1]);
  });
});

describe('loadClassify: dense', () => {
  it('loads per-step feature vectors, padded with zeros', () => {
    const recs = [
      { sequence: [[1, 2], [3, 4], [5, 6]], label: 'up' },
      { sequence: [[0.5, -1]], label: 'down' },
    ];
    const f = file('d.jsonl', recs.map((r) => JSON.stringify(r)).join('\n'));
    const { train, meta } = loadClassify(f, { validFraction: 0 });
    validateDataset(train);
    expect(meta.input).toEqual({ kind: 'dense', size: 2 });
    expect(train.inputKind).toBe('dense');
    expect(Array.from(train.lengths)).toEqual([3, 1]);
    expect(Array.from(train.inputs)).toEqual([1, 2, 3, 4, 5, 6, 0.5, -1, 0, 0, 0, 0]);
    expect(Array.from(train.targets, (t) => meta.labels[t])).toEqual(['up', 'down']);
  });
  it('names the line and step of a sequence of the wrong width', () => {
    const f = file('dw.jsonl', '{"sequence": [[1, 2]], "label": "a"}\n{"sequence": [[1, 2], [3]], "label": "b"}\n');
    const e = dataError(() => loadClassify(f));
    expect(e.message).toBe(`${f}:2: field "sequence" step 1 has 1 numbers, expected 2 (as on line 1)`);
  });
});

describe('loadClassify: bad input', () => {
  it('a missing file', () => {
    const f = join(dir, 'data.csv');
    expect(dataError(() => loadClassify(f)).message).toBe(`${f}: no such file`);
  });
  it('an empty file', () => {
    expect(dataError(() => loadClassify(file('e.jsonl', ''))).message).toMatch(/e\.jsonl: file is empty$/);
  });
  it('a malformed line, with its number', () => {
    const f = file('m.jsonl', '{"text": "a", "label": "x"}\n{"text": "b", "label": "y"\n');
    const e = dataError(() => loadClassify(f));
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/m\.jsonl:2: not valid JSON: /);
  });
  it('a label that is not a string (the example in the brief)', () => {
    const f = file('names.jsonl', '{"text": "ann", "label": "f"}\n{"text": "bob", "label": 3}\n');
    const e = dataError(() => loadClassify(f));
    expect(e.message).toBe(`${f}:2: field "label" must be a non-empty string, got 3`);
    expect([e.line, e.field]).toEqual([2, 'label']);
  });
  it('a missing field', () => {
    const f = file('mf.jsonl', '{"text": "ann", "label": "f"}\n{"label": "m"}\n');
    expect(dataError(() => loadClassify(f)).message).toBe(`${f}:2: field "text" must be a non-empty string, it is missing`);
    const g = file('mf1.jsonl', '{"txt": "ann", "label": "f"}\n');
    expect(dataError(() => loadClassify(g)).message).toMatch(/:1: field "text" must be a non-empty string \(or give "sequence"/);
  });
  it('a missing CSV column, an empty cell and a ragged row', () => {
    const f = file('nc.csv', 'text,lbl\na,b\n');
    expect(dataError(() => loadClassify(f)).message).toBe(`${f}:1: no column "label" (--label-column); the header has: text, lbl`);
    const g = file('ec.csv', 'text,label\na,b\n,c\n');
    expect(dataError(() => loadClassify(g)).message).toBe(`${g}:3: column "text" must be a non-empty text, got an empty cell`);
    const h = file('rr.csv', 'text,label\na,b\nc,d,e\n');
    expect(dataError(() => loadClassify(h)).message).toMatch(/rr\.csv:3: row has 3 cells, expected 2/);
  });
  it('a text longer than --max-len', () => {
    const f = file('long.jsonl', '{"text": "abc", "label": "x"}\n{"text": "abcdef", "label": "y"}\n');
    const e = dataError(() => loadClassify(f, { maxLen: 5 }));
    expect(e.message).toBe(`${f}:2: field "text" is 6 characters long, more than maxLen = 5 (--max-len)`);
    expect(loadClassify(f, { maxLen: 6, validFraction: 0 }).train.maxSteps).toBe(6);
  });
  it('an unknown extension', () => {
    expect(dataError(() => loadClassify(file('x.txt', 'a'))).message).toMatch(/x\.txt: cannot tell the format/);
  });
  it('a single label: nothing to tell apart', () => {
    const f = file('one.jsonl', '{"text": "abc", "label": "x"}\n{"text": "de", "label": "x"}\n');
    const e = dataError(() => loadClassify(f));
    expect(e.message).toBe(`${f}: every example has the label "x" (field "label"): a classifier learns to tell labels apart, so it needs at least two`);
    expect(e.field).toBe('label');
  });
  it('a line so long that the padded dataset could not fit: refused where it is read', () => {
    // 300 lines, one of 4 million characters: padded, 300 × 4e6 token ids would take 4.5 GiB.
    const long = 'ab'.repeat(2_000_000);
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: i === 7 ? long : 'short', label: i % 2 ? 'x' : 'y' }));
    const f = file('huge.jsonl', lines.join('\n') + '\n');
    const e = dataError(() => loadClassify(f));
    expect(e.message).toBe(`${f}:8: field "text" is 4,000,000 characters long: the file's 300 sequences padded to this length would take 4.47 GiB, ` +
      'past the 4 GiB limit; shorten or remove this line (--max-len N refuses lines longer than N as they are read)');
    expect(e.line).toBe(8);
  });
  it('says where the longest sequence is, counting characters as code points', () => {
    const f = file('longest.csv', 'text,label\nab,x\n"🦊🦊🦊",y\nabc,x\n');
    expect(loadClassify(f).longest).toEqual({ file: f, line: 3, field: 'text', steps: 3, unit: 'characters' });
    expect(loadClassifyEval(f, loadClassify(f).meta).longest?.line).toBe(3);
  });
  it('dense values past ±1e15 (float32 squares would overflow), naming line, step and value', () => {
    const f = file('big.jsonl', '{"sequence": [[1, 2]], "label": "a"}\n{"sequence": [[1, 2], [3, 1e308]], "label": "b"}\n');
    expect(dataError(() => loadClassify(f)).message).toBe(`${f}:2: field "sequence" step 1 value 1 must be a finite number within ±1e15 ` +
      '(training computes in float32, where squares of larger numbers overflow: scale such a column down), got 1e+308');
  });
});

describe('loadClassifyEval', () => {
  const trainFile = file('tr.jsonl', '{"text": "ab", "label": "x"}\n{"text": "ba", "label": "y"}\n');
  const { meta } = loadClassify(trainFile, { validFraction: 0 });
  it('encodes with the training vocabulary and labels; unseen characters become UNK', () => {
    const f = file('ev.jsonl', '{"text": "abz", "label": "y"}\n');
    const { dataset } = loadClassifyEval(f, meta);
    validateDataset(dataset);
    expect(dataset.inputSize).toBe(Vocab.RESERVED + 2);
    expect(decodeAll(dataset, meta)).toEqual([['ab\uFFFD', 'y']]);
  });
  it("its summary counts the file's own known characters, not the model's vocabulary", () => {
    const wide = loadClassify(file('wide.jsonl', '{"text": "abcdefgh", "label": "x"}\n{"text": "hgfedcba", "label": "y"}\n'), { validFraction: 0 });
    expect(wide.summary).toContain('8 distinct characters');
    const f = file('narrow.jsonl', '{"text": "aab", "label": "y"}\n{"text": "bz", "label": "x"}\n');
    expect(loadClassifyEval(f, wide.meta).summary).toContain('2 distinct characters'); // a and b; z is unknown
  });
  it('reports the characters it read as <unk>, in the file and in texts to predict', () => {
    const f = file('ev3.jsonl', '{"text": "abz", "label": "y"}\n{"text": "zzq", "label": "x"}\n');
    expect(loadClassifyEval(f, meta).unknown).toEqual({
      count: 4, total: 6, unit: 'characters', examples: [{ symbol: 'z', count: 3 }, { symbol: 'q', count: 1 }],
    });
    const u = new UnknownSymbols('char');
    encodeClassifyInputs(meta, ['ab', 'aq'], u);
    expect(u.report()).toEqual({ count: 1, total: 4, unit: 'characters', examples: [{ symbol: 'q', count: 1 }] });
  });
  it('reads every spelling of a letter as its NFC form: file text, JSON escapes, texts to predict', () => {
    // Training file: é precomposed in the raw text, è decomposed through a JSON escape.
    const tr = file('nfc.jsonl', '{"text": "caf\u00e9", "label": "fr"}\n{"text": "pe\\u0300re", "label": "fr"}\n{"text": "cab", "label": "en"}\n');
    const m = loadClassify(tr, { validFraction: 0 }).meta;
    if (m.input.kind !== 'chars') throw new Error('chars expected');
    expect(m.input.vocab.symbols).toContain('\u00e8');
    expect(m.input.vocab.symbols).not.toContain('\u0300');
    const u = new UnknownSymbols('char');
    const d = encodeClassifyInputs(m, ['cafe\u0301', 'p\u00e8re'], u);
    expect(u.report().count).toBe(0);
    expect(Array.from(d.inputs.subarray(0, 4))).toEqual(Array.from(Vocab.fromJSON(m.input.vocab).encode('caf\u00e9')));
    // An evaluation file spelling é decomposed in its raw text reads the same.
    expect(loadClassifyEval(file('nfc-ev.jsonl', '{"text": "cafe\u0301", "label": "fr"}\n'), m).unknown!.count).toBe(0);
  });
  it('refuses a label the model was not trained on, naming line and field', () => {
    const f = file('ev2.jsonl', '{"text": "ab", "label": "x"}\n{"text": "ab", "label": "z"}\n');
    const e = dataError(() => loadClassifyEval(f, meta));
    expect(e.message).toBe(`${f}:2: field "label" is "z", which is not one of the training labels: "x", "y"`);
    expect(e.field).toBe('label');
  });
  it('holds dense data to the trained width', () => {
    const d = loadClassify(file('dt.jsonl', '{"sequence": [[1, 2, 3]], "label": "a"}\n{"sequence": [[4, 5, 6]], "label": "b"}\n'), { validFraction: 0 });
    const f = file('de.jsonl', '{"sequence": [[1, 2]], "label": "a"}\n');
    expect(dataError(() => loadClassifyEval(f, d.meta)).message).toBe(`${f}:1: field "sequence" step 0 has 2 numbers, expected 3 (the model was trained on that many features per step)`);
  });
});
