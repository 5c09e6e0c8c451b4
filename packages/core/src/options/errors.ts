/**
 * The one error class for a bad option, in every options object of weft (stack, model, training,
 * trainer) and for the CLI's flags: it names the option as the caller spelt it, what was expected,
 * and for a misspelt key the closest valid one. Callers branch on the class, never on the text.
 */
export class OptionError extends Error {
  override name = 'OptionError';
  constructor(
    message: string,
    /** The option as the caller wrote it: `stack.bidirectinal`, `--hiden`. */
    readonly option: string,
    /** For an unknown key, the closest valid one, if any is close enough. */
    readonly suggestion?: string,
  ) {
    super(message);
  }
}

/**
 * Levenshtein distance with transpositions counted as one edit (optimal string alignment), so
 * `bidirectinal`, `hiden` and `epoch` are each one or two edits from what was meant.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length, n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = new Array<number>(n + 1);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n]!;
}

/**
 * The candidate closest to `name` (case-insensitive, `-`/`_` ignored, so `clip_norm` finds
 * `clipNorm` and `--clip-norm`), or undefined when none is within a third of the name's length.
 */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const key = fold(name);
  let best: string | undefined;
  let bestD = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(key, fold(c));
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
