/**
 * The check of a stored data meta (what a checkpoint keeps of its data: vocabulary, labels,
 * tags, windows, normalisation), field by field, before anything uses it: a hand-made or
 * damaged checkpoint then fails with a message naming the field (`config.meta.labels must be a
 * non-empty array of distinct non-empty strings, got 5`) instead of `Cannot read properties of
 * undefined` wherever the field is first read.
 */
import type { DataMeta } from './index.js';
import { Vocab } from './vocab.js';
import { badOption, booleanOption, nonNegativeInt, objectOption, oneOf, positiveInt } from '../options/validate.js';

const TASKS = ['classify', 'multilabel', 'tag', 'lm', 'regress'] as const;

function names(v: unknown, name: string, what: string): asserts v is string[] {
  if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || s === '') || new Set(v).size !== v.length) {
    badOption(name, `a non-empty array of distinct non-empty ${what}`, v);
  }
}

function finite(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v)) badOption(name, 'a finite number', v);
}

/** Throws an OptionError naming the first missing or wrong field of `meta` (called `where` in the message). */
export function checkDataMeta(meta: unknown, where = 'meta'): asserts meta is DataMeta {
  objectOption(meta, where, `a data meta { task: ${TASKS.map((t) => `'${t}'`).join(' | ')}, ... }`);
  const m = meta as Record<string, unknown>;
  oneOf(m.task, TASKS, `${where}.task`);
  const vocab = (v: unknown, kind: 'char' | 'word', at: string) => {
    if (Vocab.fromJSON(v, at).kind !== kind) badOption(`${at}.kind`, `'${kind}'`, (v as { kind: unknown }).kind);
  };
  switch (m.task) {
    case 'classify':
    case 'multilabel': {
      // A classifier reads characters or dense steps; a multi-label model characters only.
      const dense = m.task === 'classify';
      objectOption(m.input, `${where}.input`, `an object { kind: 'chars', vocab, lowercase }${dense ? " or { kind: 'dense', size }" : ''}`);
      const inp = m.input as Record<string, unknown>;
      oneOf(inp.kind, dense ? ['chars', 'dense'] as const : ['chars'] as const, `${where}.input.kind`);
      if (inp.kind === 'chars') {
        vocab(inp.vocab, 'char', `${where}.input.vocab`);
        booleanOption(inp.lowercase, `${where}.input.lowercase`);
      } else {
        positiveInt(inp.size, `${where}.input.size`);
      }
      names(m.labels, `${where}.labels`, 'strings');
      return;
    }
    case 'tag':
      vocab(m.vocab, 'word', `${where}.vocab`);
      booleanOption(m.lowercase, `${where}.lowercase`);
      names(m.tags, `${where}.tags`, 'strings');
      return;
    case 'lm':
      vocab(m.vocab, 'char', `${where}.vocab`);
      positiveInt(m.seqLen, `${where}.seqLen`);
      return;
    case 'regress': {
      positiveInt(m.window, `${where}.window`);
      nonNegativeInt(m.horizon, `${where}.horizon`);
      booleanOption(m.perStep, `${where}.perStep`);
      names(m.inputColumns, `${where}.inputColumns`, 'column names');
      names(m.targetColumns, `${where}.targetColumns`, 'column names');
      objectOption(m.stats, `${where}.stats`, 'an object of { mean, std } by column');
      const stats = m.stats as Record<string, unknown>;
      for (const c of new Set([...m.inputColumns, ...m.targetColumns])) {
        const at = `${where}.stats[${JSON.stringify(c)}]`;
        objectOption(stats[c], at, 'an object { mean, std }');
        const s = stats[c] as Record<string, unknown>;
        finite(s.mean, `${at}.mean`);
        finite(s.std, `${at}.std`);
        if (!((s.std as number) > 0)) badOption(`${at}.std`, 'a number above 0', s.std);
      }
      return;
    }
  }
}
