/**
 * The multi-label task end to end, as a user runs it: the real binary as a child process on
 * examples/data/multilabel.jsonl, its first 400 rows to train on and the last 100 held out.
 * Training must beat the trivial answer (the most frequent label set of the training rows) on
 * the held-out rows, and eval's metrics must be what the held-out labels and predict's --json
 * probabilities give when computed here, independently.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir();
const rows: { text: string; labels: string[] }[] = readFileSync(path.join(EXAMPLES, 'multilabel.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const trainRows = rows.slice(0, 400);
const testRows = rows.slice(400);
const trainFile = path.join(dir, 'train.jsonl');
const testFile = path.join(dir, 'test.jsonl');
writeFileSync(trainFile, trainRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
writeFileSync(testFile, testRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const LABELS = [...new Set(rows.flatMap((r) => r.labels))].sort();

/** Scores of predicted label sets against the true ones, computed here from the definitions. */
function scores(truth: string[][], predicted: string[][]) {
  const per = LABELS.map((l) => {
    let tp = 0, fp = 0, fn = 0;
    truth.forEach((t, i) => {
      const y = t.includes(l);
      const p = predicted[i]!.includes(l);
      if (y && p) tp++; else if (p) fp++; else if (y) fn++;
    });
    return { label: l, tp, fp, fn };
  });
  const f1 = (tp: number, fp: number, fn: number) => (tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn));
  const sum = (k: 'tp' | 'fp' | 'fn') => per.reduce((a, p) => a + p[k], 0);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
  return {
    per: per.map((p) => ({
      label: p.label, precision: p.tp + p.fp ? p.tp / (p.tp + p.fp) : 0, recall: p.tp + p.fn ? p.tp / (p.tp + p.fn) : 0, f1: f1(p.tp, p.fp, p.fn), support: p.tp + p.fn,
    })),
    microF1: f1(sum('tp'), sum('fp'), sum('fn')),
    macroF1: per.reduce((a, p) => a + f1(p.tp, p.fp, p.fn), 0) / LABELS.length,
    exactMatch: truth.filter((t, i) => same(t, predicted[i]!)).length / truth.length,
    hammingLoss: (sum('fp') + sum('fn')) / (truth.length * LABELS.length),
  };
}

describe('weft CLI: the multilabel task', () => {
  const out = path.join(dir, 'run');
  let trained: ReturnType<typeof weft>;
  beforeAll(() => {
    trained = weft(['train', '--task', 'multilabel', '--data', trainFile, '--hidden', '24', '--layers', '1', '--pooling', 'max', '--lr', '0.01',
      '--batch', '16', '--epochs', '15', '--workers', '2', '--out', out, '--json']);
  });

  it('train: the binary cross-entropy spec, and micro-F1 and exact match of each validation', () => {
    expect(trained.stderr).toBe('');
    expect(trained.code).toBe(0);
    const events = trained.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const epochs = events.filter((e) => e.event === 'epoch');
    expect(epochs).toHaveLength(15);
    for (const e of epochs) {
      expect(e.valid.microF1).toBeGreaterThanOrEqual(0);
      expect(e.valid.microF1).toBeLessThanOrEqual(1);
      expect(e.valid.exactMatch).toBeGreaterThanOrEqual(0);
    }
    const r = trained.json;
    expect(r.task).toBe('multilabel');
    expect(r.metrics).toMatchObject({ split: 'valid', microF1: epochs[14].valid.microF1, exactMatch: epochs[14].valid.exactMatch });
    expect(r.best.microF1).toBe(epochs[r.bestEpoch - 1].valid.microF1);
    const inspect = weft(['inspect', '--model', out, '--json']);
    expect(inspect.json.task).toBe('multilabel');
    expect(inspect.json.spec.loss).toEqual({ kind: 'binaryCrossEntropy' });
    expect(inspect.json.spec.layers.map((l: { type: string }) => l.type)).toEqual(['recurrent', 'pool', 'linear']);
    expect(inspect.json.spec.layers[1].mode).toBe('max');
    expect(inspect.stdout).toContain('binaryCrossEntropy');
  });

  it('predict: the labels of probability ≥ --threshold (default 0.5), and every label\'s probability with --json', () => {
    const r = weft(['predict', '--model', out, '--data', testFile, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.threshold).toBe(0.5);
    expect(r.json.predictions).toHaveLength(testRows.length);
    for (const [i, p] of (r.json.predictions as { input: string; labels: string[]; probabilities: Record<string, number> }[]).entries()) {
      expect(p.input).toBe(testRows[i]!.text);
      expect(Object.keys(p.probabilities).sort()).toEqual(LABELS);
      expect(p.labels).toEqual(LABELS.filter((l) => p.probabilities[l]! >= 0.5));
    }
    const low = weft(['predict', '--model', out, '--data', testFile, '--threshold', '0.2', '--json']);
    expect(low.json.predictions.map((p: { labels: string[] }) => p.labels))
      .toEqual(r.json.predictions.map((p: { probabilities: Record<string, number> }) => LABELS.filter((l) => p.probabilities[l]! >= 0.2)));
    const text = weft(['predict', '--model', out, '--text', testRows[0]!.text]);
    const shown = r.json.predictions[0].labels.length ? r.json.predictions[0].labels[0] : '(none)';
    expect(text.stdout.startsWith(`${testRows[0]!.text}\t${shown}`)).toBe(true);
  });

  it('learns: on the held-out rows it beats answering the most frequent label set of the training rows', () => {
    const r = weft(['predict', '--model', out, '--data', testFile, '--json']);
    const predicted: string[][] = r.json.predictions.map((p: { labels: string[] }) => p.labels);
    const counts = new Map<string, number>();
    for (const t of trainRows) counts.set(JSON.stringify(t.labels), (counts.get(JSON.stringify(t.labels)) ?? 0) + 1);
    const mostFrequent: string[] = JSON.parse([...counts].sort((a, b) => b[1] - a[1])[0]![0]);
    const truth = testRows.map((t) => t.labels);
    const model = scores(truth, predicted);
    const baseline = scores(truth, truth.map(() => mostFrequent));
    expect(model.exactMatch).toBeGreaterThan(baseline.exactMatch + 0.3);
    expect(model.microF1).toBeGreaterThan(baseline.microF1 + 0.3);
  });

  it('eval: per-label precision/recall/F1, micro and macro F1, exact match and Hamming loss, as computed from predict\'s probabilities', () => {
    for (const threshold of [undefined, '0.3']) {
      const t = threshold === undefined ? [] : ['--threshold', threshold];
      const p = weft(['predict', '--model', out, '--data', testFile, '--json', ...t]);
      const e = weft(['eval', '--model', out, '--data', testFile, '--json', ...t]);
      expect(e.code).toBe(0);
      const expected = scores(testRows.map((r) => r.labels), p.json.predictions.map((x: { labels: string[] }) => x.labels));
      const m = e.json.multilabel;
      expect(m.threshold).toBe(threshold === undefined ? 0.5 : 0.3);
      expect(m.examples).toBe(testRows.length);
      expect(m.micro.f1).toBeCloseTo(expected.microF1, 12);
      expect(m.macroF1).toBeCloseTo(expected.macroF1, 12);
      expect(m.exactMatch).toBeCloseTo(expected.exactMatch, 12);
      expect(m.hammingLoss).toBeCloseTo(expected.hammingLoss, 12);
      expect(e.json.labels.map((l: { label: string }) => l.label)).toEqual(LABELS);
      e.json.labels.forEach((l: Record<string, number>, k: number) => {
        for (const key of ['precision', 'recall', 'f1', 'support'] as const) expect(l[key], `${l.label} ${key}`).toBeCloseTo(expected.per[k]![key], 12);
      });
      // The loss's label accuracy is the complement of the Hamming loss at 0.5 (up to a logit of exactly 0).
      if (threshold === undefined) expect(e.json.metrics.accuracy).toBeCloseTo(1 - expected.hammingLoss, 12);
    }
    const text = weft(['eval', '--model', out, '--data', testFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/label accuracy [\d.]+% over 500 \(example, label\) pairs/);
    expect(text.stdout).toMatch(/^ {2}label +precision +recall +f1 +support$/m);
    expect(text.stdout).toMatch(/micro: precision [\d.]+, recall [\d.]+, F1 [\d.]+; macro F1 [\d.]+/);
    expect(text.stdout).toMatch(/exact match [\d.]+% of 100 examples; Hamming loss [\d.]+/);
  });

  it('the summary of a run names micro-F1 and exact match beside the loss and accuracy', () => {
    const r = weft(['train', '--task', 'multilabel', '--data', trainFile, '--hidden', '8', '--layers', '1', '--epochs', '2', '--workers', '1', '--out', path.join(dir, 'short')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^epoch 2: train loss [\d.]+, train accuracy [\d.]+%, valid loss [\d.]+, valid accuracy [\d.]+%, micro-F1 [\d.]+, exact match [\d.]+%/m);
    expect(r.stdout).toMatch(/^ {2}best: epoch \d, valid loss [\d.]+, accuracy [\d.]+%, micro-F1 [\d.]+, exact match [\d.]+%$/m);
  });

  it('train\'s micro-F1 and exact match are eval\'s on the validation file for the weights validated (at an epoch\'s end, and after --steps mid-epoch)', () => {
    // 25 steps an epoch: --steps 90 stops in the 4th.
    for (const [name, stop] of [['epochs', ['--epochs', '3']], ['steps', ['--epochs', '4', '--steps', '90']]] as const) {
      const run = path.join(dir, `valid-${name}`);
      // --keep-last: model.weft holds the weights of the last validation.
      const r = weft(['train', '--task', 'multilabel', '--data', trainFile, '--valid', testFile, '--hidden', '16', '--layers', '1', '--pooling', 'max', '--lr', '0.05', '--batch', '16', ...stop,
        '--workers', '2', '--keep-last', '--out', run, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const epochs = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'epoch');
      // The events carry the scores only, not the outputs they were computed from.
      for (const e of epochs) expect(Object.keys(e.valid)).toEqual(['loss', 'count', 'accuracy', 'microF1', 'exactMatch']);
      if (name === 'epochs') expect(r.json.metrics).toMatchObject({ microF1: epochs[2].valid.microF1, exactMatch: epochs[2].valid.exactMatch });
      // Some labels given, some right: otherwise the comparison would prove little.
      expect(r.json.metrics.microF1, name).toBeGreaterThan(0.1);
      const e = weft(['eval', '--model', run, '--data', testFile, '--json']);
      expect(e.code, e.stderr).toBe(0);
      expect(r.json.metrics.microF1, name).toBe(e.json.multilabel.micro.f1);
      expect(r.json.metrics.exactMatch, name).toBe(e.json.multilabel.exactMatch);
      expect(r.json.metrics.loss, name).toBeCloseTo(e.json.metrics.loss, 5);
    }
  });

  it('refusals: a bad labels field names file, line and field (exit 1); --threshold outside (0, 1) (exit 2)', () => {
    const bad = path.join(dir, 'bad.jsonl');
    writeFileSync(bad, '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": "x"}\n');
    const r = weft(['train', '--task', 'multilabel', '--data', bad, '--out', path.join(dir, 'bad-run')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:2: field "labels" must be an array of labels (strings; [] when no label applies), got "x"`);
    const t = weft(['predict', '--model', out, '--text', 'a', '--threshold', '1.5']);
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('--threshold must be a probability between 0 and 1 (exclusive), got 1.5');
    const zero = weft(['eval', '--model', out, '--data', testFile, '--threshold', '0']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--threshold must be a probability between 0 and 1 (exclusive), got 0');
    const u = weft(['train', '--task', 'multilabel', '--data', trainFile, '--label-smoothing', '0.1', '--out', path.join(dir, 'ls')]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('--label-smoothing applies to --task classify, tag, names, not multilabel');
  });
});
