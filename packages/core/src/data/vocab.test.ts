import { describe, expect, it } from 'vitest';
import { buildLabelSet } from './labels.js';
import { Vocab } from './vocab.js';

describe('Vocab', () => {
  it('reserves 0 for padding and 1 for unknown, then sorted symbols', () => {
    const v = Vocab.build('char', ['cab', 'bad']);
    expect(v.symbols).toEqual(['a', 'b', 'c', 'd']);
    expect(v.size).toBe(6);
    expect(Array.from(v.encode('dab'))).toEqual([5, 2, 3]);
    expect(v.id('z')).toBe(Vocab.UNK);
    expect(Vocab.PAD).toBe(0);
  });
  it('round-trips text through encode/decode, unknowns shown as such, padding dropped', () => {
    const text = 'the quick brown fox, 🦊!';
    const v = Vocab.build('char', [text]);
    expect(v.decodeText(v.encode(text))).toBe(text);
    expect(v.encode('🦊').length).toBe(1); // one code point, not two surrogates
    expect(v.decodeText([...v.encode('fox'), 0, 0])).toBe('fox');
    expect(v.decodeText(v.encode('fax'))).toBe('f\uFFFDx');
  });
  it('does not depend on the order of the data', () => {
    const a = Vocab.build('word', [['b', 'a'], ['c']]);
    const b = Vocab.build('word', [['c'], ['a', 'b', 'a']]);
    expect(a.toJSON()).toEqual(b.toJSON());
  });
  it('word vocabularies: minCount sends rare words to <unk>', () => {
    const v = Vocab.build('word', [['a', 'b', 'a'], ['c', 'a', 'b']], 2);
    expect(v.symbols).toEqual(['a', 'b']);
    expect(v.decode(v.encode(['a', 'c', 'b']))).toEqual(['a', '<unk>', 'b']);
    expect(v.decodeText(v.encode('b a'))).toBe('b a');
  });
  it('serialises to a plain object and back', () => {
    const v = Vocab.build('char', ['hello']);
    const json = JSON.parse(JSON.stringify(v.toJSON()));
    const w = Vocab.fromJSON(json);
    expect(Array.from(w.encode('hole'))).toEqual(Array.from(v.encode('hole')));
    expect(() => Vocab.fromJSON({ kind: 'char', symbols: ['ab'] })).toThrow(/single characters/);
    expect(() => Vocab.fromJSON({ kind: 'x', symbols: [] })).toThrow(/vocab\.kind/);
    expect(() => Vocab.fromJSON({ kind: 'word', symbols: ['a', 'a'] })).toThrow(/duplicates/);
  });
  it('decode refuses ids outside the vocabulary', () => {
    expect(() => Vocab.build('char', ['ab']).decode([7])).toThrow(RangeError);
  });
});

describe('buildLabelSet', () => {
  it('sorts labels, numerically when all are numbers', () => {
    expect(buildLabelSet(['pos', 'neg', 'pos', 'neutral'])).toEqual(['neg', 'neutral', 'pos']);
    expect(buildLabelSet(['10', '2', '1', '2'])).toEqual(['1', '2', '10']);
  });
});
