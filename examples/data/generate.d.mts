/** The generated example files: name → content (see generate.mjs). */
export function generate(): Record<'classify.jsonl' | 'classify.csv' | 'multilabel.jsonl' | 'tag.jsonl' | 'regress.csv', string>;
