/**
 * The metrics of labelled predictions, shared by `weft eval` and the validation of `weft
 * train`: per-class precision, recall and F1 with the confusion matrix (one class per
 * sequence or step), and for multi-label models per-label and micro/macro averaged scores, the
 * exact-match ratio and the Hamming loss.
 */
import { withoutOutputs, type DataMeta, type EvalResult, type SequenceDataset } from '@weft/core';
import type { Trainer } from '@weft/workers';
import { multilabelRow } from './model.js';

export interface ClassReport {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Precision, recall and F1 from counts (0 where a denominator is 0, as scikit-learn's zero_division=0). */
function prf(tp: number, predicted: number, support: number): { precision: number; recall: number; f1: number } {
  const precision = predicted ? tp / predicted : 0;
  const recall = support ? tp / support : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}

/** Confusion matrix [true][predicted] and per-class precision/recall/F1 from predictions. */
export function classificationReport(labels: readonly string[], truth: ArrayLike<number>, pred: ArrayLike<number>): { confusion: number[][]; classes: ClassReport[] } {
  const K = labels.length;
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (let i = 0; i < truth.length; i++) if (truth[i]! >= 0) confusion[truth[i]!]![pred[i]!]!++;
  const classes = labels.map((label, k) => {
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[k]!, 0);
    return { label, ...prf(confusion[k]![k]!, predicted, support), support };
  });
  return { confusion, classes };
}

/** Multi-label metrics: per label, micro and macro averages, and per example. */
export interface MultilabelReport {
  /** The probability from which a label counts as predicted. */
  threshold: number;
  labels: ClassReport[];
  micro: { precision: number; recall: number; f1: number };
  /** The unweighted mean of the labels' F1. */
  macroF1: number;
  /** Fraction of examples whose predicted label set is exactly the true one. */
  exactMatch: number;
  /** Fraction of (example, label) decisions that are wrong. */
  hammingLoss: number;
  examples: number;
}

/**
 * The metrics of multi-label predictions: `truth` [rows, C] 0/1 and the head's `outputs`
 * [rows, C] (logits); a label is predicted as `weft predict` gives it (multilabelRow: probability ≥ `threshold`).
 */
export function multilabelReport(labels: readonly string[], truth: ArrayLike<number>, outputs: ArrayLike<number>, threshold: number): MultilabelReport {
  const C = labels.length;
  const rows = truth.length / C;
  const tp = new Array<number>(C).fill(0);
  const predicted = new Array<number>(C).fill(0);
  const support = new Array<number>(C).fill(0);
  let exact = 0;
  let wrong = 0;
  for (let i = 0; i < rows; i++) {
    const given = new Set(multilabelRow(labels, outputs, i * C, threshold).labels);
    let same = true;
    for (let j = 0; j < C; j++) {
      const y = truth[i * C + j]! >= 0.5;
      const p = given.has(labels[j]!);
      if (y) support[j]!++;
      if (p) predicted[j]!++;
      if (y && p) tp[j]!++;
      if (y !== p) { same = false; wrong++; }
    }
    if (same) exact++;
  }
  const perLabel = labels.map((label, j) => ({ label, ...prf(tp[j]!, predicted[j]!, support[j]!), support: support[j]! }));
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    threshold, labels: perLabel, micro: prf(sum(tp), sum(predicted), sum(support)),
    macroF1: sum(perLabel.map((l) => l.f1)) / C, exactMatch: rows ? exact / rows : 0, hammingLoss: rows ? wrong / (rows * C) : 0, examples: rows,
  };
}

/** What a run reports of a validation: loss and accuracy (per label for multi-label), and for a multi-label run micro-F1 and exact match. */
export interface ValidScores {
  loss: number;
  accuracy?: number;
  /** multilabel: micro-averaged F1 of the labels given from probability 0.5. */
  microF1?: number;
  /** multilabel: fraction of examples whose labels are all right. */
  exactMatch?: number;
}

/** A validation: the trainer's EvalResult (loss, count, accuracy; not the outputs) and the multi-label scores. */
export type ValidMetrics = Omit<EvalResult, 'outputs' | 'shape'> & ValidScores;

/** The scores of a validation without its count (what a checkpoint keeps of the best epoch). */
export function scoresOf(v: ValidScores): ValidScores {
  const { loss, accuracy, microF1, exactMatch } = v;
  return { loss, ...(accuracy !== undefined ? { accuracy } : {}), ...(microF1 !== undefined ? { microF1, exactMatch: exactMatch! } : {}) };
}

/** Whether a run's validations must give the head's outputs (evaluate's `outputs`, fit's `validationOutputs`): validMetrics reads them. */
export function validationOutputs(meta: DataMeta): boolean {
  return meta.task === 'multilabel';
}

/**
 * A validation's metrics from the trainer's evaluation `v` of `valid`: its loss, count and
 * accuracy, and for a multi-label model (whose accuracy counts each label on its own, easy to
 * reach by giving no label at all) micro-F1 and exact match from the outputs of that same pass
 * (`v.outputs`: validationOutputs asks for them).
 */
export function validMetrics(v: EvalResult, valid: SequenceDataset, meta: DataMeta): ValidMetrics {
  const scores = withoutOutputs(v);
  if (meta.task !== 'multilabel') return scores;
  const outputs = v.outputs;
  if (!outputs) throw new Error('validMetrics: a multi-label validation needs the outputs of its evaluation (validationOutputs)');
  const rep = multilabelReport(meta.labels, valid.targets, outputs, 0.5);
  return { ...scores, microF1: rep.micro.f1, exactMatch: rep.exactMatch };
}

/** Validates a run's model on `valid` in one pass: validMetrics of the trainer's evaluation. */
export async function validate(trainer: Trainer, valid: SequenceDataset, meta: DataMeta): Promise<ValidMetrics> {
  return validMetrics(await trainer.evaluate(valid, { outputs: validationOutputs(meta) }), valid, meta);
}

/** `, micro-F1 0.8123, exact match 61.00%` after a multi-label validation's loss and accuracy; '' for other tasks. */
export function labelScores(v: ValidScores): string {
  return v.microF1 !== undefined ? `, micro-F1 ${v.microF1.toFixed(4)}, exact match ${(100 * v.exactMatch!).toFixed(2)}%` : '';
}
