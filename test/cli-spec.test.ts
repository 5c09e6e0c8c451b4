/**
 * Model specs from the command line, end to end with the real binary: `weft train --model-spec
 * FILE` (a spec filled in from the data, then predict, eval, --resume and inspect on the run),
 * spec files refused before the data is read, and the flags that turn a task's model into a
 * spec (--pooling attention|max, --class-weights, --label-smoothing, --loss huber,
 * --tie-weights), each seen in the spec `weft inspect --json` reports.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir('weft-spec-');
const ex = (f: string) => path.join(EXAMPLES, f);
const TINY = ['--epochs', '1', '--workers', '1', '--json'];
const classify = ['train', '--task', 'classify', '--data', ex('classify.jsonl')];

function inspectJson(run: string) {
  const r = weft(['inspect', '--model', run, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.json;
}

function writeJson(name: string, value: unknown): string {
  const f = path.join(dir, name);
  writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
  return f;
}

describe('weft train --model-spec', () => {
  const run = path.join(dir, 'spec-run');
  // No input and no head outputSize: both come from the data.
  const spec = {
    layers: [
      { type: 'embedding', dim: 8 },
      { type: 'recurrent', name: 'rnn', cell: 'gru', hiddenSize: 8, bidirectional: true },
      { type: 'layerNorm' },
      { type: 'pool', mode: 'attention', attentionSize: 4 },
      { type: 'linear', name: 'head' },
    ],
    loss: { kind: 'crossEntropy', labelSmoothing: 0.05 },
  };
  const specFile = writeJson('spec.json', spec);
  const rows = readFileSync(ex('classify.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const labels = [...new Set(rows.map((r) => r.label as string))];
  const symbols = new Set(rows.flatMap((r) => [...(r.text as string)]));

  beforeAll(() => {
    const r = weft([...classify, '--model-spec', specFile, '--epochs', '2', '--workers', '2', '--out', run, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('trains the spec, with the input and the head filled in from the data; inspect --json gives the spec', () => {
    const j = inspectJson(run);
    expect(j.spec.layers.map((l: { type: string }) => l.type)).toEqual(spec.layers.map((l) => l.type));
    expect(j.spec.layers[3]).toMatchObject({ mode: 'attention', attentionSize: 4 });
    expect(j.spec.layers[4].outputSize).toBe(labels.length);
    expect(j.spec.input.kind).toBe('tokens');
    // Every character of the file has an id, besides the reserved ones.
    expect(j.spec.input.vocabSize).toBeGreaterThan(symbols.size);
    expect(j.spec.loss).toEqual({ kind: 'crossEntropy', labelSmoothing: 0.05 });
    expect(j.config.model).toEqual(j.spec); // the checkpoint stores the spec
    expect(j.parameters.map((p: { name: string }) => p.name)).toContain('pool.proj.weight');
  });

  it('inspect prints the layer list with types and options, then the parameter table', () => {
    const r = weft(['inspect', '--model', run]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    const pool = lines.findIndex((l) => /^\s+pool\s+pool\s+mode attention, attentionSize 4/.test(l));
    const table = lines.findIndex((l) => /^\s+parameter\s+shape/.test(l));
    expect(pool).toBeGreaterThan(0);
    expect(lines.some((l) => /^\s+rnn\s+recurrent\s.*cell gru.*hiddenSize 8/.test(l))).toBe(true);
    expect(lines.some((l) => /^\s+loss\s+crossEntropy: labelSmoothing 0.05/.test(l))).toBe(true);
    expect(table).toBeGreaterThan(pool);
  });

  it('predict, eval and --resume work on the run', () => {
    const p = weft(['predict', '--model', run, '--text', 'Warum Haus', '--json']);
    expect(p.code).toBe(0);
    expect(labels).toContain(p.json.predictions[0].label);
    const e = weft(['eval', '--model', run, '--data', ex('classify.jsonl'), '--json']);
    expect(e.code).toBe(0);
    expect(e.json.metrics.count).toBe(rows.length);
    const before = inspectJson(run).step;
    const r = weft(['train', '--resume', run, '--epochs', '3', '--workers', '1', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json.step).toBeGreaterThan(before);
    expect(inspectJson(run).spec).toEqual(inspectJson(run).config.model);
  });

  it('a bad spec file is refused, naming the file and the field, before the data is read (exit 2)', () => {
    const missingData = path.join(dir, 'no-such-data.jsonl');
    const cases: [string, unknown, RegExp][] = [
      ['misspelt.json', { ...spec, layers: [spec.layers[0], { ...spec.layers[1], bidirectinal: true }] }, /layers\[1\]\.bidirectinal .*did you mean bidirectional/],
      ['badmode.json', { ...spec, layers: spec.layers.map((l) => (l.type === 'pool' ? { ...l, mode: 'maxx' } : l)) }, /layers\[3\]\.mode must be .*'attention', got "maxx"/],
      ['badloss.json', { ...spec, loss: { kind: 'crossEntropy', smoothing: 0.1 } }, /loss\.smoothing is not an option/],
      ['notjson.json', '{ "layers": [', /is not valid JSON/],
    ];
    for (const [name, value, want] of cases) {
      const f = writeJson(name, value);
      const out = path.join(dir, `refused-${name}`);
      const r = weft(['train', '--task', 'classify', '--data', missingData, '--model-spec', f, '--out', out]);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toContain(f);
      expect(r.stderr).toMatch(want);
      expect(r.stderr).not.toContain('no-such-data'); // the data was not read
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a spec whose sizes disagree with the data is refused, naming both numbers', () => {
    const f = writeJson('seven.json', { ...spec, layers: spec.layers.map((l) => (l.type === 'linear' ? { ...l, outputSize: 7 } : l)) });
    const r = weft([...classify, '--model-spec', f, '--out', path.join(dir, 'seven')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`outputs 7 .* has ${labels.length} classes`));
    const g = writeJson('vocab.json', { ...spec, input: { kind: 'tokens', vocabSize: 3 } });
    const s = weft([...classify, '--model-spec', g, '--out', path.join(dir, 'vocab')]);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/vocabSize 3, but the classify data gives tokens, vocabSize \d+/);
  });

  it('--model-spec with a model flag is refused', () => {
    const r = weft([...classify, '--model-spec', specFile, '--hidden', '4', '--out', path.join(dir, 'both')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--hidden cannot be given with --model-spec');
  });
});

describe('weft train: flags that make the model a spec', () => {
  const small = ['--hidden', '8', '--layers', '1', ...TINY];

  it('a run without them keeps its model config', () => {
    const out = path.join(dir, 'plain');
    expect(weft([...classify, ...small, '--out', out]).code).toBe(0);
    const j = inspectJson(out);
    expect(j.config.model.layers).toBeUndefined();
    expect(j.spec.layers.find((l: { type: string }) => l.type === 'pool').mode).toBe('last');
  });

  it('--class-weights auto: inverse class frequency of the training split, mean 1; --pooling attention', () => {
    // An imbalanced file: every label kept a different number of times.
    const rows = readFileSync(ex('classify.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const keep = new Map<string, number>();
    const order: string[] = [];
    const kept = rows.filter((r) => {
      if (!order.includes(r.label)) order.push(r.label);
      const n = keep.get(r.label) ?? 0;
      keep.set(r.label, n + 1);
      return n < 5 + 10 * order.indexOf(r.label);
    });
    const file = writeJson('imbalanced.jsonl', kept.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = path.join(dir, 'weights-auto');
    const r = weft(['train', '--task', 'classify', '--data', file, '--valid-fraction', '0', '--class-weights', 'auto', '--pooling', 'attention', ...small, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const labels: string[] = weft(['eval', '--model', out, '--data', file, '--json']).json.confusion.labels;
    const inv = labels.map((l) => 1 / kept.filter((k) => k.label === l).length);
    const mean = inv.reduce((a, b) => a + b, 0) / inv.length;
    const j = inspectJson(out);
    expect(new Set(inv).size).toBeGreaterThan(1);
    j.spec.loss.classWeights.forEach((w: number, i: number) => expect(w).toBeCloseTo(inv[i]! / mean, 6));
    expect(j.spec.layers.find((l: { type: string }) => l.type === 'pool').mode).toBe('attention');
  });

  it('--class-weights FILE, --label-smoothing and --pooling max', () => {
    const weights = { de: 2, en: 0.5, es: 1, fr: 1.5 };
    const file = writeJson('weights.json', weights);
    const out = path.join(dir, 'weights-file');
    const r = weft([...classify, '--class-weights', file, '--label-smoothing', '0.1', '--pooling', 'max', ...small, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = inspectJson(out);
    const labels: string[] = weft(['eval', '--model', out, '--data', ex('classify.jsonl'), '--json']).json.confusion.labels;
    expect(j.spec.loss).toEqual({ kind: 'crossEntropy', classWeights: labels.map((l) => weights[l as keyof typeof weights]), labelSmoothing: 0.1 });
    expect(j.spec.layers.find((l: { type: string }) => l.type === 'pool').mode).toBe('max');
    const bad = writeJson('weights-bad.json', { ...weights, dee: 1 });
    const b = weft([...classify, '--class-weights', bad, ...small, '--out', path.join(dir, 'weights-bad')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/weights-bad\.json: "dee" is not a class of the data \(did you mean "de"\?\)/);
  });

  it('--loss huber --huber-delta (regress)', () => {
    const out = path.join(dir, 'huber');
    const r = weft(['train', '--task', 'regress', '--data', ex('regress.csv'), '--window', '8', '--inputs', 'temperature', 'demand', '--targets', 'demand',
      '--loss', 'huber', '--huber-delta', '0.5', ...small, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(inspectJson(out).spec.loss).toEqual({ kind: 'huber', delta: 0.5 });
    expect(weft(['predict', '--model', out, '--data', ex('regress.csv')]).code).toBe(0);
  });

  it('--tie-weights (lm): the head shares the embedding weight; generate runs', () => {
    const out = path.join(dir, 'tied');
    const r = weft(['train', '--task', 'lm', '--data', ex('lm.txt'), '--tie-weights', '--embedding', '12', '--hidden', '12', '--layers', '1', ...TINY, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = inspectJson(out);
    expect(j.spec.layers.at(-1)).toMatchObject({ type: 'linear', tie: 'embedding' });
    const names = j.parameters.map((p: { name: string }) => p.name);
    expect(names).toContain('embedding.weight');
    expect(names).not.toContain('head.weight');
    expect(weft(['generate', '--model', out, '--length', '10']).code).toBe(0);
  });

  it('bad combinations are refused before the data is read (exit 2)', () => {
    const none = path.join(dir, 'none.txt');
    const cases: [string[], RegExp][] = [
      [['--task', 'lm', '--data', none, '--tie-weights', '--embedding', '8', '--hidden', '16'], /--embedding 8\) must equal the top layer's output size \(--hidden 16\)/],
      [['--task', 'lm', '--data', none, '--tie-weights'], /--tie-weights needs an embedding/],
      [['--task', 'classify', '--data', none, '--tie-weights'], /--tie-weights applies to --task lm, not classify/],
      [['--task', 'classify', '--data', none, '--loss', 'huber'], /--loss huber applies to --task regress, not classify/],
      [['--task', 'regress', '--data', none, '--huber-delta', '2'], /--huber-delta applies to --loss huber only/],
      [['--task', 'tag', '--data', none, '--pooling', 'attention'], /--pooling attention applies to --task classify, multilabel, regress, names, not tag/],
      [['--task', 'lm', '--data', none, '--class-weights', 'auto'], /--class-weights applies to --task classify, tag, names, not lm/],
      [['--task', 'classify', '--data', none, '--label-smoothing', '1'], /--label-smoothing must be a number in \[0, 1\), got 1/],
      // Data flags the task does not read are refused too, not ignored (with or without a spec).
      [['--task', 'names', '--data', none], /--data applies to --task classify, multilabel, tag, lm, regress, not names \(the names task brings its own data\)/],
      [['--task', 'classify', '--data', none, '--per-step'], /--per-step applies to --task regress, not classify/],
      [['--task', 'classify', '--data', none, '--seq-len', '9'], /--seq-len applies to --task lm, not classify/],
      [['--task', 'classify', '--data', none, '--horizon', '3'], /--horizon applies to --task regress, not classify/],
      [['--task', 'lm', '--data', none, '--window', '7'], /--window applies to --task regress, not lm/],
      [['--task', 'regress', '--data', none, '--window', '7', '--text-column', 'x'], /--text-column applies to --task classify, multilabel, not regress/],
      [['--text-column', 'foo'], /--text-column applies to --task classify, multilabel, not names \(with names, only to read a --valid file\)/],
      [['--task', 'classify', '--data', none, '--valid', none, '--valid-fraction', '0.2'], /--valid-fraction cannot be given with --valid: the --valid file is the validation data/],
      [['--data', none, '--max-len', '5'], /--max-len applies to --task classify, multilabel, tag, not lm/],
      [['--task', 'tag', '--data', none, '--delimiter', ';', '--model-spec', none], /--delimiter applies to --task classify, regress, not tag/],
    ];
    for (const [args, want] of cases) {
      const r = weft(['train', ...args, '--out', path.join(dir, 'refused')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(existsSync(path.join(dir, 'refused'))).toBe(false);
    }
  });
});
