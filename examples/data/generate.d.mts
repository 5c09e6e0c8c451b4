/** The generated example files: name → content (see generate.mjs). */
export function generate(): Record<'classify.jsonl' | 'classify.csv' | 'tag.jsonl' | 'regress.csv', string>;
