#!/usr/bin/env node
// The CLI's default task, checked from the outside: `weft train` with no data trains a 2-layer
// BiLSTM to tell female from male English first names (@stdlib's two name lists; a name on both
// lists is kept once per label and reported as ambiguous). This script
//   1. runs `weft train --out DIR --json` (extra flags are passed through),
//   2. rebuilds the SAME train/validation split with the data layer the CLI uses (`loadNames` from @weft/core) and
//      fits a naive-Bayes baseline on name suffixes and prefixes to the training part,
//   3. writes the validation names to a JSONL file and scores the model on it with `weft eval`
//      (confusion matrix, per-class precision/recall; its loss must equal the validation loss
//      `weft train` reported, which proves the split was rebuilt exactly),
//   4. lists the validation names the model gets wrong (`weft predict --data`), the ambiguous
//      ones (on both lists: one of their two rows is wrong whatever a model says) apart,
//   5. prints a Markdown report, then the summary as one JSON line (the last line of stdout).
//
//   node examples/names/run.mjs [--out DIR] [--errors N] [any `weft train` flag, e.g. --epochs 4]
//   node examples/names/run.mjs --reuse [--out DIR]     (score the model already in DIR/run again)
//
// Progress goes to stderr. DIR (default runs/examples/names) receives the run directory of
// `weft train` plus valid.jsonl, summary.json and report.md.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNames, Vocab } from '@weft/core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(ROOT, 'packages/cli/dist/bin.js');

/**
 * Runs the real `weft` binary with `--json` and returns its result (the last stdout line, parsed).
 * A non-zero exit throws an Error carrying the command's stderr.
 */
export function weft(args) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  const lines = r.stdout.trimEnd().split('\n');
  if (r.status !== 0) throw new Error(`weft ${args.join(' ')} exited with ${r.status}:\n${r.stderr.trim()}`);
  return JSON.parse(lines[lines.length - 1]);
}

/** The value of a `--name V` / `--name=V` flag in `args`, or undefined. */
export function flagValue(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i].startsWith(`${name}=`)) return args[i].slice(name.length + 1);
  }
  return undefined;
}

/** The rows of a token dataset decoded back to text with the meta's vocabulary. */
export function decodeRows(d, vocab) {
  const names = [];
  for (let i = 0; i < d.count; i++) names.push(vocab.decodeText(d.inputs.subarray(i * d.maxSteps, i * d.maxSteps + d.lengths[i])));
  return names;
}

/**
 * The split `weft train` uses for `--seed seed --valid-fraction validFraction`, as
 * `{ name, label }` rows (label: an index into `labels`), from the CLI's own loader.
 */
export function namesSplit({ seed = 0, validFraction = 0.1 } = {}) {
  const d = loadNames({ seed, validFraction });
  if (!d.valid) throw new RangeError('namesSplit: validFraction must be above 0 (the example scores the validation part)');
  const vocab = Vocab.fromJSON(d.meta.input.vocab);
  const rows = (ds) => decodeRows(ds, vocab).map((name, i) => ({ name, label: ds.targets[i] }));
  return { train: rows(d.train), valid: rows(d.valid), labels: d.meta.labels, ambiguous: new Set(d.ambiguous), counts: d.counts };
}

/** Feature slots of the baseline: the last 1, 2, 3 and the first 1, 2 letters (with ^ and $ marking the edges). */
export function affixFeatures(name) {
  const s = `^${name}$`;
  return [s.slice(-2), s.slice(-3), s.slice(-4), s.slice(0, 2), s.slice(0, 3)];
}

/**
 * Categorical naive Bayes over the affix slots with add-one smoothing: log P(class) +
 * sum over slots of log P(value | class), an unseen value counted as one more value of the slot.
 */
export function fitNaiveBayes(rows, classes) {
  const slots = affixFeatures('x').length;
  const prior = new Array(classes).fill(0);
  const counts = Array.from({ length: slots }, () => Array.from({ length: classes }, () => new Map()));
  const values = Array.from({ length: slots }, () => new Set());
  for (const { name, label } of rows) {
    prior[label]++;
    affixFeatures(name).forEach((v, j) => {
      counts[j][label].set(v, (counts[j][label].get(v) ?? 0) + 1);
      values[j].add(v);
    });
  }
  return {
    classes,
    predict(name) {
      const f = affixFeatures(name);
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < classes; c++) {
        let score = Math.log(prior[c] / rows.length);
        for (let j = 0; j < slots; j++) score += Math.log(((counts[j][c].get(f[j]) ?? 0) + 1) / (prior[c] + values[j].size + 1));
        if (score > bestScore) { bestScore = score; best = c; }
      }
      return best;
    },
  };
}

/**
 * Two classifiers on the same rows: how many each gets right that the other gets wrong, and the
 * exact two-sided McNemar p-value (a binomial test on those disagreements): the chance of a split
 * at least this uneven if both were equally good.
 */
export function pairedComparison(rows, predictA, predictB) {
  let onlyA = 0;
  let onlyB = 0;
  for (const r of rows) {
    const a = predictA(r) === r.label;
    const b = predictB(r) === r.label;
    if (a && !b) onlyA++;
    else if (b && !a) onlyB++;
  }
  const n = onlyA + onlyB;
  const logFact = [0];
  for (let i = 1; i <= n; i++) logFact.push(logFact[i - 1] + Math.log(i));
  let tail = 0;
  for (let k = 0; k <= Math.min(onlyA, onlyB); k++) tail += Math.exp(logFact[n] - logFact[k] - logFact[n - k] - n * Math.LN2);
  return { onlyA, onlyB, pValue: Math.min(1, 2 * tail) };
}

function accuracy(rows, predict) {
  let ok = 0;
  for (const r of rows) if (predict(r) === r.label) ok++;
  return rows.length ? ok / rows.length : NaN;
}

export const DEFAULTS = { out: path.join(ROOT, 'runs/examples/names'), errors: 25 };

/**
 * Trains, scores and compares as described at the top of this file. `trainArgs` are extra
 * `weft train` flags; `--seed` and `--valid-fraction` among them also select the split here
 * (give them again with `reuse`, which scores the model already in OUT/run instead of training).
 */
export function runNames({ out = DEFAULTS.out, trainArgs = [], errors = DEFAULTS.errors, reuse = false, log = () => {} } = {}) {
  for (const f of ['--task', '--data', '--valid', '--resume']) {
    if (flagValue(trainArgs, f) !== undefined || trainArgs.includes(f)) throw new TypeError(`runNames: ${f} would change the data; this example is the names task only`);
  }
  const seed = Number(flagValue(trainArgs, '--seed') ?? 0);
  const validFraction = Number(flagValue(trainArgs, '--valid-fraction') ?? 0.1);
  mkdirSync(out, { recursive: true });
  const runDir = path.join(out, 'run');
  const t0 = performance.now();

  let train;
  if (reuse) {
    // Score the model already in runDir: its step and time from `weft inspect`, the validation
    // loss `weft train` logged at that step from its metrics.
    log(`reusing ${runDir}`);
    const info = weft(['inspect', '--model', runDir]);
    const valid = readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.split === 'valid' && r.step === info.step).pop();
    train = { step: info.step, seconds: round(info.progress.seconds, 1), workers: null, kernels: info.kernels, modelValidLoss: valid.loss };
  } else {
    log(`weft train --out ${runDir} ${trainArgs.join(' ')}`);
    train = weft(['train', '--out', runDir, '--force', ...trainArgs.filter((a) => a !== '--force')]);
  }
  const trainSeconds = (performance.now() - t0) / 1000;

  const split = namesSplit({ seed, validFraction });
  const { labels, ambiguous } = split;
  const isAmb = (r) => ambiguous.has(r.name);
  const validFile = path.join(out, 'valid.jsonl');
  writeFileSync(validFile, split.valid.map((r) => JSON.stringify({ text: r.name, label: labels[r.label] })).join('\n') + '\n');

  const nb = fitNaiveBayes(split.train, labels.length);
  const nbPredict = (r) => nb.predict(r.name);
  const clear = split.valid.filter((r) => !isAmb(r));
  const ambRows = split.valid.filter(isAmb);

  log(`weft eval --model ${runDir} --data ${validFile}`);
  const ev = weft(['eval', '--model', runDir, '--data', validFile]);
  log(`weft predict --model ${runDir} --data ${validFile}`);
  const pr = weft(['predict', '--model', runDir, '--data', validFile]);
  const predictions = pr.predictions;
  if (predictions.length !== split.valid.length) throw new Error(`weft predict returned ${predictions.length} predictions for ${split.valid.length} names`);
  const modelLabel = new Map(predictions.map((p) => [p.input, p]));
  const modelPredict = (r) => labels.indexOf(modelLabel.get(r.name).label);

  // Wrong rows, most confident first. An ambiguous name has a wrong row whatever the model says.
  const wrong = (rows) => rows.filter((r) => modelPredict(r) !== r.label)
    .map((r) => ({ name: r.name, label: labels[r.label], predicted: modelLabel.get(r.name).label, probability: round(modelLabel.get(r.name).probability, 3) }))
    .sort((a, b) => b.probability - a.probability || (a.name < b.name ? -1 : 1));
  const wrongClear = wrong(clear);
  const wrongAmb = wrong(ambRows);
  const ambNames = [...new Set(ambRows.map((r) => r.name))];
  const modelAccuracy = ev.metrics.accuracy;

  return {
    example: 'names',
    trainArgs,
    split: { seed, validFraction, train: split.train.length, valid: split.valid.length, validAmbiguousNames: ambNames.length, ...split.counts },
    model: {
      steps: train.step, seconds: train.seconds, workers: train.workers, kernels: train.kernels,
      // The validation loss `weft train` reported for the weights in the run's model (the best epoch's, or the last).
      trainValidLoss: round(train.modelValidLoss ?? (train.model === 'best' ? train.best.loss : train.metrics.loss)), bestEpoch: train.bestEpoch ?? null, evalLoss: round(ev.metrics.loss), accuracy: round(modelAccuracy),
      accuracyUnambiguous: round(accuracy(clear, modelPredict)), accuracyPredict: round(accuracy(split.valid, modelPredict)),
      classes: ev.classes.map((c) => ({ ...c, precision: round(c.precision), recall: round(c.recall), f1: round(c.f1) })),
      confusion: ev.confusion,
    },
    baseline: {
      name: 'naive Bayes on suffixes (1-3 letters) and prefixes (1-2 letters), add-one smoothing',
      accuracy: round(accuracy(split.valid, nbPredict)), accuracyUnambiguous: round(accuracy(clear, nbPredict)),
      trainAccuracy: round(accuracy(split.train, nbPredict)),
    },
    paired: (({ onlyA, onlyB, pValue }) => ({ modelOnly: onlyA, baselineOnly: onlyB, pValue: Number(pValue.toPrecision(3)) }))(pairedComparison(split.valid, modelPredict, nbPredict)),
    majority: round(Math.max(...labels.map((_, k) => split.valid.filter((r) => r.label === k).length)) / split.valid.length),
    // Each ambiguous name is two rows with opposite labels: no model gets more than one right.
    ceiling: round(1 - ambNames.length / split.valid.length),
    errors: {
      unambiguous: wrongClear.length, ambiguous: wrongAmb.length,
      examplesUnambiguous: wrongClear.slice(0, errors),
      examplesAmbiguous: ambNames.slice(0, errors).map((n) => ({ name: n, predicted: modelLabel.get(n).label, probability: round(modelLabel.get(n).probability, 3) })),
    },
    files: { run: runDir, valid: validFile },
    seconds: round((performance.now() - t0) / 1000, 1),
    trainSeconds: round(trainSeconds, 1),
  };
}

function round(x, digits = 4) {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : x;
}

const pct = (x) => `${(100 * x).toFixed(1)}%`;

/** The summary as a Markdown report. */
export function markdownReport(s) {
  const m = s.model;
  const labels = m.confusion.labels;
  const lines = [
    `## names: ${pct(m.accuracy)} validation accuracy (naive-Bayes baseline ${pct(s.baseline.accuracy)})`,
    '',
    `Split (seed ${s.split.seed}, ${s.split.validFraction} by name): ${s.split.train} training and ${s.split.valid} validation rows; ` +
      `${s.split.validAmbiguousNames} validation names are on both lists (two rows each, opposite labels).`,
    `Model: ${m.steps} steps in ${m.seconds} s (${m.workers ?? '?'} workers, ${m.kernels}); \`weft eval\` loss ${m.evalLoss} ` +
      `(\`weft train\` reported ${m.trainValidLoss} on its own validation split${m.bestEpoch ? ` for epoch ${m.bestEpoch}, the best, whose weights the run keeps` : ''}).`,
    '',
    '| | accuracy | without ambiguous names |',
    '|---|---|---|',
    `| BiLSTM (\`weft train\`) | ${pct(m.accuracy)} | ${pct(m.accuracyUnambiguous)} |`,
    `| naive Bayes, affixes | ${pct(s.baseline.accuracy)} | ${pct(s.baseline.accuracyUnambiguous)} |`,
    `| always the majority class | ${pct(s.majority)} | |`,
    `| best possible (one row of each ambiguous name is wrong) | ${pct(s.ceiling)} | 100% |`,
    '',
    `Paired on the same rows: the BiLSTM alone is right on ${s.paired.modelOnly}, naive Bayes alone on ${s.paired.baselineOnly} ` +
      `(exact McNemar test, two-sided p = ${s.paired.pValue}).`,
    '',
    '| class | precision | recall | F1 | support |',
    '|---|---|---|---|---|',
    ...m.classes.map((c) => `| ${c.label} | ${c.precision.toFixed(3)} | ${c.recall.toFixed(3)} | ${c.f1.toFixed(3)} | ${c.support} |`),
    '',
    `| true \\ predicted | ${labels.join(' | ')} |`,
    `|---|${labels.map(() => '---').join('|')}|`,
    ...m.confusion.matrix.map((row, k) => `| ${labels[k]} | ${row.join(' | ')} |`),
    '',
    `Wrong on ${s.errors.unambiguous} names that are on one list only (most confident first):`,
    '',
    '| name | list | predicted | probability |',
    '|---|---|---|---|',
    ...s.errors.examplesUnambiguous.map((e) => `| ${e.name} | ${e.label} | ${e.predicted} | ${e.probability.toFixed(3)} |`),
    '',
    `Ambiguous validation names (on both lists; ${s.errors.ambiguous} wrong rows), with the model's pick:`,
    s.errors.examplesAmbiguous.map((e) => `${e.name} (${e.predicted} ${e.probability.toFixed(2)})`).join(', '),
  ];
  return lines.join('\n');
}

function main() {
  const argv = process.argv.slice(2);
  const own = {};
  const trainArgs = [];
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = argv[i].includes('=') ? argv[i].split(/=(.*)/s) : [argv[i], undefined];
    if (k === '--out' || k === '--errors') own[k.slice(2)] = v ?? argv[++i];
    else if (k === '--reuse') own.reuse = true;
    else trainArgs.push(argv[i]);
  }
  const s = runNames({
    out: own.out ? path.resolve(own.out) : DEFAULTS.out,
    errors: own.errors ? Number(own.errors) : DEFAULTS.errors,
    trainArgs,
    reuse: own.reuse ?? false,
    log: (m) => process.stderr.write(`${m}\n`),
  });
  const md = markdownReport(s);
  writeFileSync(path.join(path.dirname(s.files.valid), 'report.md'), md + '\n');
  writeFileSync(path.join(path.dirname(s.files.valid), 'summary.json'), JSON.stringify(s, null, 2) + '\n');
  process.stdout.write(`${md}\n\n${JSON.stringify(s)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
