import type { SequenceDataset } from '@weft/core';
import type { Vocab } from '@weft/cli';

export interface NameRow { name: string; label: number }
export interface NamesSummary {
  example: 'names'; trainArgs: string[];
  split: { seed: number; validFraction: number; train: number; valid: number; validAmbiguousNames: number; female: number; male: number; ambiguous: number };
  model: {
    steps: number; seconds: number; workers: number | null; kernels: string; trainValidLoss: number; bestEpoch: number | null; evalLoss: number;
    accuracy: number; accuracyUnambiguous: number; accuracyPredict: number;
    classes: { label: string; precision: number; recall: number; f1: number; support: number }[];
    confusion: { labels: string[]; matrix: number[][] };
  };
  baseline: { name: string; accuracy: number; accuracyUnambiguous: number; trainAccuracy: number };
  paired: { modelOnly: number; baselineOnly: number; pValue: number };
  majority: number; ceiling: number;
  errors: {
    unambiguous: number; ambiguous: number;
    examplesUnambiguous: { name: string; label: string; predicted: string; probability: number }[];
    examplesAmbiguous: { name: string; predicted: string; probability: number }[];
  };
  files: { run: string; valid: string };
  seconds: number; trainSeconds: number;
}
export const DEFAULTS: { out: string; errors: number };
export function weft(args: string[]): any;
export function flagValue(args: string[], name: string): string | undefined;
export function decodeRows(d: SequenceDataset, vocab: Vocab): string[];
export function namesSplit(o?: { seed?: number; validFraction?: number }): { train: NameRow[]; valid: NameRow[]; labels: string[]; ambiguous: Set<string>; counts: { female: number; male: number; ambiguous: number } };
export function affixFeatures(name: string): string[];
export function fitNaiveBayes(rows: NameRow[], classes: number): { classes: number; predict(name: string): number };
export function pairedComparison<R extends { label: number }>(rows: R[], predictA: (r: R) => number, predictB: (r: R) => number): { onlyA: number; onlyB: number; pValue: number };
export function runNames(o?: { out?: string; trainArgs?: string[]; errors?: number; reuse?: boolean; log?: (m: string) => void }): NamesSummary;
export function markdownReport(s: NamesSummary): string;
