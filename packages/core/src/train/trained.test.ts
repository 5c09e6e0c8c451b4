/**
 * The model-file reader checks a checkpoint's meaning, not only its bytes: a file with a valid
 * checksum whose config asks for 1e7 layers, a hidden size of 1e5 or a batch of 0, or whose
 * meta lacks a field, is refused at once with the field named (`file: config.train...`), before
 * anything is built from it.
 */
import { describe, expect, it } from 'vitest';
import type { ClassifyMeta } from '../data/classify.js';
import { Vocab } from '../data/vocab.js';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointData } from '../io/checkpoint.js';
import { modelLayout, type ModelConfig } from '../model/model.js';
import { modelCheckpoint, modelFromCheckpoint, type ModelFileConfig } from './trained.js';
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
    ['no meta task', (c: any) => { delete c.meta.task; }, "m.weft: config.meta.task must be 'classify', 'tag', 'lm' or 'regress', got undefined"],
    ['no labels', (c: any) => { delete c.meta.labels; }, 'm.weft: config.meta.labels must be a non-empty array of distinct non-empty strings, got undefined'],
    ['no input', (c: any) => { delete c.meta.input; }, /^m\.weft: config\.meta\.input must be an object \{ kind: 'chars', vocab, lowercase \} or \{ kind: 'dense', size \}, got undefined$/],
    ['a vocabulary that is not one', (c: any) => { c.meta.input.vocab.symbols = 5; }, 'm.weft: config.meta.input.vocab.symbols must be an array of non-empty strings'],
  ])('%s: refused by the check, naming the field (a build first would fail otherwise)', (_name, change, message) => {
    expect(read(change)).toThrow(message);
  });
});
