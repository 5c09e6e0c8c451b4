import { join } from 'node:path';
import { validateDataset, type SequenceDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { encodeTagInputs, loadTag, loadTagEval, tagTokens, type TagMeta } from './tag.js';
import { UnknownSymbols, Vocab } from './vocab.js';
import { tempFiles, dataError } from './testkit.js';

const { file } = tempFiles('weft-tag-');
function decodeAll(d: SequenceDataset, meta: TagMeta): { tokens: string[]; tags: string[] }[] {
  const v = Vocab.fromJSON(meta.vocab);
  return Array.from({ length: d.count }, (_, i) => {
    const L = d.lengths[i]!;
    const row = (a: Int32Array | Float32Array): number[] => Array.from(a.subarray(i * d.maxSteps, i * d.maxSteps + L));
    return { tokens: v.decode(row(d.inputs)), tags: row(d.targets).map((t) => meta.tags[t]!) };
  });
}

const sentences = [
  { tokens: ['the', 'dog', 'runs'], tags: ['DET', 'NOUN', 'VERB'] },
  { tokens: ['a', 'cat', 'sees', 'the', 'dog'], tags: ['DET', 'NOUN', 'VERB', 'DET', 'NOUN'] },
  { tokens: ['dogs', 'run'], tags: ['NOUN', 'VERB'] },
];
const jsonl = sentences.map((s) => JSON.stringify(s)).join('\n') + '\n';

describe('loadTag', () => {
  it('loads a class-per-step dataset that decodes back to the file, padding targets -1', () => {
    const { train, meta } = loadTag(file('t.jsonl', jsonl), { validFraction: 0 });
    validateDataset(train);
    expect(train.targetKind).toBe('class-per-step');
    expect(meta.tags).toEqual(['DET', 'NOUN', 'VERB']);
    expect(decodeAll(train, meta)).toEqual(sentences);
    expect(train.maxSteps).toBe(5);
    expect(Array.from(train.targets.subarray(3, 5))).toEqual([-1, -1]); // row 0 has 3 tokens
    expect(train.inputSize).toBe(new Set(sentences.flatMap((s) => s.tokens)).size + Vocab.RESERVED);
  });
  it('minCount turns rare words into <unk>; unseen words at evaluation are <unk>', () => {
    const { train, meta } = loadTag(file('t2.jsonl', jsonl), { validFraction: 0, minCount: 2 });
    expect(meta.vocab.symbols).toEqual(['dog', 'the']);
    expect(decodeAll(train, meta)[0]!.tokens).toEqual(['the', 'dog', '<unk>']);
    const d = encodeTagInputs(meta, [['the', 'zebra']]);
    expect(Array.from(d.inputs)).toEqual([Vocab.RESERVED + 1, Vocab.UNK]);
    expect(Array.from(d.targets)).toEqual([-1, -1]);
  });
  it('tags free text by its words and punctuation, a capitalised word read as its lowercase form, unknown words counted', () => {
    const f = file('p.jsonl', '{"tokens": ["the", "dog", "runs", "."], "tags": ["DET", "NOUN", "VERB", "PUNCT"]}\n');
    const { meta } = loadTag(f, { validFraction: 0 });
    const v = Vocab.fromJSON(meta.vocab);
    expect(tagTokens('The dog runs.')).toEqual(['The', 'dog', 'runs', '.']);
    expect(tagTokens(['The', 'dog'])).toEqual(['The', 'dog']);
    const u = new UnknownSymbols('word');
    const d = encodeTagInputs(meta, ['The dog runs.', ['a', 'dog']], u);
    expect(Array.from(d.lengths)).toEqual([4, 2]);
    expect(Array.from(d.inputs.subarray(0, 4))).toEqual(['the', 'dog', 'runs', '.'].map((w) => v.id(w)));
    expect(u.report()).toEqual({ count: 1, total: 6, unit: 'words', examples: [{ symbol: 'a', count: 1 }] });
    const ev = loadTagEval(file('pe.jsonl', '{"tokens": ["The", "cat", "runs"], "tags": ["DET", "NOUN", "VERB"]}\n'), meta);
    expect(ev.unknown).toEqual({ count: 1, total: 3, unit: 'words', examples: [{ symbol: 'cat', count: 1 }] });
    expect(() => encodeTagInputs(meta, ['  '])).toThrow(/sentences\[0\] must be a text with at least one word/);
  });
  it('refuses tags of the wrong length, naming line and field', () => {
    const f = file('bad.jsonl', jsonl + '{"tokens": ["a", "b"], "tags": ["DET"]}\n');
    const e = dataError(() => loadTag(f));
    expect(e.message).toBe(`${f}:4: field "tags" has 1 tags, expected 2 (one per token in "tokens")`);
    expect([e.line, e.field]).toEqual([4, 'tags']);
  });
  it('refuses missing and mistyped fields and too-long sentences', () => {
    const f = file('mt.jsonl', '{"tokens": ["a"], "tags": ["X"]}\n{"tokens": "a b", "tags": ["X"]}\n');
    expect(dataError(() => loadTag(f)).message).toBe(`${f}:2: field "tokens" must be a non-empty array of strings, got "a b"`);
    const g = file('mt2.jsonl', '{"tokens": ["a"]}\n');
    expect(dataError(() => loadTag(g)).message).toBe(`${g}:1: field "tags" must be a non-empty array of strings, it is missing`);
    const h = file('long.jsonl', jsonl);
    expect(dataError(() => loadTag(h, { maxLen: 4 })).message).toBe(`${h}:2: field "tokens" has 5 tokens, more than maxLen = 4 (--max-len)`);
  });
  it('a single tag: nothing to tell apart; says where the longest sentence is', () => {
    const f = file('one.jsonl', '{"tokens": ["a", "b"], "tags": ["N", "N"]}\n');
    expect(dataError(() => loadTag(f)).message).toBe(`${f}: every token has the tag "N" (field "tags"): a tagger learns to tell tags apart, so it needs at least two`);
    const g = file('two.jsonl', '{"tokens": ["a"], "tags": ["N"]}\n{"tokens": ["a", "b", "c"], "tags": ["N", "V", "N"]}\n');
    expect(loadTag(g).longest).toEqual({ file: g, line: 2, field: 'tokens', steps: 3, unit: 'tokens' });
  });
  it('evaluation refuses a tag outside the training tags', () => {
    const { meta } = loadTag(file('t3.jsonl', jsonl), { validFraction: 0 });
    const f = file('ev.jsonl', '{"tokens": ["the", "dog"], "tags": ["DET", "ADJ"]}\n');
    const e = dataError(() => loadTagEval(f, meta));
    expect(e.message).toBe(`${f}:1: field "tags" entry 1 is "ADJ", which is not one of the training tags: "DET", "NOUN", "VERB"`);
    const ok = loadTagEval(file('ev2.jsonl', '{"tokens": ["the", "cat"], "tags": ["DET", "NOUN"]}\n'), meta);
    expect(decodeAll(ok.dataset, meta)).toEqual([{ tokens: ['the', 'cat'], tags: ['DET', 'NOUN'] }]);
  });
});
