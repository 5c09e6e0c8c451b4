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
 * Basic Multilingual Plane is one symbol, not two surrogate halves.
 */
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
      for (const s of symbolsOf(kind, seq)) counts.set(s, (counts.get(s) ?? 0) + 1);
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

  /** The id of one symbol, UNK if it was not in the training data. */
  id(symbol: string): number {
    return this.ids.get(symbol) ?? Vocab.UNK;
  }

  has(symbol: string): boolean {
    return this.ids.has(symbol);
  }

  /** Ids of a text (split into characters) or of a list of words. */
  encode(seq: string | readonly string[]): Int32Array {
    const syms = symbolsOf(this.kind, seq);
    const out = new Int32Array(syms.length);
    for (let i = 0; i < syms.length; i++) out[i] = this.id(syms[i]!);
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

/** A sequence as its symbols: code points of a string for 'char', the words themselves for 'word'. */
export function symbolsOf(kind: VocabKind, seq: string | readonly string[]): readonly string[] {
  if (typeof seq === 'string') return kind === 'char' ? Array.from(seq) : seq.split(/\s+/).filter((w) => w !== '');
  return seq;
}

/** Plain code-unit order: locale-independent, so ids never depend on the machine. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
