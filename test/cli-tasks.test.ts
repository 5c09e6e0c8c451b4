/**
 * The CLI end to end, as a user runs it: the real binary as a child process on the example
 * files of every task — train briefly, then eval, predict, generate, inspect, export.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalTrainer, loadLm, loadSafetensors, modelShape } from '@weft/core';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir();
const ex = (f: string) => path.join(EXAMPLES, f);

describe('weft CLI: every task end to end', () => {
  let classify: string;
  beforeAll(() => {
    classify = path.join(dir, 'classify');
    const r = weft(['train', '--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '16', '--layers', '1', '--epochs', '6', '--lr', '0.02', '--workers', '2', '--out', classify, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('train classify: checkpoint, metrics, curves and a --json result with metrics', () => {
    for (const f of ['model.weft', 'metrics.jsonl', 'curves.html']) expect(existsSync(path.join(classify, f))).toBe(true);
    const metrics = readFileSync(path.join(classify, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const train = metrics.filter((m) => m.split === 'train');
    expect(train.length).toBeGreaterThan(6);
    // It learns: the late training loss is well below the first steps' (ln 4 = 1.39 for 4 languages).
    const first = train.slice(0, 3).reduce((a, m) => a + m.loss, 0) / 3;
    const last = train.slice(-3).reduce((a, m) => a + m.loss, 0) / 3;
    expect(last).toBeLessThan(0.8 * first);
    expect(metrics.some((m) => m.split === 'valid')).toBe(true);
    expect(readFileSync(path.join(classify, 'curves.html'), 'utf8')).toContain('<svg');
  });

  it('eval classify: loss, accuracy, per-class precision/recall and confusion matrix', () => {
    const r = weft(['eval', '--model', classify, '--data', ex('classify.jsonl'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json.metrics.loss).toBeGreaterThan(0);
    expect(r.json.metrics.accuracy).toBeGreaterThan(0.4);
    expect(r.json.classes.map((c: { label: string }) => c.label)).toEqual(['de', 'en', 'es', 'fr']);
    const m: number[][] = r.json.confusion.matrix;
    const total = m.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(200);
    const diag = m.reduce((a, row, i) => a + row[i]!, 0);
    expect(diag / total).toBeCloseTo(r.json.metrics.accuracy, 10);
    const text = weft(['eval', '--model', classify, '--data', ex('classify.jsonl')]);
    expect(text.stdout).toContain('precision');
    expect(text.stdout).toContain('true \\ predicted');
  });

  it('predict classify: a label and probabilities per input', () => {
    const r = weft(['predict', '--model', classify, '--text', 'the house is very big', '--text', 'der Hund und die Katze', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.predictions).toHaveLength(2);
    for (const p of r.json.predictions) {
      expect(['de', 'en', 'es', 'fr']).toContain(p.label);
      const sum = Object.values(p.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('classify from CSV with named columns', () => {
    const out = path.join(dir, 'csv');
    const r = weft(['train', '--task', 'classify', '--data', ex('classify.csv'), '--text-column', 'text', '--label-column', 'label', '--hidden', '8', '--layers', '1', '--steps', '3', '--out', out, '--json']);
    expect(r.code).toBe(0);
    // The result's metrics are those of the final validation written to metrics.jsonl.
    const lastValid = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.split === 'valid').pop();
    expect(lastValid.step).toBe(3);
    expect(r.json.metrics.loss).toBe(lastValid.loss);
    expect(r.json.metrics.accuracy).toBe(lastValid.accuracy);
    // The model evaluates on the whole file with the CSV's own label set.
    const e = weft(['eval', '--model', out, '--data', ex('classify.csv'), '--json']);
    expect(e.code).toBe(0);
    expect(e.json.classes.map((c: { label: string }) => c.label)).toEqual(['neg', 'pos']);
  });

  it('predict from a CSV file reads the text column; a model of number sequences predicts from "sequence" records', () => {
    const csvModel = path.join(dir, 'csv');
    const p = weft(['predict', '--model', csvModel, '--data', ex('classify.csv'), '--text-column', 'text', '--json']);
    expect(p.code).toBe(0);
    expect(p.json.predictions).toHaveLength(200);
    expect(p.json.predictions.some((x: { input: string }) => x.input === 'text')).toBe(false); // not the header
    const seqFile = path.join(dir, 'seq.jsonl');
    const lines = Array.from({ length: 40 }, (_, i) => {
      const s = i % 2 ? 1 : -1;
      return JSON.stringify({ sequence: Array.from({ length: 3 + (i % 4) }, (_, t) => [s * (0.5 + t / 10), 0.1 * t]), label: s > 0 ? 'up' : 'down' });
    });
    writeFileSync(seqFile, lines.join('\n') + '\n');
    const out = path.join(dir, 'seq');
    expect(weft(['train', '--task', 'classify', '--data', seqFile, '--hidden', '8', '--layers', '1', '--epochs', '20', '--lr', '0.03', '--out', out, '--json']).code).toBe(0);
    const q = weft(['predict', '--model', out, '--data', seqFile, '--json']);
    expect(q.code).toBe(0);
    expect(q.json.predictions).toHaveLength(40);
    const right = q.json.predictions.filter((x: { label: string }, i: number) => x.label === (i % 2 ? 'up' : 'down')).length;
    expect(right).toBeGreaterThan(30); // the sign of the first feature is easy to learn
    const t = weft(['predict', '--model', out, '--text', 'abc']);
    expect(t.code).toBe(2); // usage: this model needs --data, not --text
    expect(t.stderr).toMatch(/number sequences; give --data FILE\.jsonl/);
  });

  it('learning-rate schedule: linear warm-up, then cosine decay, as the step events show', () => {
    const r = weft(['train', '--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '8', '--layers', '1', '--epochs', '2', '--lr', '0.01', '--schedule', 'cosine', '--warmup', '3', '--out', path.join(dir, 'sched'), '--json']);
    expect(r.code).toBe(0);
    const lrs: number[] = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'step').map((e) => e.lr);
    expect(lrs.length).toBe(r.json.step);
    expect(lrs[0]).toBeCloseTo(0.01 / 3, 8);
    expect(lrs[1]).toBeCloseTo(0.02 / 3, 8);
    expect(lrs[2]).toBeCloseTo(0.01, 8);
    expect(lrs[3]).toBeCloseTo(0.01, 8); // the cosine starts at the peak
    for (let k = 4; k < lrs.length; k++) expect(lrs[k]).toBeLessThan(lrs[k - 1]!);
    expect(lrs[lrs.length - 1]).toBeLessThan(0.002);
  });

  it('tag: train, then predict one tag per token', () => {
    const out = path.join(dir, 'tag');
    const r = weft(['train', '--task', 'tag', '--data', ex('tag.jsonl'), '--hidden', '16', '--layers', '1', '--epochs', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const p = weft(['predict', '--model', out, '--text', 'they like the small garden .', '--json']);
    expect(p.code).toBe(0);
    expect(p.json.predictions[0].tags).toHaveLength(6);
  });

  it('lm: train with truncated BPTT, then generate with temperature, top-k and seed', () => {
    const out = path.join(dir, 'lm');
    const r = weft(['train', '--task', 'lm', '--data', ex('lm.txt'), '--hidden', '32', '--layers', '1', '--seq-len', '32', '--batch', '8', '--epochs', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const g1 = weft(['generate', '--model', out, '--prime', 'The ', '--length', '40', '--temperature', '0.8', '--top-k', '5', '--seed', '3', '--json']);
    const g2 = weft(['generate', '--model', out, '--prime', 'The ', '--length', '40', '--temperature', '0.8', '--top-k', '5', '--seed', '3', '--json']);
    expect(g1.code).toBe(0);
    expect(g1.json.text).toHaveLength(40);
    expect(g2.json.text).toBe(g1.json.text);
  });

  it('lm: a bidirectional language model is refused, by train --model-spec and by generate', async () => {
    const spec = path.join(dir, 'bi-lm.json');
    writeFileSync(spec, JSON.stringify({
      layers: [{ type: 'recurrent', name: 'rnn', cell: 'lstm', hiddenSize: 8, bidirectional: true }, { type: 'linear', name: 'head' }],
      loss: { kind: 'crossEntropy' },
    }));
    const out = path.join(dir, 'bi-lm');
    const r = weft(['train', '--task', 'lm', '--data', ex('lm.txt'), '--model-spec', spec, '--steps', '1', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layer 'rnn' is bidirectional, which --task lm refuses: a language model must not see the characters it predicts/);
    expect(existsSync(out)).toBe(false);
    // Through the library nothing stops it; generate then says why it cannot carry the state.
    const data = loadLm(ex('lm.txt'), { seqLen: 16, streams: 4 });
    const t = new LocalTrainer({ model: { cell: 'lstm', hiddenSize: 8, numLayers: 1, bidirectional: true, ...modelShape(data.meta) }, batchSize: 4 });
    const file = path.join(dir, 'bi-lm.weft');
    await t.save(file, { meta: data.meta });
    const g = weft(['generate', '--model', file, '--length', '5']);
    expect(g.code).toBe(1);
    expect(g.stderr).toMatch(/'weft generate' feeds one character at a time, but streaming cannot carry the state of a bidirectional layer/);
  });

  it('regress: windows of a CSV series, normalisation stored, predictions in the original units', () => {
    const out = path.join(dir, 'regress');
    const r = weft(['train', '--task', 'regress', '--data', ex('regress.csv'), '--window', '14', '--inputs', 'temperature', 'demand', '--targets', 'demand', '--hidden', '16', '--layers', '1', '--epochs', '2', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.metrics.loss).toBeGreaterThan(0);
    const p = weft(['predict', '--model', out, '--data', ex('regress.csv'), '--json']);
    expect(p.code).toBe(0);
    const values = p.json.predictions.map((x: { values: { demand: number } }) => x.values.demand);
    const mean = values.reduce((a: number, b: number) => a + b, 0) / values.length;
    // Demand is around 520-800 MWh; a normalised (unconverted) output would be near 0.
    expect(mean).toBeGreaterThan(300);
    expect(mean).toBeLessThan(1200);
  });

  it('inspect: parameter table with PyTorch names, count, SHA-256; export: safetensors that load back equal', async () => {
    const r = weft(['inspect', '--model', classify, '--json']);
    expect(r.code).toBe(0);
    const names = r.json.parameters.map((p: { name: string }) => p.name);
    expect(names).toContain('rnn.weight_ih_l0');
    expect(names).toContain('rnn.weight_hh_l0_reverse');
    expect(names).toContain('head.weight');
    expect(r.json.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.json.parameterCount).toBe(r.json.parameters.reduce((a: number, p: { size: number }) => a + p.size, 0));
    const file = path.join(dir, 'classify.safetensors');
    const e = weft(['export', '--model', classify, '--out', file, '--json']);
    expect(e.code).toBe(0);
    const tensors = await loadSafetensors(file);
    expect([...tensors.keys()].sort()).toEqual([...names].sort());
    // The exported bytes hash to the same SHA-256 as the checkpoint's parameters.
    const { createHash } = await import('node:crypto');
    const h = createHash('sha256');
    for (const n of names) {
      const t = tensors.get(n)!;
      expect(t.shape).toEqual(r.json.parameters.find((p: { name: string }) => p.name === n).shape);
      h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    expect(h.digest('hex')).toBe(r.json.sha256);
  });
});
