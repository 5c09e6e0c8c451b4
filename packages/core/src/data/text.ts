/**
 * How the data layer reads text, in one place so training and prediction agree.
 *
 * - Unicode NFC: every text read from a file, a JSON string or a caller is normalised to the
 *   composed form, so "zoë" typed as `e` + combining diaeresis (U+0065 U+0308) and the precomposed
 *   `ë` (U+00EB) are the same characters, the same words and the same labels.
 * - Words (`tokenizeWords`): the tag task's rule for turning free text into tokens; see below.
 */

/** `s` in Unicode Normalization Form C (composed). */
export function nfc(s: string): string {
  return s.normalize('NFC');
}

/*
 * A token is, in this order of preference:
 *   - a number with inner separators: 3.14, 1,000, 12:30 (a trailing "." stays a token of its own);
 *   - a word: letters, combining marks and digits, joined by single inner apostrophes (' or ’)
 *     or hyphens: don't, O'Brien, well-known, naïve, 2nd, COVID-19;
 *   - any other character that is not white space, alone: . , ; ! ? " ( ) — … € 🦊
 * White space separates tokens and is dropped.
 */
const TOKEN = /\p{N}+(?:[.,:]\p{N}+)+|[\p{L}\p{M}\p{N}]+(?:['’-][\p{L}\p{M}\p{N}]+)*|[^\s\p{M}]\p{M}*/gu;

/**
 * Free text → word tokens, as the tag task reads a sentence given to `predict` (training data
 * gives its tokens explicitly). The text is NFC-normalised first; case is kept (the vocabulary
 * falls back to the lowercase form of a word it has not seen, see Vocab.id).
 *
 *   tokenizeWords('They fish in the river.')  → ['They', 'fish', 'in', 'the', 'river', '.']
 *   tokenizeWords("Don't stop—it's 3.5 km!")  → ["Don't", 'stop', '—', "it's", '3.5', 'km', '!']
 */
export function tokenizeWords(text: string): string[] {
  return nfc(text).match(TOKEN) ?? [];
}
