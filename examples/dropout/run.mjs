#!/usr/bin/env node
// Dropout in a recurrent network, both ways, side by side. The same 2-layer LSTM character
// language model, from the same initial weights and on the same batches, is trained four
// times on a small text (so that it overfits):
//
//   none        no dropout
//   inter       `dropout`: between layers only (Zaremba et al. 2014; PyTorch's nn.LSTM dropout)
//   recurrent   `recurrentDropout`: on the state passed to the next step, one mask per sequence
//               (Gal & Ghahramani 2016; Keras' recurrent_dropout; the seed tutorial's dropout)
//   both        the two together
//
//   node examples/dropout/run.mjs --epochs 80 --p 0.5
//
// Prints one JSON line: per variant the best and final validation loss (nats per character)
// and the final training loss. See docs/dropout.md for what the two kinds do.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  LocalTrainer, evaluateModel, useWasmKernels, activeKernels,
} from '@weft/core';

export const TEXT_FILE = fileURLToPath(new URL('../data/lm.txt', import.meta.url));

/** Character vocabulary of a text (sorted, so the ids do not depend on order of appearance). */
export function vocabulary(text) {
  return [...new Set(text)].sort();
}

/** The text as token ids [n]. */
export function encode(text, vocab) {
  const id = new Map(vocab.map((c, i) => [c, i]));
  return Int32Array.from(text, (c) => {
    const v = id.get(c);
    if (v === undefined) throw new RangeError(`character ${JSON.stringify(c)} is not in the vocabulary`);
    return v;
  });
}

/**
 * Next-character windows over ids[start, end): inputs ids[s..s+S-1], targets ids[s+1..s+S],
 * a window every `stride` characters. Tokens [count, S] → class per step [count, S].
 */
export function lmWindows(ids, [start, end], S, stride, V) {
  const starts = [];
  for (let s = start; s + S < end; s += stride) starts.push(s);
  const count = starts.length;
  const inputs = new Int32Array(count * S);
  const targets = new Int32Array(count * S);
  starts.forEach((s, i) => {
    inputs.set(ids.subarray(s, s + S), i * S);
    targets.set(ids.subarray(s + 1, s + S + 1), i * S);
  });
  return {
    inputKind: 'tokens', inputSize: V, targetKind: 'class-per-step', outputSize: V,
    count, maxSteps: S, lengths: new Int32Array(count).fill(S), inputs, targets,
  };
}

/** Cross-entropy of always predicting the training part's character frequencies (a unigram model). */
export function unigramLoss(ids, trainRange, evalRange, V) {
  const f = new Float64Array(V).fill(1); // add-one smoothing: every character has some mass
  for (let i = trainRange[0]; i < trainRange[1]; i++) f[ids[i]]++;
  const total = f.reduce((a, b) => a + b, 0);
  let s = 0;
  for (let i = evalRange[0] + 1; i < evalRange[1]; i++) s -= Math.log(f[ids[i]] / total);
  return s / (evalRange[1] - evalRange[0] - 1);
}

/**
 * A LocalTrainer on the WebAssembly SIMD kernels where they are available. The kernels are
 * switched on FIRST: the trainer then allocates its arena (parameters, gradients, optimizer
 * state) in WebAssembly memory, where the kernels work in place.
 */
export function createTrainer(config, { wasm = true } = {}) {
  if (wasm) useWasmKernels();
  return new LocalTrainer(config);
}

/** The four variants: which StackOptions each sets, at probability p. */
export function variants(p) {
  return {
    none: {},
    inter: { dropout: p },
    recurrent: { recurrentDropout: p },
    both: { dropout: p, recurrentDropout: p },
  };
}

export const DEFAULTS = {
  cell: 'lstm', hidden: 128, layers: 2, seqLen: 48, stride: 16, batch: 16, lr: 3e-3, clipNorm: 1,
  epochs: 80, p: 0.5, seed: 1, validFrac: 0.2, textFile: TEXT_FILE, text: undefined,
  only: undefined, wasm: true,
};

/** Trains every variant (or those in `only`) and returns their losses side by side. */
export function runDropout(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const t0 = performance.now();
  const text = o.text ?? readFileSync(o.textFile, 'utf8');
  const vocab = vocabulary(text);
  const V = vocab.length;
  const ids = encode(text, vocab);
  const split = Math.round(ids.length * (1 - o.validFrac));
  const trainRange = [0, split];
  const validRange = [split, ids.length];
  const train = lmWindows(ids, trainRange, o.seqLen, o.stride, V);
  // Validation windows do not overlap, so every character is scored once.
  const valid = lmWindows(ids, validRange, o.seqLen, o.seqLen, V);
  const results = {};
  for (const [name, drop] of Object.entries(variants(o.p))) {
    if (o.only && !o.only.includes(name)) continue;
    const t1 = performance.now();
    const trainer = createTrainer({
      // The same model seed for every variant: identical initial weights; the same train seed:
      // identical batches. Only the dropout masks differ.
      model: {
        cell: o.cell, hiddenSize: o.hidden, numLayers: o.layers, input: { kind: 'tokens', vocabSize: V },
        task: 'class-per-step', outputSize: V, seed: o.seed, ...drop,
      },
      optimizer: { name: 'adam', lr: o.lr }, batchSize: o.batch, shardSize: o.batch, clipNorm: o.clipNorm, seed: o.seed,
    }, { wasm: o.wasm });
    let best = { loss: Infinity, epoch: 0 };
    let trainLoss = NaN;
    let validLoss = NaN;
    const curve = [];
    for (let e = 0; e < o.epochs; e++) {
      trainLoss = trainer.fit(train, { epochs: e + 1, startEpoch: e }).loss;
      validLoss = evaluateModel(trainer.model, valid, 64).loss;
      if (validLoss < best.loss) best = { loss: validLoss, epoch: e + 1 };
      curve.push([round(trainLoss), round(validLoss)]);
      o.onEpoch?.({ variant: name, epoch: e + 1, trainLoss, validLoss, seconds: (performance.now() - t0) / 1000 });
    }
    // Training loss WITHOUT dropout, so that the gap to validation is comparable across variants.
    const trainEval = evaluateModel(trainer.model, train, 64).loss;
    results[name] = {
      ...drop, bestValid: round(best.loss), bestEpoch: best.epoch, finalValid: round(validLoss),
      finalTrain: round(trainEval), seconds: Math.round((performance.now() - t1) / 100) / 10, curve,
    };
  }
  return {
    example: 'dropout', text: o.text ? '(given as a string)' : relative(process.cwd(), o.textFile), chars: ids.length, vocab: V,
    cell: o.cell, hidden: o.hidden, layers: o.layers, seqLen: o.seqLen, epochs: o.epochs, p: o.p, lr: o.lr, seed: o.seed,
    trainWindows: train.count, validChars: valid.count * o.seqLen,
    unigramValid: round(unigramLoss(ids, trainRange, validRange, V)), kernels: activeKernels(),
    seconds: Math.round((performance.now() - t0) / 100) / 10, results,
  };
}

function round(x) {
  return Number(x.toPrecision(4));
}

function main() {
  const { values } = parseArgs({
    options: {
      cell: { type: 'string' }, hidden: { type: 'string' }, layers: { type: 'string' }, 'seq-len': { type: 'string' },
      stride: { type: 'string' }, batch: { type: 'string' }, lr: { type: 'string' }, epochs: { type: 'string' },
      p: { type: 'string' }, seed: { type: 'string' }, text: { type: 'string' }, only: { type: 'string' },
      'no-wasm': { type: 'boolean' }, quiet: { type: 'boolean' },
    },
  });
  const num = (k, d) => (values[k] === undefined ? d : Number(values[k]));
  const D = DEFAULTS;
  const res = runDropout({
    cell: values.cell ?? D.cell, hidden: num('hidden', D.hidden), layers: num('layers', D.layers),
    seqLen: num('seq-len', D.seqLen), stride: num('stride', D.stride), batch: num('batch', D.batch),
    lr: num('lr', D.lr), epochs: num('epochs', D.epochs), p: num('p', D.p), seed: num('seed', D.seed),
    textFile: values.text ?? D.textFile, only: values.only?.split(','), wasm: !values['no-wasm'],
    onEpoch: values.quiet ? undefined : (e) => process.stderr.write(
      `${e.variant.padEnd(9)} epoch ${e.epoch}  train ${e.trainLoss.toFixed(3)}  valid ${e.validLoss.toFixed(3)}  ${e.seconds.toFixed(1)} s\n`),
  });
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
