#!/usr/bin/env node
// A character language model on a text file, driven by the real `weft` CLI, measured against
// n-gram baselines on EXACTLY the characters the model is scored on:
//   1. `weft train --task lm --data FILE` (stateful truncated BPTT over --batch parallel streams
//      of --seq-len windows; the last --valid-fraction of the text is held out),
//   2. the held-out tail is written to valid.txt (the training part to train.txt) and scored with
//      `weft eval` (nats per character → bits per character),
//   3. unigram and bigram models (add-one smoothing) are counted on the training part and scored
//      on the very windows `weft eval` scores: the script builds them with the loader the CLI uses
//      (`loadLmEval`), so the characters, and the one character of context a bigram sees, are the same,
//   4. `weft generate` samples text at two temperatures,
//   5. a Markdown report, then the summary as one JSON line (the last line of stdout).
//
//   node examples/charlm/run.mjs [--data FILE] [--out DIR] [--seq-len 64] [--batch 16]
//        [--valid-fraction 0.1] [--prime TEXT] [--length 400] [any other `weft train` flag]
//   node examples/charlm/run.mjs --reuse [same options]   (score the model already in OUT/run again)
//
// `weft eval` starts every window from a zero state (it does not carry state across windows as
// training does), so the model's number is a slightly pessimistic one. Progress goes to stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLm, loadLmEval, readTextFile, Vocab } from '@weft/core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'packages/cli/dist/bin.js');

/** Runs the real `weft` binary with `--json`; returns the result (last stdout line). Throws with stderr on failure. */
export function weft(args) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`weft ${args.join(' ')} exited with ${r.status}:\n${r.stderr.trim()}`);
  const lines = r.stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * The text as the lm loader reads it, split where `loadLm` splits it: the first
 * floor(n·(1 − validFraction)) characters (code points, '\r\n' read as '\n') train, the rest validate.
 */
export function splitText(file, validFraction) {
  const chars = Array.from(readTextFile(file).replace(/\r\n/g, '\n'));
  const cut = Math.floor(chars.length * (1 - validFraction));
  return { train: chars.slice(0, cut).join(''), valid: chars.slice(cut).join(''), length: chars.length, cut };
}

/**
 * Add-one smoothed unigram and bigram models over the ids of `trainIds` (symbols 2..V+1 of the
 * vocabulary; PAD and UNK never occur in a text), scored in bits on every target of `d` (a
 * 'class-per-step' dataset of windows: inputs[r, t] is the character before targets[r, t]).
 */
export function ngramBaselines(trainIds, d, vocabSize) {
  const V = vocabSize - Vocab.RESERVED; // symbols a baseline spreads its mass over
  const uni = new Float64Array(vocabSize);
  const bi = new Float64Array(vocabSize * vocabSize); // [previous, next]
  const ctx = new Float64Array(vocabSize);
  for (let i = 0; i < trainIds.length; i++) uni[trainIds[i]]++;
  for (let i = 1; i < trainIds.length; i++) { bi[trainIds[i - 1] * vocabSize + trainIds[i]]++; ctx[trainIds[i - 1]]++; }
  // Most likely next character of each model, for top-1 accuracy.
  let uniTop = Vocab.RESERVED;
  for (let c = Vocab.RESERVED; c < vocabSize; c++) if (uni[c] > uni[uniTop]) uniTop = c;
  const biTop = new Int32Array(vocabSize).fill(uniTop);
  for (let a = 0; a < vocabSize; a++) {
    if (ctx[a] === 0) continue;
    for (let c = Vocab.RESERVED; c < vocabSize; c++) if (bi[a * vocabSize + c] > bi[a * vocabSize + biTop[a]]) biTop[a] = c;
  }
  let uniBits = 0;
  let biBits = 0;
  let uniOk = 0;
  let biOk = 0;
  let n = 0;
  for (let r = 0; r < d.count; r++) {
    for (let t = 0; t < d.lengths[r]; t++) {
      const prev = d.inputs[r * d.maxSteps + t];
      const next = d.targets[r * d.maxSteps + t];
      uniBits -= Math.log2((uni[next] + 1) / (trainIds.length + V));
      biBits -= Math.log2((bi[prev * vocabSize + next] + 1) / (ctx[prev] + V));
      if (next === uniTop) uniOk++;
      if (next === biTop[prev]) biOk++;
      n++;
    }
  }
  return {
    count: n,
    uniform: { bitsPerChar: Math.log2(V) },
    unigram: { bitsPerChar: uniBits / n, accuracy: uniOk / n },
    bigram: { bitsPerChar: biBits / n, accuracy: biOk / n },
  };
}

export const DEFAULTS = {
  data: path.join(ROOT, 'examples/charlm/corpus.txt'),
  out: path.join(ROOT, 'runs/examples/charlm'),
  seqLen: 64, batch: 16, validFraction: 0.1,
  prime: 'The ', length: 400, temperatures: [0.5, 1.0], sampleSeed: 1,
  // Model flags of the full run (see README); a flag given in trainArgs replaces its default here.
  modelArgs: ['--hidden', '256', '--layers', '2', '--dropout', '0.25', '--epochs', '40', '--lr', '0.005', '--schedule', 'cosine', '--min-lr', '0.0002'],
};

/**
 * `defaults` (flag, value pairs) without the flags that `extra` names, then `extra`: yargs would
 * turn a flag given twice into an array, so an override must replace, not repeat.
 */
export function mergeFlags(defaults, extra) {
  const named = new Set(extra.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
  const kept = [];
  for (let i = 0; i < defaults.length; i += 2) if (!named.has(defaults[i])) kept.push(defaults[i], defaults[i + 1]);
  return [...kept, ...extra];
}

/**
 * Trains, scores and samples as described at the top of this file. `trainArgs` are extra
 * `weft train` flags; each replaces the same flag of `modelArgs`. With `reuse`, the model
 * already in OUT/run is scored instead (give the same data options as when it was trained).
 */
export function runCharLm(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const trainArgs = options.trainArgs ?? [];
  for (const f of ['--task', '--data', '--valid', '--valid-fraction', '--seq-len', '--batch', '--resume', '--out']) {
    if (trainArgs.some((a) => a === f || a.startsWith(`${f}=`))) throw new TypeError(`runCharLm: give ${f} as an option of this script, not in trainArgs`);
  }
  const log = o.log ?? (() => {});
  mkdirSync(o.out, { recursive: true });
  const runDir = path.join(o.out, 'run');
  const t0 = performance.now();

  const args = ['train', '--task', 'lm', '--data', o.data, '--seq-len', String(o.seqLen), '--batch', String(o.batch),
    // --keep-last: the run's model is the last epoch's, scored next to best.weft below.
    '--valid-fraction', String(o.validFraction), '--out', runDir, '--force', '--keep-last', ...mergeFlags(o.modelArgs, trainArgs)];
  let train;
  if (o.reuse) {
    // Score the model already in runDir: its step and time from `weft inspect`.
    log(`reusing ${runDir}`);
    const info = weft(['inspect', '--model', runDir]);
    train = { step: info.step, seconds: round(info.progress.seconds, 1), workers: null, kernels: info.kernels };
  } else {
    log(`weft ${args.join(' ')}`);
    train = weft(args);
  }

  // The same split, vocabulary and window layout as the CLI's.
  const lm = loadLm(o.data, { seqLen: o.seqLen, streams: o.batch, validFraction: o.validFraction });
  const text = splitText(o.data, o.validFraction);
  const vocab = Vocab.fromJSON(lm.meta.vocab);
  const trainFile = path.join(o.out, 'train.txt');
  const validFile = path.join(o.out, 'valid.txt');
  writeFileSync(trainFile, text.train);
  writeFileSync(validFile, text.valid);
  const validWindows = loadLmEval(validFile, lm.meta, { streams: o.batch }).dataset;
  // The windows of valid.txt must be the very windows training validated on.
  if (validWindows.count !== lm.valid.count || validWindows.targets.some((v, i) => v !== lm.valid.targets[i])) {
    throw new Error('valid.txt does not reproduce the validation windows of weft train');
  }

  log(`weft eval --model ${runDir} --data ${validFile}`);
  const ev = weft(['eval', '--model', runDir, '--data', validFile]);
  log(`weft eval --model ${runDir} --data ${trainFile}`);
  const evTrain = weft(['eval', '--model', runDir, '--data', trainFile]);
  // The checkpoint of the best validation loss (written each time it improved), and when that was.
  const validCurve = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.split === 'valid');
  const bestEpoch = validCurve.reduce((a, r) => (r.loss < a.loss ? r : a), validCurve[0]);
  const bestFile = path.join(runDir, 'best.weft');
  const evBest = existsSync(bestFile) ? weft(['eval', '--model', bestFile, '--data', validFile]) : null;
  const base = ngramBaselines(vocab.encode(text.train), validWindows, vocab.size);
  if (base.count !== ev.metrics.count) throw new Error(`baselines scored ${base.count} characters, weft eval ${ev.metrics.count}`);

  const samples = o.temperatures.map((temperature) => {
    log(`weft generate --temperature ${temperature}`);
    const g = weft(['generate', '--model', runDir, '--prime', o.prime, '--length', String(o.length), '--temperature', String(temperature), '--seed', String(o.sampleSeed)]);
    return { temperature, text: o.prime + g.text };
  });

  const bits = (nats) => round(nats / Math.LN2);
  return {
    example: 'charlm',
    data: { file: shortPath(path.resolve(o.data)), characters: text.length, distinct: vocab.symbols.length, train: text.cut, valid: text.length - text.cut, scored: ev.metrics.count },
    train: { args: args.map(shortPath), steps: train.step, seconds: train.seconds, workers: train.workers, kernels: train.kernels },
    model: { bitsPerChar: bits(ev.metrics.loss), accuracy: round(ev.metrics.accuracy), trainBitsPerChar: bits(evTrain.metrics.loss), trainAccuracy: round(evTrain.metrics.accuracy), trainValidLoss: round(validCurve[validCurve.length - 1].loss), evalLoss: round(ev.metrics.loss) },
    // Selected by its loss on the same held-out text, so slightly flattered by that choice.
    best: evBest && { epoch: bestEpoch.epoch, step: bestEpoch.step, bitsPerChar: bits(evBest.metrics.loss), accuracy: round(evBest.metrics.accuracy) },
    validCurve: validCurve.map((r) => [r.epoch, bits(r.loss)]),
    baselines: {
      uniform: { bitsPerChar: round(base.uniform.bitsPerChar) },
      unigram: { bitsPerChar: round(base.unigram.bitsPerChar), accuracy: round(base.unigram.accuracy) },
      bigram: { bitsPerChar: round(base.bigram.bitsPerChar), accuracy: round(base.bigram.accuracy) },
    },
    samples,
    files: { run: runDir, train: trainFile, valid: validFile },
    seconds: round((performance.now() - t0) / 1000, 1),
  };
}

/** A path under the repository as a relative one, for reports that read the same on every machine. */
function shortPath(p) {
  const rel = path.relative(ROOT, p);
  return path.isAbsolute(p) && !rel.startsWith('..') ? rel : p;
}

function round(x, digits = 4) {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : x;
}

/** The summary as a Markdown report. */
export function markdownReport(s) {
  const m = s.model;
  const b = s.baselines;
  const pct = (x) => `${(100 * x).toFixed(1)}%`;
  return [
    `## charlm: ${m.bitsPerChar} bits/char on held-out text (bigram ${b.bigram.bitsPerChar}, unigram ${b.unigram.bitsPerChar})`,
    '',
    `Text: ${s.data.file}, ${s.data.characters} characters (${s.data.distinct} distinct); training part ${s.data.train}, ` +
      `held-out tail ${s.data.valid}, of which ${s.data.scored} are scored (the window layout of \`weft eval\`; every model below is scored on exactly these).`,
    `Training: \`weft ${s.train.args.join(' ')}\`: ${s.train.steps} steps in ${s.train.seconds} s (${s.train.workers ?? '?'} workers, ${s.train.kernels}).`,
    '',
    '| model | bits/char (held out) | next-char accuracy |',
    '|---|---|---|',
    `| LSTM (\`weft eval\`) | **${m.bitsPerChar}** | ${pct(m.accuracy)} |`,
    `| bigram, add-one | ${b.bigram.bitsPerChar} | ${pct(b.bigram.accuracy)} |`,
    `| unigram, add-one | ${b.unigram.bitsPerChar} | ${pct(b.unigram.accuracy)} |`,
    `| uniform over ${s.data.distinct} characters | ${b.uniform.bitsPerChar} | |`,
    '',
    `On its own training part the model scores ${m.trainBitsPerChar} bits/char (${pct(m.trainAccuracy)}): the gap to the held-out number is what it memorised.`,
    ...(s.best ? [`The checkpoint with the best validation loss (epoch ${s.best.epoch}, step ${s.best.step}; \`best.weft\`) scores ${s.best.bitsPerChar} bits/char ` +
      `(${pct(s.best.accuracy)}), chosen on this same held-out text.`] : []),
    `Held-out bits/char after each epoch: ${s.validCurve.map(([e, b]) => `${e}: ${b.toFixed(2)}`).join(', ')}.`,
    '',
    ...s.samples.flatMap((x) => [`Sample, temperature ${x.temperature}:`, '', '```text', x.text, '```', '']),
  ].join('\n');
}

function main() {
  const argv = process.argv.slice(2);
  const own = { reuse: 'reuse', data: 'data', out: 'out', 'seq-len': 'seqLen', batch: 'batch', 'valid-fraction': 'validFraction', prime: 'prime', length: 'length', 'sample-seed': 'sampleSeed' };
  const numeric = new Set(['seqLen', 'batch', 'validFraction', 'length', 'sampleSeed']);
  const o = { trainArgs: [], log: (m) => process.stderr.write(`${m}\n`) };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    const key = k.startsWith('--') ? own[k.slice(2)] : undefined;
    if (key === undefined) { o.trainArgs.push(argv[i]); continue; }
    if (key === 'reuse') { o.reuse = true; continue; }
    const value = v ?? argv[++i];
    o[key] = numeric.has(key) ? Number(value) : key === 'data' || key === 'out' ? path.resolve(value) : value;
  }
  const s = runCharLm(o);
  const md = markdownReport(s);
  writeFileSync(path.join(path.dirname(s.files.valid), 'report.md'), md + '\n');
  writeFileSync(path.join(path.dirname(s.files.valid), 'summary.json'), JSON.stringify(s, null, 2) + '\n');
  process.stdout.write(`${md}\n\n${JSON.stringify(s)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
