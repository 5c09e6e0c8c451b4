/**
 * Symbol vocabularies built from training data: characters (for text classification, names and
 * language models) or words (for tagging).
 *
 * Ids: 0 = padding (PAD), 1 = unknown (UNK), then the symbols seen in training in sorted order
 * (UTF-16 code unit order, so the same data always gives the same ids), id = 2 + index.
 * Padding gets its own id because SequenceDataset pads token inputs with 0; unknown gets its own
 * id so that a symbol never seen in training (a new character at evaluation, a rare word) still
 * has an input row, distinct from padding. Both are never targets of a language model built here
 * (every target is a symbol of the text), so a model learns not to predict them.
 *
 * Characters are Unicode code points (`Array.from(text)`), so an emoji or a character outside the
 * Basic Multilingual Plane is one symbol, not two surrogate halves. Every text and word is
 * NFC-normalised before it is split or looked up (text.ts), so composed and decomposed spellings
 * of the same letter are one symbol. A text given to a word vocabulary is split by
 * `tokenizeWords` (text.ts). A word not in the vocabulary is looked up once more in lowercase
 * ("They" → "they") before it becomes UNK; characters have no such fallback.
 *
 * Encoding can count what it reads as UNK (`UnknownSymbols`), so a caller can tell its user how
 * much of an input the model never saw in training.
 */
import { codePoints, nfc, tokenizeWords } from './text.js';

export type VocabKind = 'char' | 'word';

/** The plain-object form stored in checkpoints. `symbols[i]` has id `2 + i`. */
export interface VocabJSON {
  kind: VocabKind;
  symbols: string[];
}

export class Vocab {
  static readonly PAD = 0;
  static readonly UNK = 1;
  static readonly RESERVED = 2;

  readonly kind: VocabKind;
  readonly symbols: readonly string[];
  private readonly ids: Map<string, number>;

  private constructor(kind: VocabKind, symbols: readonly string[]) {
    this.kind = kind;
    this.symbols = symbols;
    this.ids = new Map(symbols.map((s, i) => [s, i + Vocab.RESERVED]));
  }

  /**
   * The vocabulary of the symbols in `sequences` (each a string of characters for 'char', an
   * array of words for 'word'). Symbols seen fewer than `minCount` times are left out, so they
   * encode as UNK and the model sees UNK during training.
   */
  static build(kind: VocabKind, sequences: Iterable<string | readonly string[]>, minCount = 1): Vocab {
    if (!Number.isInteger(minCount) || minCount < 1) throw new TypeError(`minCount must be a positive integer, got ${JSON.stringify(minCount)}`);
    const counts = new Map<string, number>();
    for (const seq of sequences) {
      for (const s of eachSymbol(kind, seq)) counts.set(s, (counts.get(s) ?? 0) + 1);
    }
    const kept = [...counts].filter(([, c]) => c >= minCount).map(([s]) => s);
    kept.sort(compareCodeUnits);
    return new Vocab(kind, kept);
  }

  static fromJSON(o: unknown, where = 'vocab'): Vocab {
    const v = o as Partial<VocabJSON> | null;
    if (typeof v !== 'object' || v === null) throw new TypeError(`${where} must be an object {kind, symbols}`);
    if (v.kind !== 'char' && v.kind !== 'word') throw new TypeError(`${where}.kind must be 'char' or 'word', got ${JSON.stringify(v.kind)}`);
    if (!Array.isArray(v.symbols) || v.symbols.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new TypeError(`${where}.symbols must be an array of non-empty strings`);
    }
    if (new Set(v.symbols).size !== v.symbols.length) throw new TypeError(`${where}.symbols has duplicates`);
    if (v.kind === 'char' && v.symbols.some((s) => Array.from(s).length !== 1)) throw new TypeError(`${where}.symbols of a char vocabulary must be single characters`);
    return new Vocab(v.kind, [...v.symbols]);
  }

  toJSON(): VocabJSON {
    return { kind: this.kind, symbols: [...this.symbols] };
  }

  /** Number of ids, reserved ones included: the input size of a model, the output size of a language model. */
  get size(): number {
    return this.symbols.length + Vocab.RESERVED;
  }

  /**
   * The id of one symbol (as given: not normalised here), UNK if it was not in the training data.
   * A word vocabulary tries the lowercase form of an unknown word before answering UNK.
   */
  id(symbol: string): number {
    const id = this.ids.get(symbol);
    if (id !== undefined) return id;
    return this.kind === 'word' ? (this.ids.get(symbol.toLowerCase()) ?? Vocab.UNK) : Vocab.UNK;
  }

  has(symbol: string): boolean {
    return this.ids.has(symbol);
  }

  /**
   * Ids of a text (split into characters, or into words by tokenizeWords) or of a list of words,
   * NFC-normalised first. `unknown`, when given, counts every symbol read and those read as UNK.
   */
  encode(seq: string | readonly string[], unknown?: UnknownSymbols): Int32Array {
    const syms = eachSymbol(this.kind, seq);
    const out = new Int32Array(typeof syms === 'string' ? codePoints(syms) : syms.length);
    let i = 0;
    for (const s of syms) {
      const id = this.id(s);
      out[i++] = id;
      unknown?.note(s, id === Vocab.UNK);
    }
    return out;
  }

  /** The symbol of each id; PAD is dropped, UNK reads '<unk>' ('\uFFFD' for characters). */
  decode(ids: ArrayLike<number>): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === Vocab.PAD) continue;
      if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new RangeError(`decode: id ${id} is outside 0..${this.size - 1}`);
      out.push(id === Vocab.UNK ? (this.kind === 'char' ? '\uFFFD' : '<unk>') : this.symbols[id - Vocab.RESERVED]!);
    }
    return out;
  }

  /** decode joined into text: characters back to back, words with single spaces. */
  decodeText(ids: ArrayLike<number>): string {
    return this.decode(ids).join(this.kind === 'char' ? '' : ' ');
  }
}

/**
 * A sequence as its symbols, NFC-normalised: code points of a string for 'char', its words
 * (tokenizeWords) for 'word'; a list of words is taken as the tokens it already is.
 */
export function symbolsOf(kind: VocabKind, seq: string | readonly string[]): readonly string[] {
  if (typeof seq === 'string') return kind === 'char' ? Array.from(nfc(seq)) : tokenizeWords(seq);
  return seq.map(nfc);
}

/**
 * symbolsOf as something to iterate: a text of characters stays a string (iterated by code
 * point), so a 50 MB line is not first turned into an array of 50 million strings.
 */
function eachSymbol(kind: VocabKind, seq: string | readonly string[]): string | readonly string[] {
  return typeof seq === 'string' && kind === 'char' ? nfc(seq) : symbolsOf(kind, seq);
}

/** What `UnknownSymbols` reports: how many symbols an input had, how many the vocabulary lacked. */
export interface UnknownReport {
  /** Symbols read as UNK. */
  count: number;
  /** Symbols read in all. */
  total: number;
  /** What a symbol is: 'characters' or 'words'. */
  unit: 'characters' | 'words';
  /** The most frequent unknown symbols (at most 10), most frequent first, ties in order of appearance. */
  examples: { symbol: string; count: number }[];
}

/** Counts, while encoding, the symbols a vocabulary did not have (see Vocab.encode). */
export class UnknownSymbols {
  total = 0;
  count = 0;
  private readonly bySymbol = new Map<string, number>();

  constructor(readonly kind: VocabKind) {}

  note(symbol: string, unknown: boolean): void {
    this.total++;
    if (!unknown) return;
    this.count++;
    this.bySymbol.set(symbol, (this.bySymbol.get(symbol) ?? 0) + 1);
  }

  report(limit = 10): UnknownReport {
    const examples = [...this.bySymbol]
      .map(([symbol, count], order) => ({ symbol, count, order }))
      .sort((a, b) => b.count - a.count || a.order - b.order)
      .slice(0, limit)
      .map(({ symbol, count }) => ({ symbol, count }));
    return { count: this.count, total: this.total, unit: this.kind === 'char' ? 'characters' : 'words', examples };
  }
}

/**
 * One line for people about a report, or undefined when nothing was unknown:
 * `1 of 3 characters not in the model's vocabulary (ë ×1); they are read as <unk>`.
 * White space and invisible characters are shown JSON-quoted (" ", "\u200b").
 */
export function unknownWarning(r: UnknownReport, shown = 5): string | undefined {
  if (r.count === 0) return undefined;
  const show = (s: string): string => (/^[\p{L}\p{M}\p{N}\p{P}\p{S}]+$/u.test(s) ? s : JSON.stringify(s));
  const list = r.examples.slice(0, shown).map((e) => `${show(e.symbol)} ×${e.count}`).join(', ');
  const distinct = r.examples.length > shown ? ', ...' : '';
  return `${r.count} of ${r.total} ${r.unit} not in the model's vocabulary (${list}${distinct}); they are read as <unk>`;
}

/** Plain code-unit order: locale-independent, so ids never depend on the machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Distinct known symbols among the steps t < length of token inputs ([count, maxSteps] ids):
 * what a file's summary counts. Not the vocabulary's size: a file encoded with a trained model's
 * vocabulary (eval, validation) may use only some of it, and its unknown symbols count apart.
 */
export function distinctSymbols(d: { count: number; maxSteps: number; lengths: ArrayLike<number>; inputs: ArrayLike<number> }): number {
  const seen = new Set<number>();
  for (let i = 0; i < d.count; i++) {
    for (let t = 0; t < d.lengths[i]!; t++) {
      const id = d.inputs[i * d.maxSteps + t]!;
      if (id >= Vocab.RESERVED) seen.add(id);
    }
  }
  return seen.size;
}
