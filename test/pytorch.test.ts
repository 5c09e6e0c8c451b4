// weft ↔ PyTorch (docs/scale.md), with real PyTorch in a child Python and the real CLI as a
// child process: an export's weft_model.py computes weft's outputs on held-out data for every
// task, and reads data files by weft's rules (refusing what weft refuses, in weft's words);
// train_ddp.py trains an export under torchrun with 2 processes (gloo, CPU), `weft import` reads
// the result back and weft's evaluation of it agrees with PyTorch's; imports that do not fit
// are refused by tensor. Skipped, saying why, where no Python can import torch, except under
// WEFT_REQUIRE_TORCH=1 (CI), where that fails.
import { mkdtempSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  MODEL_FILE_KIND, SequenceModel, decodeSafetensors, denormalize, encodeSafetensors, loadCheckpointSync, loadClassifyEval, loadMultilabelEval, loadLayerModules,
  loadLmEval, loadRegressEval, loadTagEval, modelCheckpoint, modelFromCheckpoint, planModel, predictAll, resolveTrainConfig, saveCheckpointSync,
  sigmoidRow, type DataMeta, type SequenceDataset,
} from '@weft/core';
import { EXAMPLES, weft } from './helpers/cli.js';
import { findTorch, python, torchrun } from './helpers/torch.js';
import { repoRoot } from './helpers/compare.js';
import { SPEC as HIGHWAY_SPEC } from '../examples/highway/run.mjs';

const torch = findTorch();
if (!torch.python && !torch.required) console.warn(`test/pytorch.test.ts skipped: ${torch.why}`);
const OUTPUTS_PY = path.join(repoRoot, 'test/helpers/torch_outputs.py');

const dir = mkdtempSync(path.join(tmpdir(), 'weft-pytorch-'));
const at = (...p: string[]) => path.join(dir, ...p);

/** The first `cut` of a file's data lines (examples/data/NAME, or a path) for training, the rest held out (a CSV keeps its header in both). */
function splitFile(name: string, fraction: number): { train: string; valid: string } {
  const lines = readFileSync(path.resolve(EXAMPLES, name), 'utf8').trimEnd().split('\n');
  const header = name.endsWith('.csv') ? [lines.shift()!] : [];
  const cut = Math.floor(lines.length * fraction);
  const ext = path.extname(name);
  const train = at(`${path.basename(name, ext)}-train${ext}`);
  const valid = at(`${path.basename(name, ext)}-valid${ext}`);
  writeFileSync(train, [...header, ...lines.slice(0, cut)].join('\n') + '\n');
  writeFileSync(valid, [...header, ...lines.slice(cut)].join('\n') + '\n');
  return { train, valid };
}

/** weft's own outputs (the library, this process) of a model file on a data file, encoded with its meta. */
function weftOutputs(modelFile: string, file: string): { outputs: Float32Array; data: SequenceDataset; meta: DataMeta } {
  const m = modelFromCheckpoint(loadCheckpointSync(modelFile), modelFile);
  const model = new SequenceModel(m.config.train.model);
  model.paramBuffer.set(m.params);
  const meta = m.config.meta!;
  const flags = (m.config as unknown as { data: { flags: { batch?: number; textColumn?: string; labelColumn?: string; maxLen?: number } } }).data.flags;
  const fields = { textField: flags.textColumn, labelField: flags.labelColumn, maxLen: flags.maxLen };
  const data = meta.task === 'classify' ? loadClassifyEval(file, meta, fields)
    : meta.task === 'multilabel' ? loadMultilabelEval(file, meta, fields)
    : meta.task === 'tag' ? loadTagEval(file, meta)
    : meta.task === 'lm' ? loadLmEval(file, meta, { streams: flags.batch })
    : loadRegressEval(file, meta);
  return { outputs: predictAll(model, data.dataset), data: data.dataset, meta };
}

/** The label of every output row (classes: its arg-max decoded; multilabel: those of probability ≥ 0.5, as weft predict), as weft_model.predictions gives them. */
function weftPredictions(meta: DataMeta, outputs: Float32Array, d: SequenceDataset): unknown[] {
  const O = d.outputSize;
  const best = (off: number) => { let b = 0; for (let j = 1; j < O; j++) if (outputs[off + j]! > outputs[off + b]!) b = j; return b; };
  if (meta.task === 'regress') {
    const v = Array.from(denormalize(meta, outputs));
    return Array.from({ length: d.count }, (_, i) => v.slice(i * O, (i + 1) * O));
  }
  if (meta.task === 'classify') return Array.from({ length: d.count }, (_, i) => meta.labels[best(i * O)]);
  if (meta.task === 'multilabel') {
    return Array.from({ length: d.count }, (_, i) => { const p = sigmoidRow(outputs, i * O, O); return meta.labels.filter((_, c) => p[c]! >= 0.5); });
  }
  const S = d.maxSteps;
  return Array.from({ length: d.count }, (_, i) => {
    const ids = Array.from({ length: d.lengths[i]! }, (_, t) => best((i * S + t) * O));
    if (meta.task === 'tag') return ids.map((k) => meta.tags[k]);
    return ids.filter((k) => k !== 0).map((k) => (k === 1 ? '\ufffd' : meta.vocab.symbols[k - 2])).join('');
  });
}

/** The largest |weft - torch| / max(1, |weft|) over every real output (per-step outputs: steps < length). */
function maxRelativeDifference(w: Float32Array, d: SequenceDataset, py: { shape: number[]; outputs: number[] }): number {
  const perStep = py.shape.length === 3;
  const O = py.shape[py.shape.length - 1]!;
  const T = perStep ? py.shape[1]! : 1;
  const S = perStep ? d.maxSteps : 1;
  expect(py.shape[0]).toBe(d.count);
  let worst = 0;
  for (let i = 0; i < d.count; i++) {
    for (let t = 0; t < (perStep ? d.lengths[i]! : 1); t++) {
      for (let o = 0; o < O; o++) {
        const a = w[(i * S + t) * O + o]!;
        const b = py.outputs[(i * T + t) * O + o]!;
        worst = Math.max(worst, Math.abs(a - b) / Math.max(1, Math.abs(a)));
      }
    }
  }
  return worst;
}

const CLASSIFY_SPEC = {
  // Most of the layer table in one model: embedding, a GRU stack merged by sum, layerNorm,
  // dropout, attention pooling, a linear layer with an activation, the head; label smoothing.
  layers: [
    { type: 'embedding', dim: 6 },
    { type: 'recurrent', name: 'rnn', cell: 'gru', hiddenSize: 6, numLayers: 2, bidirectional: true, merge: 'sum', dropout: 0.1 },
    { type: 'layerNorm', name: 'norm' },
    { type: 'dropout', p: 0.1 },
    { type: 'pool', mode: 'attention', attentionSize: 4 },
    { type: 'linear', name: 'hidden', outputSize: 5, activation: 'tanh' },
    { type: 'linear', name: 'head' },
  ],
  loss: { kind: 'crossEntropy', labelSmoothing: 0.1 },
};

interface TaskCase {
  /** The case's name (default: the task). */
  name?: string;
  task: string;
  /** In examples/data, or a path. */
  file: string;
  args: string[];
}

/**
 * examples/data/multilabel.jsonl rewritten to exercise the multi-label reader's rules: the fields
 * "body" and "topics" (--text-column, --label-column), texts partly in upper case (--lowercase)
 * and partly with decomposed accents, the label "food" spelled decomposed ("cafe\u0301"), the
 * combining marks as JSON escapes so that the parsed strings, not only the file's text, need NFC.
 */
function writeMultilabelRules(file: string): void {
  const rows = readFileSync(path.join(EXAMPLES, 'multilabel.jsonl'), 'utf8').trimEnd().split('\n').map((line, i) => {
    const r = JSON.parse(line) as { text: string; labels: string[] };
    const accented = i % 3 === 0 ? r.text.replace(/e/g, 'e\u0301') : r.text;
    const body = i % 2 === 0 ? accented.toUpperCase() : accented;
    return JSON.stringify({ body, topics: r.labels.map((l) => (l === 'food' ? 'cafe\u0301' : l)) }).replace(/\u0301/g, '\\u0301');
  });
  writeFileSync(file, rows.join('\n') + '\n');
}

const CASES: TaskCase[] = [
  { task: 'classify', file: 'classify.jsonl', args: ['--model-spec', at('classify-spec.json')] },
  // One-hot input, LSTM with weft's variational dropouts (training only: nn.LSTM at inference).
  { task: 'tag', file: 'tag.jsonl', args: ['--cell', 'lstm', '--layers', '2', '--hidden', '8', '--input-dropout', '0.1', '--recurrent-dropout', '0.1'] },
  // Embedding with the head's weight tied to it.
  { task: 'lm', file: 'lm.txt', args: ['--cell', 'gru', '--layers', '2', '--hidden', '12', '--embedding', '12', '--tie-weights', '--seq-len', '16', '--batch', '4'] },
  // Dense input, a relu RNN, max pooling.
  { task: 'regress', file: 'regress.csv', args: ['--window', '10', '--inputs', 'temperature', 'demand', '--targets', 'demand', '--cell', 'rnn', '--nonlinearity', 'relu', '--layers', '1', '--hidden', '8', '--pooling', 'max'] },
  // Sigmoid outputs, binary cross-entropy; labels of probability ≥ 0.5.
  { task: 'multilabel', file: 'multilabel.jsonl', args: ['--hidden', '8', '--layers', '1'] },
  // The same task read by the rules of writeMultilabelRules, with --max-len (refusals: below).
  {
    name: 'multilabel-rules', task: 'multilabel', file: at('multilabel-rules.jsonl'),
    args: ['--lowercase', '--text-column', 'body', '--label-column', 'topics', '--max-len', '60', '--hidden', '8', '--layers', '1'],
  },
];
const nameOf = (c: TaskCase) => c.name ?? c.task;

/** `python -c READ_PY EXPORT FILE...`: weft_model.read_dataset of the export on each file, as [its WeftError's message, or null]. */
const READ_PY = [
  'import json, sys',
  'sys.path.insert(0, sys.argv[1])',
  'import weft_model as wm',
  'def error(f):',
  '    try:',
  '        wm.read_dataset(wm.load_meta(sys.argv[1]), f)',
  '    except wm.WeftError as e:',
  '        return str(e)',
  'print(json.dumps([error(f) for f in sys.argv[2:]]))',
].join('\n');

describe.skipIf(!torch.python && !torch.required)('weft ↔ PyTorch', () => {
  const py = torch.python!;
  const files = new Map<string, { train: string; valid: string; run: string; export: string }>();

  beforeAll(() => {
    if (!torch.python) throw new Error(`WEFT_REQUIRE_TORCH=1, but ${torch.why}`);
    writeFileSync(at('classify-spec.json'), JSON.stringify(CLASSIFY_SPEC));
    writeMultilabelRules(at('multilabel-rules.jsonl'));
    for (const c of CASES) {
      const { train, valid } = splitFile(c.file, 0.8);
      const run = at(`run-${nameOf(c)}`);
      const r = weft(['train', '--task', c.task, '--data', train, '--valid', valid, ...c.args, '--epochs', '1', '--steps', '4', '--workers', '1', '--out', run, '--json']);
      expect(r.code, r.stderr).toBe(0);
      files.set(nameOf(c), { train, valid, run, export: at(`export-${nameOf(c)}`) });
    }
  });

  it.each(CASES.map(nameOf))('%s: weft_model.py in PyTorch gives weft\'s outputs on held-out data (≤ 1e-5 relative) and the same predictions', (name) => {
    const task = CASES.find((c) => nameOf(c) === name)!.task;
    const f = files.get(name)!;
    const e = weft(['export', '--format', 'pytorch', '--model', f.run, '--out', f.export, '--json']);
    expect(e.code, e.stderr).toBe(0);
    for (const name of ['model.safetensors', 'optimizer.safetensors', 'meta.json', 'weft_model.py', 'train_ddp.py']) {
      expect(existsSync(path.join(f.export, name)), name).toBe(true);
    }
    expect(e.json.files.map((p: string) => path.basename(p)).sort()).toEqual(['meta.json', 'model.safetensors', 'optimizer.safetensors', 'train_ddp.py', 'weft_model.py']);
    const meta = JSON.parse(readFileSync(path.join(f.export, 'meta.json'), 'utf8'));
    expect(meta.data.task).toBe(task);
    expect(meta.step).toBe(4);
    expect(planModel(meta.spec).layout.names()).toEqual([...decodeSafetensors(readFileSync(path.join(f.export, 'model.safetensors'))).tensors.keys()]);

    const w = weftOutputs(path.join(f.run, 'model.weft'), f.valid);
    const t = python(py, [OUTPUTS_PY, f.export, f.valid]).json;
    expect(maxRelativeDifference(w.outputs, w.data, t)).toBeLessThanOrEqual(1e-5);
    if (task === 'regress') {
      const values = weftPredictions(w.meta, w.outputs, w.data) as number[][];
      values.forEach((v, i) => v.forEach((x, k) => expect(Math.abs(x - t.predictions[i][k]) / Math.max(1, Math.abs(x))).toBeLessThanOrEqual(1e-5)));
    } else {
      expect(t.predictions).toEqual(weftPredictions(w.meta, w.outputs, w.data));
    }
    // PyTorch's loss of the same weights on the same file: weft eval's.
    const ev = weft(['eval', '--model', f.run, '--data', f.valid, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    expect(Math.abs(t.eval.loss - ev.json.metrics.loss) / ev.json.metrics.loss).toBeLessThanOrEqual(1e-5);
    if (ev.json.metrics.accuracy !== undefined) expect(t.eval.accuracy).toBe(ev.json.metrics.accuracy);
    expect(t.eval.count).toBe(ev.json.metrics.count);
  });

  it("multilabel: weft_model.py refuses the rows weft refuses, in weft's words (file, line, field, what was expected)", () => {
    const f = files.get('multilabel-rules')!;
    const exp = at('multilabel-refusals');
    expect(weft(['export', '--format', 'pytorch', '--model', f.run, '--out', exp]).code).toBe(0);
    const good = '{"body":"a","topics":[]}';
    const cases: [file: string, row: string, says: string][] = [
      ['no-text.jsonl', '{"text":"a","topics":[]}', 'field "body" must be a non-empty string, it is missing'],
      ['empty-text.jsonl', '{"body":"","topics":[]}', 'field "body" must be a non-empty string, got ""'],
      ['too-long.jsonl', JSON.stringify({ body: 'x'.repeat(61), topics: [] }), 'more than maxLen = 60'],
      ['not-array.jsonl', '{"body":"a","topics":"sports"}', 'field "topics" must be an array of labels'],
      ['not-string.jsonl', '{"body":"a","topics":["sports",3]}', 'field "topics" entry 1 must be a non-empty string, got 3'],
      ['twice.jsonl', '{"body":"a","topics":["café","cafe\\u0301"]}', 'lists "café" twice (entries 0 and 1)'],
      ['unknown.jsonl', '{"body":"a","topics":["weather"]}', 'has "weather", which is not one of the training labels'],
      ['table.csv', 'body,topics\na,sports', 'expected .jsonl (or .ndjson)'],
    ];
    const messages = cases.map(([name, row, says]) => {
      const file = at(name);
      const csv = name.endsWith('.csv');
      writeFileSync(file, csv ? `${row}\n` : `${good}\n${row}\n`);
      const w = weft(['eval', '--model', f.run, '--data', file]);
      expect(w.code, name).toBe(1);
      const message = w.stderr.trim().split('\n')[0]!.replace(/^weft: /, '');
      expect(message, name).toContain(says);
      expect(message.startsWith(csv ? `${file}: ` : `${file}:2: `), message).toBe(true);
      return message;
    });
    // The good row alone is read by both.
    writeFileSync(at('good.jsonl'), `${good}\n`);
    expect(weft(['eval', '--model', f.run, '--data', at('good.jsonl')]).code).toBe(0);
    expect(python(py, ['-c', READ_PY, exp, ...cases.map(([name]) => at(name)), at('good.jsonl')]).json).toEqual([...messages, null]);
  }, 300_000);

  it('torchrun --nproc_per_node 2 trains an export with DDP (gloo, CPU); weft import reads the result, weft eval agrees with PyTorch, train --resume goes on from it', async () => {
    const { train, valid } = files.get('classify')!;
    const run = at('ddp-run');
    const r = weft(['train', '--task', 'classify', '--data', train, '--valid', valid, '--hidden', '8', '--layers', '2', '--lr', '0.02', '--batch', '16', '--epochs', '1', '--workers', '1', '--out', run, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const exp = at('ddp-export');
    expect(weft(['export', '--format', 'pytorch', '--model', run, '--out', exp]).code).toBe(0);
    const before = weft(['eval', '--model', run, '--data', train, '--json']).json.metrics.loss;

    const ddp = (await torchrun(py, 2, path.join(exp, 'train_ddp.py'), ['--epochs', '3'])).json;
    expect(ddp.done).toBe(true);
    expect(ddp.processes).toBe(2);
    expect(ddp.steps).toBeGreaterThan(10);
    const exported = JSON.parse(readFileSync(path.join(exp, 'meta.json'), 'utf8'));
    expect(exported.step).toBe(ddp.step);

    const imported = at('ddp-imported');
    const im = weft(['import', exp, '--out', imported, '--json']);
    expect(im.code, im.stderr).toBe(0);
    expect(im.json.step).toBe(ddp.step);
    expect(im.json.optimizer).toBe(true);
    // The loss went down: weft's evaluation of the training data, before and after.
    const after = weft(['eval', '--model', imported, '--data', train, '--json']).json.metrics;
    expect(after.loss).toBeLessThan(before);
    // weft eval of the imported model = PyTorch's evaluation of the weights train_ddp.py saved.
    const wv = weft(['eval', '--model', imported, '--data', valid, '--json']).json.metrics;
    const tv = python(py, [OUTPUTS_PY, exp, valid]).json.eval;
    expect(Math.abs(tv.loss - wv.loss) / wv.loss).toBeLessThanOrEqual(1e-5);
    expect(tv.accuracy).toBe(wv.accuracy);
    // Fine-tuning in weft goes on from it: weights, Adam's moments and the step count.
    const resumed = weft(['train', '--resume', imported, '--epochs', '1', '--workers', '1', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json.step).toBeGreaterThan(ddp.step);
  });

  it('multilabel under torchrun (2 processes): weft import reads the result; weft eval agrees with PyTorch (loss, label accuracy, exact match of its label sets)', async () => {
    const f = files.get('multilabel')!;
    const exp = at('multilabel-ddp');
    expect(weft(['export', '--format', 'pytorch', '--model', f.run, '--out', exp]).code).toBe(0);
    const before = weft(['eval', '--model', f.run, '--data', f.train, '--json']).json.metrics.loss;
    const ddp = (await torchrun(py, 2, path.join(exp, 'train_ddp.py'), ['--epochs', '2', '--valid', f.valid])).json;
    expect(ddp.done).toBe(true);
    expect(ddp.processes).toBe(2);
    expect(ddp.losses.every((l: number) => Number.isFinite(l))).toBe(true);

    const imported = at('multilabel-imported');
    const im = weft(['import', exp, '--out', imported, '--json']);
    expect(im.code, im.stderr).toBe(0);
    expect(im.json.step).toBe(ddp.step);
    expect(weft(['eval', '--model', imported, '--data', f.train, '--json']).json.metrics.loss).toBeLessThan(before);
    const ev = weft(['eval', '--model', imported, '--data', f.valid, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const t = python(py, [OUTPUTS_PY, exp, f.valid]).json;
    expect(Math.abs(t.eval.loss - ev.json.metrics.loss) / ev.json.metrics.loss).toBeLessThanOrEqual(1e-5);
    expect(t.eval.accuracy).toBe(ev.json.metrics.accuracy);
    expect(t.eval.count).toBe(ev.json.metrics.count);
    // PyTorch's label sets (probability ≥ 0.5) against the file's: weft eval's exact-match ratio.
    const key = (labels: string[]) => JSON.stringify([...labels].sort());
    const truth = readFileSync(f.valid, 'utf8').trimEnd().split('\n').map((l) => key(JSON.parse(l).labels));
    expect(t.predictions).toHaveLength(truth.length);
    const exact = t.predictions.filter((p: string[], i: number) => key(p) === truth[i]).length / truth.length;
    expect(exact).toBe(ev.json.multilabel.exactMatch);
  }, 420_000);

  it('lm under torchrun: each process carries the state of its own streams; the export trains and imports back', async () => {
    const f = files.get('lm')!;
    const exp = at('lm-ddp');
    expect(weft(['export', '--format', 'pytorch', '--model', f.run, '--out', exp]).code).toBe(0);
    const ddp = (await torchrun(py, 2, path.join(exp, 'train_ddp.py'), ['--steps', '3'])).json;
    expect(ddp.steps).toBe(3);
    expect(ddp.losses.every((l: number) => Number.isFinite(l))).toBe(true);
    const im = weft(['import', exp, '--out', at('lm-imported.weft'), '--json']);
    expect(im.code, im.stderr).toBe(0);
    const g = weft(['generate', '--model', at('lm-imported.weft'), '--prime', 'the', '--length', '20', '--json']);
    expect(g.code, g.stderr).toBe(0);
  });

  it("the step-by-step stack train_ddp.py uses for weft's variational dropouts equals nn.LSTM/GRU/RNN on packed sequences; a tag export with them trains as one process", () => {
    const check = [
      'import sys, torch',
      `sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, 'packages/cli/pytorch'))})`,
      'import weft_model as wm',
      'torch.manual_seed(0)',
      'worst = 0.0',
      'for cell in ["lstm", "gru", "rnn"]:',
      '  for bi in [False, True]:',
      '    o = dict(cell=cell, hiddenSize=5, numLayers=2, bidirectional=bi, merge="concat", nonlinearity="relu", bias=True, dropout=0.0, inputDropout=0.0, recurrentDropout=0.0)',
      '    mod, _ = wm._build_recurrent(o, 3, None, None)',
      '    x = torch.randn(4, 7, 3); n = torch.tensor([7, 3, 1, 5])',
      '    y1, h1, _ = wm._recurrent_loop(mod, o, x, n, None)',
      '    out, hc = mod(wm.pack_padded_sequence(x, n, batch_first=True, enforce_sorted=False))',
      '    y2, _ = wm.pad_packed_sequence(out, batch_first=True, total_length=7)',
      '    h2 = hc[0] if cell == "lstm" else hc',
      '    worst = max(worst, float((y1 - y2).abs().max()), float((h1 - h2).abs().max()))',
      'print(worst)',
    ].join('\n');
    expect(Number(python(py, ['-c', check]).json)).toBeLessThan(1e-6);
    const f = files.get('tag')!;
    const exp = at('tag-train');
    expect(weft(['export', '--format', 'pytorch', '--model', f.run, '--out', exp]).code).toBe(0);
    const r = python(py, [path.join(exp, 'train_ddp.py'), '--steps', '2']).json;
    expect(r.processes).toBe(1);
    expect(r.steps).toBe(2);
    expect(r.losses.every((l: number) => Number.isFinite(l))).toBe(true);
  });

  describe('refusals', () => {
    /** A fresh copy of the classify export to spoil. */
    function copyExport(name: string): string {
      const src = files.get('classify')!.export;
      const dst = at(name);
      const r = weft(['export', '--format', 'pytorch', '--model', files.get('classify')!.run, '--out', dst]);
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(src)).toBe(true);
      return dst;
    }
    const weightsOf = (d: string) => decodeSafetensors(readFileSync(path.join(d, 'model.safetensors'))).tensors;

    it('a missing tensor, an extra one, a wrong shape (another hidden size), a wrong dtype: refused by name, exit 1, nothing written', () => {
      const missing = copyExport('x-missing');
      const t = weightsOf(missing);
      t.delete('rnn.weight_hh_l1');
      writeFileSync(path.join(missing, 'model.safetensors'), encodeSafetensors(t));
      let r = weft(['import', missing, '--out', at('x.weft')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("parameter 'rnn.weight_hh_l1' is missing; the model expects it with shape [18,6]");
      expect(existsSync(at('x.weft'))).toBe(false);

      const extra = copyExport('x-extra');
      const t2 = weightsOf(extra);
      t2.set('extra.weight', { shape: [2], data: new Float32Array(2) });
      writeFileSync(path.join(extra, 'model.safetensors'), encodeSafetensors(t2));
      r = weft(['import', extra, '--out', at('x.weft')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("unexpected parameter 'extra.weight' (shape [2])");

      const hidden = copyExport('x-hidden');
      const meta = JSON.parse(readFileSync(path.join(hidden, 'meta.json'), 'utf8'));
      meta.spec.layers[1].hiddenSize = 7;
      writeFileSync(path.join(hidden, 'meta.json'), JSON.stringify(meta));
      r = weft(['import', hidden, '--out', at('x.weft')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/parameter 'rnn\.weight_ih_l0' has shape \[18,6\], the model expects \[21,6\]/);

      const dtype = copyExport('x-dtype');
      const bytes = readFileSync(path.join(dtype, 'model.safetensors'));
      const n = Number(Buffer.from(bytes).readBigUInt64LE(0));
      const header = bytes.subarray(8, 8 + n).toString('utf8').replace('"norm.bias":{"dtype":"F32"', '"norm.bias":{"dtype":"F64"');
      writeFileSync(path.join(dtype, 'model.safetensors'), Buffer.concat([bytes.subarray(0, 8), Buffer.from(header), bytes.subarray(8 + n)]));
      r = weft(['import', dtype, '--out', at('x.weft')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("tensor 'norm.bias': dtype F64 not supported, expected F32");
      expect(existsSync(at('x.weft'))).toBe(false);
    });

    it('optimizer state that does not fit, a meta.json that is not an export\'s; usage: no DIR', () => {
      const opt = copyExport('x-opt');
      const o = decodeSafetensors(readFileSync(path.join(opt, 'optimizer.safetensors'))).tensors;
      o.delete('head.bias.exp_avg_sq');
      writeFileSync(path.join(opt, 'optimizer.safetensors'), encodeSafetensors(o));
      let r = weft(['import', opt, '--out', at('x.weft')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("'head.bias.exp_avg_sq' is missing");

      const bad = copyExport('x-meta');
      writeFileSync(path.join(bad, 'meta.json'), JSON.stringify({ format: 'something-else' }));
      r = weft(['import', bad, '--out', at('x.weft')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${path.join(bad, 'meta.json')}: format must be 'weft-pytorch'`);

      r = weft(['import', at('nowhere')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no such directory');
      r = weft(['import']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('weft import needs DIR');
    });

    it('an existing output is replaced only with --force (import and export)', () => {
      const src = copyExport('x-force');
      const out = at('force.weft');
      expect(weft(['import', src, '--out', out]).code).toBe(0);
      const first = readFileSync(out);
      const mtime = statSync(out).mtimeMs;
      const r = weft(['import', src, '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${out} already exists: choose another --out, or replace it with --force`);
      expect(readFileSync(out).equals(first)).toBe(true);
      expect(statSync(out).mtimeMs).toBe(mtime);
      expect(weft(['import', src, '--out', out, '--force']).code).toBe(0);

      const e = weft(['export', '--format', 'pytorch', '--model', files.get('classify')!.run, '--out', src]);
      expect(e.code).toBe(1);
      expect(e.stderr).toContain(`${src} already exists`);
      expect(weft(['export', '--format', 'pytorch', '--model', files.get('classify')!.run, '--out', src, '--force']).code).toBe(0);
      expect(weft(['export', '--format', 'pytorhc', '--model', files.get('classify')!.run]).code).toBe(2);
    });

    it('a model with a layer of the user\'s own is refused by export, naming the layer', async () => {
      await loadLayerModules(HIGHWAY_SPEC);
      const plan = planModel(HIGHWAY_SPEC);
      const file = at('highway.weft');
      saveCheckpointSync(file, modelCheckpoint({
        config: { kind: MODEL_FILE_KIND, train: resolveTrainConfig({ model: HIGHWAY_SPEC }) }, params: new Float32Array(plan.layout.size), step: 0,
      }));
      const r = weft(['export', '--format', 'pytorch', '--model', file, '--out', at('highway-export')]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("model.layers[2] 'highway' is of type 'highway', a layer of your own");
      expect(existsSync(at('highway-export'))).toBe(false);
    });
  });
});
