import { describe, expect, it } from 'vitest';
import { nfc, tokenizeWords } from './text.js';

const decomposed = 'zoe\u0308'; // e + COMBINING DIAERESIS
const composed = 'zo\u00eb';

describe('nfc', () => {
  it('composes a letter and its combining mark into one code point', () => {
    expect(decomposed).not.toBe(composed);
    expect(nfc(decomposed)).toBe(composed);
    expect(Array.from(nfc(decomposed))).toHaveLength(3);
    expect(nfc(composed)).toBe(composed);
  });
});

describe('tokenizeWords', () => {
  it('splits punctuation from words, each mark its own token', () => {
    expect(tokenizeWords('They fish in the river.')).toEqual(['They', 'fish', 'in', 'the', 'river', '.']);
    expect(tokenizeWords('Wait... (really?) "yes"!')).toEqual(['Wait', '.', '.', '.', '(', 'really', '?', ')', '"', 'yes', '"', '!']);
  });
  it('keeps inner apostrophes and hyphens, and numbers with separators, whole', () => {
    expect(tokenizeWords("Don't stop—it's O’Brien's well-known COVID-19 test")).toEqual(["Don't", 'stop', '—', "it's", 'O’Brien\'s', 'well-known', 'COVID-19', 'test']);
    expect(tokenizeWords('It costs 3.50 or 1,000 at 12:30.')).toEqual(['It', 'costs', '3.50', 'or', '1,000', 'at', '12:30', '.']);
    expect(tokenizeWords("a - b -c 'quoted'")).toEqual(['a', '-', 'b', '-', 'c', "'", 'quoted', "'"]);
  });
  it('reads letters of any script, keeps case, and normalises to NFC', () => {
    expect(tokenizeWords(`Élan ${decomposed} naïve Straße москва 東京 🦊`)).toEqual(['Élan', composed, 'naïve', 'Straße', 'москва', '東京', '🦊']);
    expect(tokenizeWords(' \t\n ')).toEqual([]);
  });
});
