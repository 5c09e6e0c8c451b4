import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { generate } from '../../../../examples/data/generate.mjs';
import { loadClassify } from './classify.js';
import { loadLm } from './lm.js';
import { loadMultilabel } from './multilabel.js';
import { loadRegress } from './regress.js';
import { loadTag } from './tag.js';

const dir = fileURLToPath(new URL('../../../../examples/data/', import.meta.url));
const path = (name: string): string => dir + name;

describe('examples/data', () => {
  it('the committed generated files are exactly what generate.mjs writes', () => {
    for (const [name, content] of Object.entries(generate())) {
      expect(readFileSync(path(name), 'utf8'), name).toBe(content);
    }
  });
  it('every example loads into a valid dataset', () => {
    const c1 = loadClassify(path('classify.jsonl'));
    expect(c1.meta.labels).toEqual(['de', 'en', 'es', 'fr']);
    const c2 = loadClassify(path('classify.csv'));
    expect(c2.meta.labels).toEqual(['neg', 'pos']);
    const m = loadMultilabel(path('multilabel.jsonl'));
    expect(m.meta.labels).toEqual(['food', 'health', 'politics', 'sports', 'tech']);
    const t = loadTag(path('tag.jsonl'));
    expect(t.meta.tags).toContain('VERB');
    const l = loadLm(path('lm.txt'), { seqLen: 64, streams: 8 });
    const r = loadRegress(path('regress.csv'), { window: 14, inputColumns: ['temperature', 'demand'], targetColumns: ['demand'] });
    for (const d of [c1, c2, m, t, l, r]) {
      validateDataset(d.train);
      validateDataset(d.valid!);
      expect(d.valid!.count).toBeGreaterThan(0);
    }
  });
});
