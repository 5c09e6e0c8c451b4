import type { SequenceDataset } from '@weft/core';

export interface CharLmOptions {
  data?: string; out?: string; seqLen?: number; batch?: number; validFraction?: number;
  prime?: string; length?: number; temperatures?: number[]; sampleSeed?: number;
  modelArgs?: string[]; trainArgs?: string[]; reuse?: boolean; log?: (m: string) => void;
}
export interface CharLmSummary {
  example: 'charlm';
  data: { file: string; characters: number; distinct: number; train: number; valid: number; scored: number };
  train: { args: string[]; steps: number; seconds: number; workers: number | null; kernels: string };
  model: { bitsPerChar: number; accuracy: number; trainBitsPerChar: number; trainAccuracy: number; trainValidLoss: number; evalLoss: number };
  best: { epoch: number; step: number; bitsPerChar: number; accuracy: number } | null;
  validCurve: [epoch: number, bitsPerChar: number][];
  baselines: { uniform: { bitsPerChar: number }; unigram: { bitsPerChar: number; accuracy: number }; bigram: { bitsPerChar: number; accuracy: number } };
  samples: { temperature: number; text: string }[];
  files: { run: string; train: string; valid: string };
  seconds: number;
}
export const DEFAULTS: Required<Omit<CharLmOptions, 'trainArgs' | 'reuse' | 'log'>>;
export function weft(args: string[]): any;
export function splitText(file: string, validFraction: number): { train: string; valid: string; length: number; cut: number };
export function ngramBaselines(trainIds: ArrayLike<number>, d: SequenceDataset, vocabSize: number): {
  count: number; uniform: { bitsPerChar: number }; unigram: { bitsPerChar: number; accuracy: number }; bigram: { bitsPerChar: number; accuracy: number };
};
export function mergeFlags(defaults: string[], extra: string[]): string[];
export function runCharLm(options?: CharLmOptions): CharLmSummary;
export function markdownReport(s: CharLmSummary): string;
