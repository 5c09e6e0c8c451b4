import { describe, expect, it } from 'vitest';
import { buildLabelSet } from './labels.js';
import { UnknownSymbols, Vocab, unknownWarning } from './vocab.js';

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

describe('Vocab: Unicode, words and unknown symbols', () => {
  it('reads composed and decomposed spellings of a letter as the same symbol (NFC)', () => {
    const v = Vocab.build('char', ['zoe\u0308']);
    expect(v.symbols).toEqual(['o', 'z', '\u00eb']);
    expect(Array.from(v.encode('zo\u00eb'))).toEqual(Array.from(v.encode('zoe\u0308')));
    expect(v.encode('zoe\u0308')).not.toContain(Vocab.UNK);
    const w = Vocab.build('word', [['cafe\u0301']]);
    expect(w.id('caf\u00e9')).toBe(Vocab.RESERVED);
    expect(Array.from(w.encode(['cafe\u0301']))).toEqual([Vocab.RESERVED]);
  });
  it('splits a text given to a word vocabulary into words and punctuation', () => {
    const v = Vocab.build('word', [['the', 'river', '.']]);
    expect(v.decode(v.encode('the river.'))).toEqual(['the', 'river', '.']);
  });
  it('looks an unknown word up once more in lowercase; characters have no fallback', () => {
    const v = Vocab.build('word', [['they', 'Paris']]);
    expect(v.id('They')).toBe(v.id('they'));
    expect(v.id('THEY')).toBe(v.id('they'));
    expect(v.id('paris')).toBe(Vocab.UNK); // only upper → lower, never the other way
    expect(v.id('Paris')).not.toBe(Vocab.UNK);
    const c = Vocab.build('char', ['abc']);
    expect(c.id('A')).toBe(Vocab.UNK);
  });
  it('counts the symbols read and those read as <unk>, most frequent first', () => {
    const v = Vocab.build('char', ['abc']);
    const u = new UnknownSymbols('char');
    v.encode('axbyy', u);
    v.encode('zoe\u0308', u);
    expect(u.report()).toEqual({
      count: 6, total: 8, unit: 'characters',
      examples: [{ symbol: 'y', count: 2 }, { symbol: 'x', count: 1 }, { symbol: 'z', count: 1 }, { symbol: 'o', count: 1 }, { symbol: '\u00eb', count: 1 }],
    });
    expect(u.report(2).examples.map((e) => e.symbol)).toEqual(['y', 'x']);
    const w = Vocab.build('word', [['they', 'fish']]);
    const uw = new UnknownSymbols('word');
    w.encode('They fish. Zebras', uw);
    expect(uw.report()).toEqual({ count: 2, total: 4, unit: 'words', examples: [{ symbol: '.', count: 1 }, { symbol: 'Zebras', count: 1 }] });
  });
  it('words the warning for people, or nothing when every symbol is known', () => {
    const v = Vocab.build('char', ['zo']);
    const u = new UnknownSymbols('char');
    v.encode('zo\u00eb', u);
    expect(unknownWarning(u.report())).toBe("1 of 3 characters not in the model's vocabulary (\u00eb ×1); they are read as <unk>");
    const none = new UnknownSymbols('char');
    v.encode('zoo', none);
    expect(unknownWarning(none.report())).toBeUndefined();
    const many = new UnknownSymbols('char');
    v.encode('a bcdefg', many);
    expect(unknownWarning(many.report())).toBe(`8 of 8 characters not in the model's vocabulary (a ×1, " " ×1, b ×1, c ×1, d ×1, ...); they are read as <unk>`);
  });
});

describe('buildLabelSet', () => {
  it('sorts labels, numerically when all are numbers', () => {
    expect(buildLabelSet(['pos', 'neg', 'pos', 'neutral'])).toEqual(['neg', 'neutral', 'pos']);
    expect(buildLabelSet(['10', '2', '1', '2'])).toEqual(['1', '2', '10']);
  });
});
