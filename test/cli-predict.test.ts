/**
 * What `weft predict` and `weft eval` tell a user about their inputs, end to end with the real
 * binary: characters or words the model never saw (a warning on stderr, `unknown` in --json),
 * Unicode spellings read as one (NFC), free text split into words and punctuation for the tag
 * task, and regress predictions labelled with their rows and dates, forecasts past the last row
 * and errors in the data's units. Models are tiny and trained for a few steps: these tests check
 * how inputs and outputs are handled, not what a model learns.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir('weft-predict-');
const ex = (f: string) => path.join(EXAMPLES, f);
const tiny = ['--hidden', '8', '--layers', '1', '--workers', '1', '--json'];

function train(args: string[], out: string): void {
  const r = weft(['train', ...args, ...tiny, '--out', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

describe('unknown characters and words', () => {
  const classify = path.join(dir, 'classify');
  // Characters of the training texts, to check the premise of each test rather than assume it.
  const seen = new Set(readFileSync(ex('classify.jsonl'), 'utf8').split('\n').filter(Boolean).flatMap((l) => Array.from(JSON.parse(l).text as string)));
  beforeAll(() => train(['--task', 'classify', '--data', ex('classify.jsonl'), '--steps', '3'], classify));

  it('predict warns on stderr about characters the model never saw and reports them in --json', () => {
    expect(seen.has('z') && seen.has('o') && !seen.has('ë') && !seen.has('🦊')).toBe(true);
    const r = weft(['predict', '--model', classify, '--text', 'zoë', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("warning: 1 of 3 characters not in the model's vocabulary (ë ×1); they are read as <unk>\n");
    expect(r.json.unknown).toEqual({ count: 1, total: 3, unit: 'characters', examples: [{ symbol: 'ë', count: 1 }] });
    // Counted over all inputs together; in text mode the warning goes to stderr, not into the results.
    const t = weft(['predict', '--model', classify, '--text', 'zoë', '--text', '🦊ëë']);
    expect(t.stderr).toBe("warning: 4 of 6 characters not in the model's vocabulary (ë ×3, 🦊 ×1); they are read as <unk>\n");
    expect(t.stdout.trim().split('\n')).toHaveLength(2);
    // Nothing unknown: no warning, and a zero count.
    const k = weft(['predict', '--model', classify, '--text', 'zoo', '--json']);
    expect(k.stderr).toBe('');
    expect(k.json.unknown).toEqual({ count: 0, total: 3, unit: 'characters', examples: [] });
  });

  it('a letter typed decomposed (e + combining diaeresis) is the same input as the precomposed one', () => {
    const composed = weft(['predict', '--model', classify, '--text', 'zo\u00eb', '--json']);
    const decomposed = weft(['predict', '--model', classify, '--text', 'zoe\u0308', '--json']);
    expect(decomposed.json.unknown).toEqual(composed.json.unknown); // 3 characters, not 4
    expect(decomposed.json.predictions[0].probabilities).toEqual(composed.json.predictions[0].probabilities);
    // The same holds for a known letter: é decomposed is not an unknown combining mark.
    expect(seen.has('é')).toBe(true);
    const e = weft(['predict', '--model', classify, '--text', 'cafe\u0301', '--json']);
    expect(e.json.unknown.count).toBe(0);
  });

  it('eval warns about the unknown characters of its file and reports them in --json', () => {
    const file = path.join(dir, 'unknown.jsonl');
    writeFileSync(file, ['{"text": "the ßig ðog", "label": "en"}', '{"text": "ð", "label": "de"}'].join('\n') + '\n');
    expect(seen.has('ß') && !seen.has('ð')).toBe(true);
    const r = weft(['eval', '--model', classify, '--data', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("warning: 2 of 12 characters not in the model's vocabulary (ð ×2); they are read as <unk>\n");
    expect(r.json.unknown).toEqual({ count: 2, total: 12, unit: 'characters', examples: [{ symbol: 'ð', count: 2 }] });
  });
});

describe('tag: free text is split into words and punctuation', () => {
  const tag = path.join(dir, 'tag');
  beforeAll(() => train(['--task', 'tag', '--data', ex('tag.jsonl'), '--epochs', '2'], tag));

  it('tags every token of "They fish in the river.", the full stop included, with no unknown word', () => {
    const r = weft(['predict', '--model', tag, '--text', 'They fish in the river.', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const p = r.json.predictions[0];
    expect(p.tokens).toEqual(['They', 'fish', 'in', 'the', 'river', '.']);
    expect(p.tags).toHaveLength(6);
    // "They" is read as "they" (the training data is lowercase), "." as the training data's ".".
    expect(r.json.unknown).toEqual({ count: 0, total: 6, unit: 'words', examples: [] });
    // The same sentence written as the training data gives its tokens gets the same tags.
    const same = weft(['predict', '--model', tag, '--text', 'they fish in the river .', '--json']);
    expect(same.json.predictions[0].tags).toEqual(p.tags);
    const text = weft(['predict', '--model', tag, '--text', 'They fish in the river.']);
    expect(text.stdout.trim()).toBe(p.tokens.map((w: string, i: number) => `${w}/${p.tags[i]}`).join(' '));
  });

  it('warns about words the model never saw; a JSONL "tokens" list is taken as given', () => {
    const file = path.join(dir, 'tag-in.jsonl');
    writeFileSync(file, '{"tokens": ["the", "zebras", "swim"]}\n{"text": "They saw zebras!"}\n');
    const r = weft(['predict', '--model', tag, '--data', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.predictions.map((p: { tokens: string[] }) => p.tokens)).toEqual([['the', 'zebras', 'swim'], ['They', 'saw', 'zebras', '!']]);
    expect(r.json.unknown).toEqual({ count: 4, total: 7, unit: 'words', examples: [{ symbol: 'zebras', count: 2 }, { symbol: 'swim', count: 1 }, { symbol: '!', count: 1 }] });
    expect(r.stderr).toBe("warning: 4 of 7 words not in the model's vocabulary (zebras ×2, swim ×1, ! ×1); they are read as <unk>\n");
  });
});

describe('regress: rows, dates, forecasts and errors in the data\'s units', () => {
  const model = path.join(dir, 'regress');
  const W = 7;
  const csvLines = readFileSync(ex('regress.csv'), 'utf8').trim().split('\n');
  const rows = csvLines.slice(1).map((l) => l.split(','));
  const n = rows.length;
  const demand = (row1: number) => Number(rows[row1 - 1]![2]); // by 1-based data row
  type Prediction = { row: number; line: number; date?: string; values: { demand: number } };
  beforeAll(() => train(['--task', 'regress', '--data', ex('regress.csv'), '--window', String(W), '--inputs', 'demand', '--steps', '4'], model));

  it('predict labels every prediction with the row it predicts and that row\'s date', () => {
    const r = weft(['predict', '--model', model, '--data', ex('regress.csv'), '--json']);
    expect(r.code).toBe(0);
    const p: Prediction[] = r.json.predictions;
    expect(p).toHaveLength(n - W); // horizon 1: the first window predicts row W + 1
    p.forEach((x, i) => {
      expect(x.row).toBe(W + 1 + i);
      expect(x.line).toBe(x.row + 1); // the header is line 1
      expect(x.date).toBe(rows[x.row - 1]![0]);
    });
    const text = weft(['predict', '--model', model, '--data', ex('regress.csv')]).stdout.trim().split('\n');
    expect(text[0]).toBe('row\tdate\tdemand');
    expect(text[1]).toBe(`${W + 1}\t${rows[W]![0]}\t${p[0]!.values.demand.toPrecision(6)}`);
  });

  it('--forecast 3 continues past the last row with the model\'s own predictions fed back', () => {
    // The file without its last two rows: forecast 1 and 2 are then rows the full file has.
    const cut = path.join(dir, 'cut.csv');
    writeFileSync(cut, csvLines.slice(0, -2).join('\n') + '\n');
    const f = weft(['predict', '--model', model, '--data', cut, '--forecast', '3', '--json']);
    expect(f.code).toBe(0);
    const fc: Prediction[] = f.json.forecast;
    expect(fc.map((x) => x.row)).toEqual([n - 1, n, n + 1]);
    expect(fc.map((x) => x.date)).toEqual([rows[n - 2]![0], rows[n - 1]![0], '2024-01-01']);
    // Forecast 1 reads only the file's rows: it is the full file's prediction for row n - 1.
    const full: Prediction[] = weft(['predict', '--model', model, '--data', ex('regress.csv'), '--json']).json.predictions;
    expect(fc[0]!.values.demand).toBe(full.find((x) => x.row === n - 1)!.values.demand);
    // Forecast 2 reads forecast 1 as its last row: the prediction of a file that ends with it.
    const fed = path.join(dir, 'fed.csv');
    writeFileSync(fed, [...csvLines.slice(0, -2), `${fc[0]!.date},0,${fc[0]!.values.demand}`, `${fc[1]!.date},0,0`].join('\n') + '\n');
    const g: Prediction[] = weft(['predict', '--model', model, '--data', fed, '--json']).json.predictions;
    expect(g[g.length - 1]!.row).toBe(n);
    expect(fc[1]!.values.demand).toBe(g[g.length - 1]!.values.demand);
    // In text mode the forecast rows follow the predictions, under a line saying what they are.
    const t = weft(['predict', '--model', model, '--data', cut, '--forecast', '3']).stdout.trim().split('\n');
    expect(t[t.length - 4]).toBe(`forecast past row ${n - 2} (each prediction fed back as the next input):`);
    expect(t[t.length - 1]).toBe(`${n + 1}\t2024-01-01\t${fc[2]!.values.demand.toPrecision(6)}`);
  });

  it('--forecast is refused when the model reads columns it does not predict, and when it is not a positive count', () => {
    const mixed = path.join(dir, 'mixed');
    train(['--task', 'regress', '--data', ex('regress.csv'), '--window', '3', '--inputs', 'temperature', 'demand', '--targets', 'demand', '--steps', '1'], mixed);
    const r = weft(['predict', '--model', mixed, '--data', ex('regress.csv'), '--forecast', '2']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^weft: --forecast: .*model\.weft: the model reads "temperature", which it does not predict \(its targets: demand\)/);
    const z = weft(['predict', '--model', model, '--data', ex('regress.csv'), '--forecast', '0']);
    expect(z.code).toBe(2);
    expect(z.stderr).toMatch(/--forecast must be a positive integer, got 0/);
  });

  it('eval adds MAE and RMSE in the data\'s units, equal to those of predict\'s output against the file', () => {
    const e = weft(['eval', '--model', model, '--data', ex('regress.csv'), '--json']);
    expect(e.code).toBe(0);
    const p: Prediction[] = weft(['predict', '--model', model, '--data', ex('regress.csv'), '--json']).json.predictions;
    const errors = p.map((x) => x.values.demand - demand(x.row));
    const mae = errors.reduce((s, x) => s + Math.abs(x), 0) / errors.length;
    const rmse = Math.sqrt(errors.reduce((s, x) => s + x * x, 0) / errors.length);
    expect(e.json.errors).toHaveLength(1);
    expect(e.json.errors[0].column).toBe('demand');
    expect(e.json.errors[0].count).toBe(p.length);
    expect(e.json.errors[0].mae).toBeCloseTo(mae, 9);
    expect(e.json.errors[0].rmse).toBeCloseTo(rmse, 9);
    const text = weft(['eval', '--model', model, '--data', ex('regress.csv')]).stdout;
    expect(text).toContain(`demand: MAE ${mae.toPrecision(4)}, RMSE ${rmse.toPrecision(4)} (in the data's units`);
  });
});
