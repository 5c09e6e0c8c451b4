/**
 * Sequence tagging data (one class per token, e.g. part of speech) → 'class-per-step'.
 *
 * Format: JSONL, one sentence per line: {"tokens": ["the", "cat", "sat"], "tags": ["DET", "NOUN", "VERB"]}
 * with as many tags as tokens. Tokens are words (word-level vocabulary, case kept unless
 * options.lowercase), so a word never seen in training encodes as Vocab.UNK (after one more
 * try in lowercase, see Vocab.id); with minCount > 1 rare training words become UNK too, so the
 * model learns what to do with one. The tag set is the sorted set of training tags; padding
 * steps have target -1.
 *
 * Training and evaluation files give their tokens; free text to tag (encodeTagInputs with a
 * string) is split into tokens by tokenizeWords (text.ts): words, numbers and each punctuation
 * mark apart, so "They fish in the river." reads as They · fish · in · the · river · "." just as
 * a training sentence lists them.
 */
import type { SequenceDataset } from './dataset.js';
import { DataError } from './errors.js';
import { FieldReader, parseJsonLines } from './jsonl.js';
import { buildLabelSet, labelIndex, listForMessage } from './labels.js';
import { packDataset } from './pack.js';
import { formatOf, readTextFile } from './read.js';
import { LongestTracker, countsLine, optionalPositiveInt, resolveSplit, splitIfAsked, type EvalData, type Longest, type SplitOptions, type TrainData } from './task.js';
import { tokenizeWords } from './text.js';
import { UnknownSymbols, Vocab, distinctSymbols, type VocabJSON } from './vocab.js';

export interface TagOptions extends SplitOptions {
  /** Field with the tokens (default "tokens"). */
  tokensField?: string;
  /** Field with the tags (default "tags"). */
  tagsField?: string;
  /** Most tokens per sentence (--max-len); a longer sentence is an error. Default: no limit. */
  maxLen?: number;
  /** Lowercase tokens before encoding (default false). */
  lowercase?: boolean;
  /** Words seen fewer times in training become UNK (default 1: keep all). */
  minCount?: number;
}

export interface TagMeta {
  task: 'tag';
  vocab: VocabJSON;
  lowercase: boolean;
  /** Class id → tag. */
  tags: string[];
}

interface Sentence {
  line: number;
  tokens: string[];
  tags?: string[];
}

function parseFile(file: string, o: TagOptions, requireTags: boolean): { sentences: Sentence[]; longest?: Longest } {
  const tokensField = o.tokensField ?? 'tokens';
  const tagsField = o.tagsField ?? 'tags';
  const maxLen = optionalPositiveInt(o.maxLen, 'maxLen', '--max-len');
  formatOf(file, ['jsonl']);
  const f: FieldReader = new FieldReader(file);
  const records = parseJsonLines(file, readTextFile(file));
  const longest = new LongestTracker(file, records.length, 8); // token ids and tags
  const sentences = records.map((r) => {
    const n = Array.isArray(r.value[tokensField]) ? (r.value[tokensField] as unknown[]).length : 0;
    if (maxLen !== undefined && n > maxLen) {
      throw new DataError(`field "${tokensField}" has ${n} tokens, more than maxLen = ${maxLen} (--max-len)`, { file, line: r.line, field: tokensField });
    }
    longest.see(r.line, tokensField, n, 'tokens');
    const tokens = f.strings(r, tokensField);
    const s: Sentence = { line: r.line, tokens: o.lowercase ? tokens.map((t) => t.toLowerCase()) : tokens };
    if (requireTags || tagsField in r.value) {
      const tags = f.strings(r, tagsField);
      if (tags.length !== tokens.length) {
        throw new DataError(`field "${tagsField}" has ${tags.length} tags, expected ${tokens.length} (one per token in "${tokensField}")`, { file, line: r.line, field: tagsField });
      }
      s.tags = tags;
    }
    return s;
  });
  return { sentences, ...(longest.longest ? { longest: longest.longest } : {}) };
}

function encode(file: string, sentences: readonly Sentence[], meta: TagMeta, tagsField: string, unknown?: UnknownSymbols): SequenceDataset {
  const vocab = Vocab.fromJSON(meta.vocab);
  const index = labelIndex(meta.tags);
  const targets = sentences.map((s) => {
    const t = new Int32Array(s.tokens.length).fill(-1);
    s.tags?.forEach((tag, k) => {
      const id = index.get(tag);
      if (id === undefined) {
        throw new DataError(`field "${tagsField}" entry ${k} is ${JSON.stringify(tag)}, which is not one of the training tags: ${listForMessage(meta.tags)}`, { file, line: s.line, field: tagsField });
      }
      t[k] = id;
    });
    return t;
  });
  return packDataset({
    inputKind: 'tokens',
    inputSize: vocab.size,
    targetKind: 'class-per-step',
    outputSize: meta.tags.length,
    inputs: sentences.map((s) => vocab.encode(s.tokens, unknown)),
    targets,
  });
}

function describe(file: string, d: SequenceDataset, meta: TagMeta): string {
  let tokens = 0;
  let unk = 0;
  for (let i = 0; i < d.count; i++) {
    for (let t = 0; t < d.lengths[i]!; t++) {
      tokens++;
      if (d.inputs[i * d.maxSteps + t] === Vocab.UNK) unk++;
    }
  }
  return `${file}: ${d.count} sentences, ${tokens} tokens (${unk} unknown), ${distinctSymbols(d)} distinct words, ${meta.tags.length} tags (${countsLine(meta.tags, d.targets)}), longest ${d.maxSteps}`;
}

/** Loads tagging training data, building the word vocabulary and tag set from it. */
export function loadTag(file: string, options: TagOptions = {}): TrainData<TagMeta> {
  const { validFraction, seed } = resolveSplit(options, 'tag options');
  const { sentences, longest } = parseFile(file, options, true);
  const meta: TagMeta = {
    task: 'tag',
    vocab: Vocab.build('word', sentences.map((s) => s.tokens), options.minCount ?? 1).toJSON(),
    lowercase: options.lowercase ?? false,
    tags: buildLabelSet(sentences.flatMap((s) => s.tags!)),
  };
  if (meta.tags.length < 2) {
    const field = options.tagsField ?? 'tags';
    throw new DataError(`every token has the tag ${JSON.stringify(meta.tags[0])} (field "${field}"): a tagger learns to tell tags apart, so it needs at least two`, { file, field });
  }
  const all = encode(file, sentences, meta, options.tagsField ?? 'tags');
  return { ...splitIfAsked(all, validFraction, seed), meta, summary: describe(file, all, meta), ...(longest ? { longest } : {}) };
}

/** Loads tagged data encoded with a trained model's meta; a tag outside the training tags is an error. */
export function loadTagEval(file: string, meta: TagMeta, options: Omit<TagOptions, 'lowercase' | 'minCount'> = {}): EvalData {
  const { sentences, longest } = parseFile(file, { ...options, lowercase: meta.lowercase }, true);
  const unknown = new UnknownSymbols('word');
  const dataset = encode(file, sentences, meta, options.tagsField ?? 'tags', unknown);
  return { dataset, summary: describe(file, dataset, meta), unknown: unknown.report(), ...(longest ? { longest } : {}) };
}

/**
 * Sentences to tag, encoded with a trained model's meta (targets -1): each a list of tokens, or
 * a text that tokenizeWords splits (the tokens the model tags, one per step, are
 * `tagTokens(sentence)`). Lowercased when the model was trained so. `unknown`, when given,
 * counts the words the vocabulary lacks.
 */
export function encodeTagInputs(meta: TagMeta, sentences: readonly (string | readonly string[])[], unknown?: UnknownSymbols): SequenceDataset {
  if (sentences.length === 0) throw new TypeError('sentences must not be empty');
  const parsed = sentences.map((sentence, i) => {
    const tokens = tagTokens(sentence);
    if (tokens.length === 0 || tokens.some((t) => typeof t !== 'string' || t === '')) {
      throw new TypeError(`sentences[${i}] must be a text with at least one word or a non-empty array of non-empty strings`);
    }
    return { line: i + 1, tokens: meta.lowercase ? tokens.map((t) => t.toLowerCase()) : [...tokens] };
  });
  return encode('inputs', parsed, meta, 'tags', unknown);
}

/** The tokens of a sentence to tag: a text split by tokenizeWords, or the given list as it is. */
export function tagTokens(sentence: string | readonly string[]): readonly string[] {
  return typeof sentence === 'string' ? tokenizeWords(sentence) : sentence;
}
