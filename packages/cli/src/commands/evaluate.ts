/**
 * `weft eval`: loss and accuracy of a trained model on a labelled file; for classification and
 * tagging also per-class precision, recall and F1 and the confusion matrix; for multi-label
 * models per-label precision, recall and F1, micro and macro F1, the exact-match ratio and the
 * Hamming loss (labels given from --threshold, default 0.5); for regression MAE
 * and RMSE in the data's units. Characters or words the model never saw are counted (a warning
 * on stderr, `unknown` in the --json result).
 */
import { evaluateModel, regressErrors, type EvalData, type RegressEvalData } from '@weft/core';
import type { KernelChoice } from '@weft/core';
import { loadModel, predictAll, argmax, type LoadedModel } from '../run/model.js';
import { InputError } from '../run/errors.js';
import { withLimits, type LimitContext } from '../run/limits.js';
import { classificationReport, multilabelReport, type ClassReport } from '../run/metrics.js';
import { loadEvalData, type DataFlags } from '../run/task.js';
import type { Output } from '../run/output.js';

export interface EvalArgs extends Partial<DataFlags> {
  model?: string;
  data?: string;
  /** multilabel: the probability from which a label counts as predicted (default 0.5). */
  threshold?: number;
  kernels: KernelChoice;
}

/** The per-class (or per-label) table of precision, recall, F1 and support. */
function classTable(classes: readonly ClassReport[], head: string): string[] {
  const w = Math.max(12, ...classes.map((c) => c.label.length + 1));
  return [`  ${head.padEnd(w)} precision   recall       f1  support`,
    ...classes.map((c) => `  ${c.label.padEnd(w)} ${c.precision.toFixed(4).padStart(9)} ${c.recall.toFixed(4).padStart(8)} ${c.f1.toFixed(4).padStart(8)} ${String(c.support).padStart(8)}`)];
}

export function formatConfusion(labels: readonly string[], confusion: number[][]): string {
  const w = Math.max(6, ...labels.map((l) => l.length), ...confusion.flat().map((n) => String(n).length)) + 1;
  const pad = (s: string) => s.padStart(w);
  const lines = [`${'true \\ predicted'.padEnd(w)}${labels.map(pad).join('')}`];
  confusion.forEach((row, k) => lines.push(`${labels[k]!.padEnd(w)}${row.map((n) => pad(String(n))).join('')}`));
  return lines.join('\n');
}

export async function evalCommand(a: EvalArgs, out: Output): Promise<number> {
  const file = a.data!; // required (run/flags.ts)
  const { run, model } = loadModel(a.model, a.kernels);
  out.noticeFifo(file, '--data');
  const meta = run.config.meta;
  if (a.threshold !== undefined && meta.task !== 'multilabel') throw new InputError(`--threshold: ${run.file} is a ${meta.task} model; only multilabel models have a threshold`);
  // The file's delimiter is its own (--delimiter, or guessed), not the training file's.
  const data = loadEvalData(meta, file, { ...run.config.data.flags, ...definedOnly(a), delimiter: a.delimiter });
  out.info(`weft eval: ${run.file} on ${data.summary}`);
  if (data.unknown) out.unknown(data.unknown);
  // A sequence too long for memory is named by its line, with the flag that bounds it (run/limits.ts).
  const limits: LimitContext = { checkpoint: run.file, data: { meta, file, ...(data.longest ? { longest: data.longest } : {}) }, flags: { maxLen: true } };
  return withLimits(limits, () => report(a, out, run, model, data));
}

/** The metrics of `model` on `data`, printed, and the result returned. */
function report(a: EvalArgs, out: Output, run: LoadedModel['run'], model: LoadedModel['model'], data: EvalData | RegressEvalData): number {
  const file = a.data!;
  const meta = run.config.meta;
  const { dataset } = data;
  const r = evaluateModel(model, dataset, run.config.train.batchSize);
  const result: Record<string, unknown> = { command: 'eval', model: run.file, data: file, metrics: { loss: r.loss, ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}), count: r.count } };
  if (data.unknown) result.unknown = data.unknown;
  const lossName = meta.task === 'regress' ? 'loss (mean squared error of the normalised values)' : 'loss';
  const counted = meta.task === 'classify' ? 'sequences' : meta.task === 'regress' ? 'values' : meta.task === 'multilabel' ? '(example, label) pairs' : 'tokens';
  // A multi-label model's accuracy is per label: the fraction of (example, label) decisions that are right.
  const accuracyName = meta.task === 'multilabel' ? 'label accuracy' : 'accuracy';
  const lines = [`  ${lossName} ${r.loss.toFixed(4)}${r.accuracy !== undefined ? `, ${accuracyName} ${(100 * r.accuracy).toFixed(2)}%` : ''} over ${r.count} ${counted}`];
  if (meta.task === 'regress' && 'targetRows' in data) {
    const errors = regressErrors(meta, data, predictAll(model, dataset));
    result.errors = errors;
    for (const e of errors) lines.push(`  ${e.column}: MAE ${e.mae.toPrecision(4)}, RMSE ${e.rmse.toPrecision(4)} (in the data's units, over ${e.count} predictions)`);
  }
  if (meta.task === 'classify' || meta.task === 'tag') {
    const labels = meta.task === 'classify' ? meta.labels : meta.tags;
    const O = labels.length;
    const outputs = predictAll(model, dataset);
    const truth: number[] = [];
    const pred: number[] = [];
    if (meta.task === 'classify') {
      for (let i = 0; i < dataset.count; i++) { truth.push(dataset.targets[i]!); pred.push(argmax(outputs, i * O, O)); }
    } else {
      const S = dataset.maxSteps;
      for (let i = 0; i < dataset.count; i++) {
        for (let t = 0; t < dataset.lengths[i]!; t++) { truth.push(dataset.targets[i * S + t]!); pred.push(argmax(outputs, (i * S + t) * O, O)); }
      }
    }
    const rep = classificationReport(labels, truth, pred);
    result.classes = rep.classes;
    result.confusion = { labels, matrix: rep.confusion };
    lines.push('', ...classTable(rep.classes, 'class'));
    lines.push('', formatConfusion(labels, rep.confusion).split('\n').map((l) => '  ' + l).join('\n'));
  }
  if (meta.task === 'multilabel') {
    const rep = multilabelReport(meta.labels, dataset.targets, predictAll(model, dataset), a.threshold ?? 0.5);
    const { labels: perLabel, ...overall } = rep;
    result.labels = perLabel;
    result.multilabel = overall;
    const f = (x: number) => x.toFixed(4);
    lines.push('', ...classTable(perLabel, 'label'), '',
      `  micro: precision ${f(rep.micro.precision)}, recall ${f(rep.micro.recall)}, F1 ${f(rep.micro.f1)}; macro F1 ${f(rep.macroF1)}`,
      `  exact match ${(100 * rep.exactMatch).toFixed(2)}% of ${rep.examples} examples; Hamming loss ${f(rep.hammingLoss)} (labels given from probability ${rep.threshold})`);
  }
  if (meta.task === 'lm') lines.push(`  ${(r.loss / Math.LN2).toFixed(4)} bits per character`);
  out.result(result, lines.join('\n'));
  return 0;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
