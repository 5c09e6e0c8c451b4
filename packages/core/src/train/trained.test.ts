/**
 * The model-file reader checks a checkpoint's meaning, not only its bytes: a file with a valid
 * checksum whose config asks for 1e7 layers, a hidden size of 1e5 or a batch of 0, or whose
 * meta lacks a field, is refused at once with the field named (`file: config.train...`), before
 * anything is built from it. A multi-label model's meta must fit its head (sigmoid BCE), and
 * its predictions are the labels at or above a threshold.
 */
import { describe, expect, it } from 'vitest';
import type { ClassifyMeta } from '../data/classify.js';
import type { MultilabelMeta } from '../data/multilabel.js';
import { Vocab } from '../data/vocab.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointData } from '../io/checkpoint.js';
import { SequenceModel, modelLayout, type ModelConfig } from '../model/model.js';
import type { ModelSpec } from '../model/spec.js';
import { TrainedModel, modelCheckpoint, modelFromCheckpoint, type LabelsPrediction, type ModelFileConfig } from './trained.js';
import { resolveTrainConfig } from './config.js';

const meta: ClassifyMeta = { task: 'classify', input: { kind: 'chars', vocab: { kind: 'char', symbols: ['a', 'b', 'c'] }, lowercase: false }, labels: ['x', 'y'] };
const net: ModelConfig = { cell: 'gru', hiddenSize: 3, input: { kind: 'tokens', vocabSize: 3 + Vocab.RESERVED }, task: 'class-per-sequence', outputSize: 2 };
const config: ModelFileConfig = { kind: 'weft-run', train: resolveTrainConfig({ model: net }), meta };
const good: CheckpointData = modelCheckpoint({ config, params: new Float32Array(modelLayout(net).size).fill(0.5), step: 3 });

/** The good checkpoint with its config changed, written and read back (a valid checksum). */
function read(change: (c: { train: any; meta: any }) => void) {
  const c = structuredClone(good);
  change(c.config as { train: any; meta: any });
  return () => modelFromCheckpoint(decodeCheckpoint(encodeCheckpoint(c), 'm.weft'), 'm.weft');
}

describe('modelFromCheckpoint checks the whole config before building anything', () => {
  it('reads a good file', () => {
    expect(read(() => {})().params.length).toBe(modelLayout(net).size);
  });

  it.each([
    ['1e7 layers', (c: any) => { c.train.model.numLayers = 1e7; }, 'm.weft: config.train.model.numLayers is 10000000, more than the 256 layers a stack may have'],
    ['a hidden size of 1e5', (c: any) => { c.train.model.hiddenSize = 1e5; }, /^m\.weft: config\.train\.model\.hiddenSize 100000: training would need [\d.]+ TiB: .*; the limit is 4 GiB of WebAssembly memory$/],
    ['a vocabulary of 1e9', (c: any) => { c.train.model.input.vocabSize = 1e9; }, /^m\.weft: config\.train\.model\.input\.vocabSize 1000000000: training would need/],
    ['a batch of 0', (c: any) => { c.train.batchSize = 0; }, 'm.weft: config.train.batchSize must be a positive integer, got 0'],
    ['a spec of 1e6 layers', (c: any) => {
      c.train.model = { input: { kind: 'tokens', vocabSize: 3 + Vocab.RESERVED }, layers: new Array(1e6).fill({ type: 'dropout', p: 0 }), loss: { kind: 'crossEntropy' } };
    }, 'm.weft: config.train.model.layers has 1000000 layers, more than the 1024 a model spec may have'],
    ['an unknown optimizer', (c: any) => { c.train.optimizer = { name: 'adamx', lr: 1 }; }, /^m\.weft: config\.train\.optimizer\.name must be 'sgd', 'adam', 'adamw' or 'rmsprop', got "adamx"/],
    ['a misspelt key', (c: any) => { c.train.batch_size = 4; }, 'm.weft: config.train.batch_size is not an option of the training config; did you mean batchSize?'],
    ['no meta task', (c: any) => { delete c.meta.task; }, "m.weft: config.meta.task must be 'classify', 'multilabel', 'tag', 'lm' or 'regress', got undefined"],
    ['no labels', (c: any) => { delete c.meta.labels; }, 'm.weft: config.meta.labels must be a non-empty array of distinct non-empty strings, got undefined'],
    ['no input', (c: any) => { delete c.meta.input; }, /^m\.weft: config\.meta\.input must be an object \{ kind: 'chars', vocab, lowercase \} or \{ kind: 'dense', size \}, got undefined$/],
    ['a vocabulary that is not one', (c: any) => { c.meta.input.vocab.symbols = 5; }, 'm.weft: config.meta.input.vocab.symbols must be an array of non-empty strings'],
  ])('%s: refused by the check, naming the field (a build first would fail otherwise)', (_name, change, message) => {
    expect(read(change)).toThrow(message);
  });
});

describe('a multi-label model file', () => {
  const mlMeta: MultilabelMeta = { task: 'multilabel', input: { kind: 'chars', vocab: { kind: 'char', symbols: ['a', 'b', 'c'] }, lowercase: false }, labels: ['p', 'q', 'r'] };
  const spec: ModelSpec = {
    input: { kind: 'tokens', vocabSize: 3 + Vocab.RESERVED },
    layers: [{ type: 'recurrent', cell: 'gru', hiddenSize: 4 }, { type: 'pool', mode: 'max' }, { type: 'linear', outputSize: 3 }],
    loss: { kind: 'binaryCrossEntropy' }, seed: 2,
  };
  const file = (model: ModelSpec | ModelConfig, m: unknown) => {
    const c = modelCheckpoint({ config: { kind: 'weft-run', train: resolveTrainConfig({ model }), meta: m as MultilabelMeta }, params: new SequenceModel(model).paramBuffer, step: 0 });
    return () => modelFromCheckpoint(decodeCheckpoint(encodeCheckpoint(c), 'ml.weft'), 'ml.weft');
  };

  it('stores its meta, and predict gives the labels of probability ≥ the threshold, each a sigmoid of its output', () => {
    const m = TrainedModel.fromFile(file(spec, mlMeta)());
    expect(m.task).toBe('multilabel');
    const texts = ['abc', 'ccba', 'b'];
    const y = m.outputs(m.encode(texts));
    for (const threshold of [0.5, 0.45, 0.55]) {
      const p = m.predict(texts, { threshold }) as LabelsPrediction[];
      p.forEach((x, i) => {
        const probs = mlMeta.labels.map((_, j) => 1 / (1 + Math.exp(-y[i * 3 + j]!)));
        expect(Object.values(x.probabilities)).toEqual(probs);
        expect(x.labels).toEqual(mlMeta.labels.filter((_, j) => probs[j]! >= threshold));
      });
    }
    for (const [threshold, shown] of [[1, '1'], [0, '0'], [NaN, 'NaN'], ['0.5', '0.5']] as const) {
      expect(() => m.predict(texts, { threshold: threshold as number })).toThrow(`threshold must be a number between 0 and 1 (exclusive), got ${shown}`);
    }
  });

  it('is refused with a softmax head, or with an input of dense features', () => {
    const classifier: ModelConfig = { ...net, outputSize: 3 };
    expect(file(classifier, mlMeta)).toThrow("ml.weft: config.meta (multilabel) needs a 'multilabel-per-sequence' head of 3 outputs, the model has 'class-per-sequence' with 3");
    expect(file(spec, { ...mlMeta, input: { kind: 'dense', size: 2 } })).toThrow("ml.weft: config.meta.input.kind must be 'chars', got \"dense\"");
  });
});
