/**
 * `weft export --format onnx` end to end: models trained by the real CLI (a child process) on
 * each task and from model specs covering every exportable layer and option (bidirectional
 * GRU/LSTM/RNN with tanh and relu, stacked layers, the three merges, one-hot and embedded and
 * dense input, pooling last/mean/max/attention, layerNorm, dropout, tied weights, per-step and
 * per-sequence heads), exported by the CLI and run in onnxruntime-node. Each model's ONNX
 * outputs must match weft's own on the same rows (the head's outputs as `weft predict` computes
 * them: core's predictAll; a regress model's denormalised) within 1e-5 relative to the
 * outputs' scale, on batches whose rows have different lengths. A layer of the user's own is
 * refused, named.
 */
import { beforeAll, describe, it, expect } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  TrainedModel, Vocab, denormalize, encodeClassifyInputs, encodeRegressInputs, encodeTagInputs, loadClassify, loadLayerModules, loadModelSync,
  modelShape, packDataset, planModel, readRegressSeries, argmax, ONNX_OPSET,
  encodeMultilabelInputs, type MultilabelMeta,
  type ClassifyMeta, type LmMeta, type RegressMeta, type SequenceDataset, type TagMeta,
} from '@weft/core';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';
import { expectClose, repoRoot } from './helpers/compare.js';
import { onnxRuntime, type OrtTensor } from './helpers/onnxruntime.js';

const dir = tempDir('weft-onnx-');
// The first run installs onnxruntime-node into test/onnxruntime (about 290 MiB from npm).
beforeAll(() => void onnxRuntime(), 600_000);
const ex = (f: string) => path.join(EXAMPLES, f);
const TINY = ['--epochs', '1', '--workers', '1', '--quiet'];
/** Rows per ONNX batch: each batch padded to its own longest row. */
const BATCH = 7;

function train(name: string, args: string[], spec?: unknown): string {
  const out = path.join(dir, name);
  const specArgs: string[] = [];
  if (spec !== undefined) {
    const f = path.join(dir, `${name}.json`);
    writeFileSync(f, JSON.stringify(spec));
    specArgs.push('--model-spec', f);
  }
  const r = weft(['train', ...args, ...specArgs, ...TINY, '--out', out]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return out;
}

/** `weft export --format onnx` on a run; returns the file. */
function exportOnnx(run: string): string {
  const r = weft(['export', '--format', 'onnx', '--model', run, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.json).toMatchObject({ command: 'export', format: 'onnx', opset: ONNX_OPSET });
  expect(existsSync(r.json.out)).toBe(true);
  return r.json.out as string;
}

/**
 * The ONNX model's output for every row of `d`, in predictAll's layout ([count, C], or
 * [count, maxSteps, C] with 0 past each length), run in batches of BATCH rows, each padded to its
 * longest row (padded token ids are left at a value the vocabulary does not have, padded values
 * NaN: the graph must ignore them). `raw` replaces a dense dataset's inputs (values in the
 * data's own units, the same layout).
 */
async function onnxOutputs(file: string, d: SequenceDataset, raw?: Float32Array): Promise<Float32Array> {
  const { InferenceSession, Tensor } = onnxRuntime();
  const s = await InferenceSession.create(file);
  expect(s.inputNames).toEqual([d.inputKind === 'tokens' ? 'tokens' : 'inputs', 'lengths']);
  const name = s.outputNames[0]!;
  const tokens = d.inputKind === 'tokens';
  const F = tokens ? 1 : d.inputSize;
  const S = d.maxSteps;
  let out: Float32Array | undefined;
  let perStep = false;
  for (let r0 = 0; r0 < d.count; r0 += BATCH) {
    const rows = Math.min(BATCH, d.count - r0);
    const lens = Array.from(d.lengths.subarray(r0, r0 + rows));
    const T = Math.max(...lens);
    const feeds: Record<string, OrtTensor> = { lengths: new Tensor('int64', BigInt64Array.from(lens, BigInt), [rows]) };
    if (tokens) {
      const x = new BigInt64Array(rows * T).fill(BigInt(d.inputSize + 5));
      for (let b = 0; b < rows; b++) for (let t = 0; t < lens[b]!; t++) x[b * T + t] = BigInt(d.inputs[(r0 + b) * S + t]!);
      feeds.tokens = new Tensor('int64', x, [rows, T]);
    } else {
      const src = raw ?? (d.inputs as Float32Array);
      const x = new Float32Array(rows * T * F).fill(NaN);
      for (let b = 0; b < rows; b++) x.set(src.subarray((r0 + b) * S * F, ((r0 + b) * S + lens[b]!) * F), b * T * F);
      feeds.inputs = new Tensor('float32', x, [rows, T, F]);
    }
    const y = (await s.run(feeds))[name]!;
    const C = Number(y.dims[y.dims.length - 1]);
    perStep = y.dims.length === 3;
    out ??= new Float32Array(d.count * (perStep ? S : 1) * C);
    const data = y.data as Float32Array;
    if (perStep) {
      expect(y.dims).toEqual([rows, T, C]);
      for (let b = 0; b < rows; b++) {
        out.set(data.subarray(b * T * C, (b * T + lens[b]!) * C), (r0 + b) * S * C);
        // 0 at padded steps, as documented.
        for (let i = (b * T + lens[b]!) * C; i < (b + 1) * T * C; i++) expect(data[i]).toBe(0);
      }
    } else {
      expect(y.dims).toEqual([rows, C]);
      out.set(data, r0 * C);
    }
  }
  await s.release();
  return out!;
}

/** Asserts the ONNX outputs match weft's within 1e-5 relative to the outputs' largest magnitude. */
function expectMatch(actual: Float32Array, expected: Float32Array, name: string): void {
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  expect(scale).toBeGreaterThan(0);
  expectClose(actual, expected, { rtol: 1e-5, atol: 1e-5 * scale, name });
}

/** Different lengths in every batch of BATCH rows (the point of `sequence_lens` and the masks). */
function expectRaggedBatches(d: SequenceDataset): void {
  for (let r0 = 0; r0 < d.count; r0 += BATCH) {
    const lens = new Set(d.lengths.subarray(r0, Math.min(d.count, r0 + BATCH)));
    if (Math.min(BATCH, d.count - r0) > 1) expect(lens.size, `rows ${r0}..: lengths ${[...lens]}`).toBeGreaterThan(1);
  }
}

const model = (run: string) => loadModelSync(path.join(run, 'model.weft'));
const jsonl = (f: string) => readFileSync(ex(f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** A classify run's rows of classify.jsonl, through both. */
async function checkClassify(run: string, name: string): Promise<Float32Array> {
  const m = model(run);
  const texts = jsonl('classify.jsonl').map((r) => r.text as string).slice(0, 60);
  const d = encodeClassifyInputs(m.meta as ClassifyMeta, texts);
  expectRaggedBatches(d);
  const y = await onnxOutputs(exportOnnx(run), d);
  expectMatch(y, m.outputs(d), name);
  return y;
}

/** Beginnings of lm.txt's lines, 2 to 49 characters long, as the lm's token ids. */
function lmLines(meta: LmMeta): SequenceDataset {
  const vocab = Vocab.fromJSON(meta.vocab);
  const lines = readFileSync(ex('lm.txt'), 'utf8').split('\n').filter((l) => l.length >= 50).slice(0, 30).map((l, i) => l.slice(0, 2 + ((i * 7) % 48)));
  const inputs = lines.map((l) => Int32Array.from(vocab.encode(l)));
  return packDataset({ inputKind: 'tokens', inputSize: vocab.size, targetKind: 'class-per-step', outputSize: vocab.size, inputs, targets: inputs.map((x) => new Int32Array(x.length)) });
}

/** Windows of regress.csv of 3..12 rows in the columns' own units, and weft's values for them in those units (0 past each length). */
function regressWindows(meta: RegressMeta): { d: SequenceDataset; raw: Float32Array; expected: (m: TrainedModel) => Float32Array } {
  const series = readRegressSeries(ex('regress.csv'), meta);
  const windows = Array.from({ length: 40 }, (_, i) => {
    const L = 3 + ((i * 5) % 10);
    return Array.from({ length: L }, (_, t) => meta.inputColumns.map((c) => series.columns.get(c)![i * 11 + t]!));
  });
  const d = encodeRegressInputs(meta, windows);
  const I = meta.inputColumns.length;
  const raw = new Float32Array(d.count * d.maxSteps * I);
  windows.forEach((w, i) => raw.set(w.flat(), i * d.maxSteps * I));
  return {
    d, raw,
    expected: (m) => {
      const v = denormalize(meta, m.outputs(d));
      if (meta.perStep) {
        const C = meta.targetColumns.length;
        for (let i = 0; i < d.count; i++) v.fill(0, (i * d.maxSteps + d.lengths[i]!) * C, (i + 1) * d.maxSteps * C);
      }
      return v;
    },
  };
}

async function checkRegress(run: string, name: string): Promise<void> {
  const m = model(run);
  const { d, raw, expected } = regressWindows(m.meta as RegressMeta);
  expectRaggedBatches(d);
  expectMatch(await onnxOutputs(exportOnnx(run), d, raw), expected(m), name);
}

describe('weft export --format onnx: each task, trained by the CLI', () => {
  it('classify (the default 2-layer bidirectional LSTM, final states): logits match, and their arg-max is the label weft predict gives', async () => {
    const run = train('classify', ['--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '8']);
    const y = await checkClassify(run, 'classify logits');
    const texts = jsonl('classify.jsonl').map((r) => r.text as string).slice(0, 60);
    const p = weft(['predict', '--model', run, ...texts.flatMap((t) => ['--text', t]), '--json']);
    expect(p.code).toBe(0);
    const labels = (model(run).meta as ClassifyMeta).labels;
    const C = labels.length;
    expect(p.json.predictions.map((q: { label: string }) => q.label)).toEqual(texts.map((_, i) => labels[argmax(y, i * C, C)]));
  });

  it('multilabel (the classify preset with sigmoid binary cross-entropy): logits match, and the labels past 0.5 are those weft predict gives', async () => {
    const run = train('multilabel', ['--task', 'multilabel', '--data', ex('multilabel.jsonl'), '--hidden', '8', '--layers', '1']);
    const m = model(run);
    const meta = m.meta as MultilabelMeta;
    const texts = jsonl('multilabel.jsonl').map((r) => r.text as string).slice(0, 60);
    const d = encodeMultilabelInputs(meta, texts);
    expectRaggedBatches(d);
    const y = await onnxOutputs(exportOnnx(run), d);
    expectMatch(y, m.outputs(d), 'multilabel logits');
    const p = weft(['predict', '--model', run, ...texts.flatMap((t) => ['--text', t]), '--json']);
    expect(p.code).toBe(0);
    const C = meta.labels.length;
    // logit > 0 ⇔ sigmoid > 0.5 (a logit of exactly 0 is not expected from trained weights)
    expect(p.json.predictions.map((q: { labels: string[] }) => q.labels)).toEqual(texts.map((_, i) => meta.labels.filter((_, c) => y[i * C + c]! > 0)));
  });

  it('tag (a GRU over word embeddings, per-step logits): match, and give the tags weft predict gives', async () => {
    const run = train('tag', ['--task', 'tag', '--data', ex('tag.jsonl'), '--cell', 'gru', '--hidden', '8', '--layers', '1']);
    const m = model(run);
    const meta = m.meta as TagMeta;
    const sentences = jsonl('tag.jsonl').slice(0, 40).map((r) => r.tokens as string[]);
    const d = encodeTagInputs(meta, sentences);
    expectRaggedBatches(d);
    const y = await onnxOutputs(exportOnnx(run), d);
    expectMatch(y, m.outputs(d), 'tag logits');
    const p = weft(['predict', '--model', run, ...sentences.map((s) => s.join(' ')).flatMap((t) => ['--text', t]), '--json']);
    expect(p.code).toBe(0);
    const C = meta.tags.length;
    expect(p.json.predictions.map((q: { tags: string[] }) => q.tags)).toEqual(sentences.map((s, i) => s.map((_, t) => meta.tags[argmax(y, (i * d.maxSteps + t) * C, C)])));
  });

  it('lm (an LSTM whose output layer is tied to its embedding): next-character logits match', async () => {
    const run = train('lm', ['--task', 'lm', '--data', ex('lm.txt'), '--embedding', '16', '--hidden', '16', '--tie-weights', '--layers', '1', '--seq-len', '16', '--batch', '4']);
    const m = model(run);
    const d = lmLines(m.meta as LmMeta);
    expectRaggedBatches(d);
    expectMatch(await onnxOutputs(exportOnnx(run), d), m.outputs(d), 'lm logits');
  });

  it('regress (a relu RNN over two columns): values in the data\'s own units, normalisation built in, match weft\'s denormalised predictions', async () => {
    const run = train('regress', ['--task', 'regress', '--data', ex('regress.csv'), '--window', '8', '--inputs', 'temperature', 'demand', '--targets', 'demand',
      '--cell', 'rnn', '--nonlinearity', 'relu', '--hidden', '8', '--layers', '1']);
    await checkRegress(run, 'regress values');
  });
});

const CLASSIFY = ['--task', 'classify', '--data', ex('classify.jsonl')];
const REGRESS = ['--task', 'regress', '--data', ex('regress.csv'), '--window', '10', '--inputs', 'temperature', 'demand', '--targets', 'demand'];
const head = { type: 'linear', name: 'head' };

describe('weft export --format onnx: model specs, trained by the CLI', () => {
  const cases: [string, string[], unknown[], Record<string, unknown>?][] = [
    ['bidirectional 2-layer GRU, layerNorm, attention pooling', CLASSIFY, [
      { type: 'embedding', dim: 6 }, { type: 'recurrent', name: 'rnn', cell: 'gru', hiddenSize: 6, numLayers: 2, bidirectional: true },
      { type: 'layerNorm' }, { type: 'pool', mode: 'attention', attentionSize: 4 }, head]],
    ['bidirectional relu RNN on one-hot input, max pooling, a tanh layer, dropout', CLASSIFY, [
      { type: 'recurrent', cell: 'rnn', nonlinearity: 'relu', hiddenSize: 6, bidirectional: true }, { type: 'pool', mode: 'max' },
      { type: 'linear', outputSize: 5, activation: 'tanh' }, { type: 'dropout', p: 0.2 }, head]],
    ['bidirectional 2-layer LSTM merged by sum, mean pooling', CLASSIFY, [
      { type: 'embedding', dim: 6 }, { type: 'recurrent', cell: 'lstm', hiddenSize: 6, numLayers: 2, bidirectional: true, merge: 'sum', dropout: 0.1 },
      { type: 'pool', mode: 'mean' }, head]],
    ['bidirectional tanh RNN merged by mean, dropout, then last (the output at length - 1)', CLASSIFY, [
      { type: 'embedding', dim: 6 }, { type: 'recurrent', cell: 'rnn', hiddenSize: 6, bidirectional: true, merge: 'mean' },
      { type: 'dropout', p: 0.3 }, { type: 'pool', mode: 'last' }, head]],
    ['bidirectional GRU merged by mean, last (final states), layerNorm of the rows, no biases', CLASSIFY, [
      { type: 'embedding', dim: 6 }, { type: 'recurrent', cell: 'gru', hiddenSize: 6, bidirectional: true, merge: 'mean', bias: false },
      { type: 'pool', mode: 'last' }, { type: 'layerNorm', eps: 1e-3 }, { ...head, bias: false }]],
    ['dense input: a relu layer, a bidirectional 3-layer LSTM, attention pooling (regress)', REGRESS, [
      { type: 'linear', outputSize: 5, activation: 'relu' }, { type: 'recurrent', cell: 'lstm', hiddenSize: 5, numLayers: 3, bidirectional: true },
      { type: 'pool', mode: 'attention' }, head], { kind: 'huber' }],
    ['dense input, per step: a bidirectional GRU, layerNorm, a relu layer (regress --per-step)', [...REGRESS, '--per-step'], [
      { type: 'recurrent', cell: 'gru', hiddenSize: 6, bidirectional: true }, { type: 'layerNorm' }, { type: 'linear', outputSize: 4, activation: 'relu' }, head]],
  ];
  for (const [what, args, layers, loss] of cases) {
    it(what, async () => {
      const name = what.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
      const regress = args.includes('regress');
      const run = train(name, args, { layers, loss: loss ?? { kind: regress ? 'mse' : 'crossEntropy' } });
      if (regress) await checkRegress(run, what);
      else await checkClassify(run, what);
    });
  }
});

describe('weft export --format onnx: refusals', () => {
  it('a model with a layer of the user\'s own is refused, naming the layer, and nothing is written', async () => {
    const data = loadClassify(ex('classify.jsonl'), { validFraction: 0 });
    const spec = {
      input: modelShape(data.meta).input,
      layers: [{ type: 'embedding', dim: 4 }, { type: 'recurrent', cell: 'gru', hiddenSize: 4 }, { type: 'highway', name: 'gate' }, { type: 'pool', mode: 'mean' },
        { type: 'linear', outputSize: data.meta.labels.length }],
      loss: { kind: 'crossEntropy' },
      modules: [pathToFileURL(path.join(repoRoot, 'examples/highway/highway.mjs')).href],
    };
    await loadLayerModules(spec);
    const m = new TrainedModel({ train: { model: spec }, params: new Float32Array(planModel(spec).layout.size), meta: data.meta });
    const file = path.join(dir, 'highway.weft');
    m.saveSync(file);
    const out = path.join(dir, 'highway.onnx');
    const r = weft(['export', '--format', 'onnx', '--model', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("config.train.model.layers[2] 'gate' (type 'highway': a layer of your own, from a layer module) cannot be exported to ONNX");
    expect(existsSync(out)).toBe(false);
  });

  it('an existing file is kept without --force, replaced with it', () => {
    const run = train('kept', [...CLASSIFY, '--hidden', '4', '--layers', '1']);
    const out = path.join(dir, 'kept.onnx');
    writeFileSync(out, 'mine');
    const r = weft(['export', '--format', 'onnx', '--model', run, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${out} already exists: choose another --out, or replace it with --force`);
    expect(readFileSync(out, 'utf8')).toBe('mine');
    expect(weft(['export', '--format', 'onnx', '--model', run, '--out', out, '--force']).code).toBe(0);
    expect(readFileSync(out).length).toBeGreaterThan(1000);
  });
});
