// The library's front door (@weft/core's TrainedModel, loadModel, predict; the trainers'
// toModel/save): a model trained in the library is saved and loaded with its typed config and
// predicts labels, tags and values from raw inputs; a run of the real `weft train` loads in the
// library and predicts what `weft predict` prints; a file saved by the library is read by
// `weft predict`; wrong files are refused with messages naming them.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LocalTrainer, Vocab, loadClassify, loadModel, loadModelSync, loadRegress, loadTag, modelShape, saveCheckpoint, softmaxRow,
  type ClassifyMeta, type ModelConfig, type TrainConfig,
} from '@weft/core';
import { Trainer } from '@weft/workers';
import { EXAMPLES, tempDir, weft } from './helpers/cli.js';

const tmp = tempDir('weft-library-');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const ex = (f: string) => path.join(EXAMPLES, f);

/** Two labels a character model tells apart at once: texts of a's and texts of b's. */
function abFile(): string {
  const file = path.join(tmp, 'ab.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) {
    const n = 2 + (i % 5);
    lines.push(JSON.stringify({ text: (i % 2 ? 'a' : 'b').repeat(n) + (i % 3 ? 'x' : ''), label: i % 2 ? 'as' : 'bs' }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

function small(meta: Parameters<typeof modelShape>[0], extra: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: { cell: 'gru', hiddenSize: 12, ...modelShape(meta), seed: 3 },
    optimizer: { name: 'adam', lr: 0.03 }, batchSize: 8, seed: 5, ...extra,
  };
}

describe('TrainedModel: save, loadModel, predict', () => {
  it('a classifier trained with LocalTrainer saves, loads with its typed config, and labels new texts', async () => {
    const data = loadClassify(abFile(), { validFraction: 0 });
    const trainer = new LocalTrainer(small(data.meta));
    trainer.fit(data.train, { epochs: 12 });
    const file = path.join(tmp, 'ab.weft');
    await trainer.save(file, { meta: data.meta });

    const model = await loadModel(file, { task: 'classify' });
    // Typed config: the meta is a ClassifyMeta; the network is a ModelConfig (or a spec) as trained.
    const labels: string[] = model.meta.labels;
    expect(labels).toEqual(['as', 'bs']);
    expect((model.train.model as ModelConfig).cell).toBe('gru');
    expect(model.step).toBe(trainer.step);
    expect(model.params).toEqual(trainer.runner.params);

    const preds = model.predict(['aaaa', 'bbbbbx', 'aaéa']);
    expect(preds.map((p) => p.label)).toEqual(['as', 'bs', 'as']);
    for (const p of preds) {
      expect(p.task).toBe('classify');
      const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 6);
      expect(p.probability).toBe(Math.max(...Object.values(p.probabilities)));
      expect(p.probability).toBeGreaterThan(0.5);
    }
    // 'é' was never seen in training: counted.
    expect(preds.map((p) => p.unknown)).toEqual([0, 0, 1]);
    // The probabilities are the softmax of the network's outputs for the encoded texts.
    const d = model.encode(['aaaa']);
    const y = model.outputs(d);
    expect(softmaxRow(y, 0, 2)[0]).toBeCloseTo(preds[0]!.probabilities.as!, 12);

    // Saving again gives a file that loads to the same parameters (and synchronously too).
    const again = path.join(tmp, 'ab-again.weft');
    model.saveSync(again);
    expect(loadModelSync(again).params).toEqual(model.params);
  });

  it('the Trainer of @weft/workers saves a model (with its optimizer state on request) that loads to its parameters', async () => {
    const data = loadClassify(abFile(), { validFraction: 0 });
    const trainer = new Trainer({ ...small(data.meta), workers: 2 });
    try {
      await trainer.fit(data.train, { epochs: 2 });
      const file = path.join(tmp, 'workers.weft');
      await trainer.save(file, { meta: data.meta, optimizer: true });
      const model = await loadModel(file);
      expect(model.params).toEqual(trainer.getParams());
      expect(model.optimizer?.step).toBe(trainer.getOptimizerState().step);
      expect(model.optimizer?.states).toEqual(trainer.getOptimizerState().states);
      expect(model.task).toBe('classify');
    } finally {
      await trainer.close();
    }
  });

  it('a tagger tags each token of a sentence given as text or as tokens', async () => {
    const data = loadTag(ex('tag.jsonl'), { validFraction: 0 });
    const trainer = new LocalTrainer(small(data.meta, { batchSize: 32 }));
    trainer.fit(data.train, { epochs: 8 });
    const file = path.join(tmp, 'tag.weft');
    await trainer.save(file, { meta: data.meta });
    const model = await loadModel(file, { task: 'tag' });
    const [fromText, fromTokens] = model.predict(['they like this garden .', ['they', 'like', 'this', 'garden', '.']]);
    expect(fromText!.tokens).toEqual(['they', 'like', 'this', 'garden', '.']);
    expect(fromText!.tags).toHaveLength(5);
    expect(fromTokens!.tags).toEqual(fromText!.tags);
    for (const tag of fromText!.tags) expect(data.meta.tags).toContain(tag);
    // The full stop is a punctuation tag in every training sentence.
    expect(fromText!.tags[4]).toBe('PUNCT');
    expect(fromText!.probabilities.every((p) => p > 0 && p <= 1)).toBe(true);
  });

  it('a regression model predicts in the target columns\' units from windows of raw rows', async () => {
    const data = loadRegress(ex('regress.csv'), { window: 7, inputColumns: ['temperature', 'demand'], targetColumns: ['demand'], validFraction: 0 });
    const trainer = new LocalTrainer(small(data.meta, { batchSize: 64 }));
    trainer.fit(data.train, { epochs: 2 });
    const file = path.join(tmp, 'regress.weft');
    await trainer.save(file, { meta: data.meta });
    const model = await loadModel(file, { task: 'regress' });
    const window = Array.from({ length: 7 }, (_, t) => [10 + t, 700 + t]);
    const [p] = model.predict([window]);
    expect(Object.keys(p!.values)).toEqual(['demand']);
    // Normalised outputs come back in the data's units: the denormalisation of the raw output.
    const s = data.meta.stats.demand!;
    const raw = model.outputs(model.encode([window]))[0]!;
    expect(p!.values.demand).toBeCloseTo(raw * s.std + s.mean, 3);
  });

  it('loads a run of the real `weft train` and predicts what `weft predict` prints; `weft predict` reads a library file', async () => {
    const run = path.join(tmp, 'cli-run');
    const r = weft(['train', '--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '8', '--layers', '1', '--epochs', '1', '--workers', '1', '--out', run, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const texts = ['the house is very big', 'der Hund und die Katze'];
    const cli = weft(['predict', '--model', run, '--text', texts[0]!, '--text', texts[1]!, '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const model = await loadModel(run); // a run directory: its model.weft
    expect(model.task).toBe('classify');
    expect((model.config as unknown as { task: string }).task).toBe('classify'); // the run's own fields are kept
    const lib = model.predict(texts);
    lib.forEach((p, i) => {
      expect(p.task === 'classify' && p.label).toBe(cli.json.predictions[i].label);
      for (const [label, prob] of Object.entries(cli.json.predictions[i].probabilities as Record<string, number>)) {
        expect(p.task === 'classify' && p.probabilities[label]).toBeCloseTo(prob, 6);
      }
    });

    // The other way: a model saved by the library, read by the CLI.
    const file = path.join(tmp, 'from-library.weft');
    await model.save(file);
    const back = weft(['predict', '--model', file, '--text', texts[0]!, '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.json.predictions[0].label).toBe(cli.json.predictions[0].label);
  });

  it('refuses files that are not models, a model of another task, a meta that does not fit, and predicting without a meta', async () => {
    const data = loadClassify(abFile(), { validFraction: 0 });
    const trainer = new LocalTrainer(small(data.meta));
    const file = path.join(tmp, 'refuse.weft');
    await trainer.save(file, { meta: data.meta });
    await expect(loadModel(file, { task: 'tag' })).rejects.toThrow(`${file}: a model of task 'classify', not 'tag'`);

    const plain = path.join(tmp, 'plain.weft');
    await saveCheckpoint(plain, { config: { hello: 1 }, params: {}, shapes: {}, step: 0 });
    await expect(loadModel(plain)).rejects.toThrow(`${plain}: a weft checkpoint, but not a model`);
    const missing = path.join(tmp, 'nope.weft');
    await expect(loadModel(missing)).rejects.toThrow(`${missing}: no such model file or run directory`);
    const dir = path.join(tmp, 'empty-run');
    mkdirSync(dir);
    expect(() => loadModelSync(dir)).toThrow(`${dir}: a directory without model.weft`);

    // A meta whose label set does not fit the head.
    const wrong: ClassifyMeta = { ...data.meta, labels: ['as', 'bs', 'cs'] };
    expect(() => trainer.toModel({ meta: wrong })).toThrow(/meta \(classify\) needs a 'class-per-sequence' head of 3 outputs, the model has 'class-per-sequence' with 2/);
    const wrongVocab: ClassifyMeta = { ...data.meta, input: { kind: 'chars', vocab: { kind: 'char', symbols: ['a'] }, lowercase: false } };
    expect(() => trainer.toModel({ meta: wrongVocab })).toThrow(`encodes inputs as ${1 + Vocab.RESERVED} token ids, the model reads`);

    const bare = trainer.toModel();
    expect(() => (bare as unknown as { predict(x: string[]): unknown }).predict(['aa'])).toThrow(/predict: this model has no data meta/);
  });
});
