import type { LocalTrainer, SequenceDataset, TrainConfig } from '@weft/core';

type Range = [start: number, end: number];
export type Variant = 'none' | 'inter' | 'recurrent' | 'both';
export interface DropoutOptions {
  cell?: 'rnn' | 'lstm' | 'gru'; hidden?: number; layers?: number; seqLen?: number; stride?: number; batch?: number;
  lr?: number; clipNorm?: number; epochs?: number; p?: number; seed?: number; validFrac?: number;
  /** Path of the text (default examples/data/lm.txt); `text` overrides it. */
  textFile?: string; text?: string; only?: Variant[]; wasm?: boolean;
  onEpoch?: (e: { variant: Variant; epoch: number; trainLoss: number; validLoss: number; seconds: number }) => void;
}
export interface VariantResult {
  dropout?: number; recurrentDropout?: number; bestValid: number; bestEpoch: number; finalValid: number;
  finalTrain: number; seconds: number; curve: [trainLoss: number, validLoss: number][];
}
export interface DropoutResult {
  example: 'dropout'; text: string; chars: number; vocab: number; cell: string; hidden: number; layers: number;
  seqLen: number; epochs: number; p: number; lr: number; seed: number; trainWindows: number; validChars: number;
  unigramValid: number; kernels: string; seconds: number; results: Partial<Record<Variant, VariantResult>>;
}
export const TEXT_FILE: string;
export const DEFAULTS: DropoutOptions;
export function vocabulary(text: string): string[];
export function encode(text: string, vocab: string[]): Int32Array;
export function lmWindows(ids: Int32Array, range: Range, S: number, stride: number, V: number): SequenceDataset & { inputs: Int32Array; targets: Int32Array };
export function unigramLoss(ids: Int32Array, trainRange: Range, evalRange: Range, V: number): number;
export function variants(p: number): Record<Variant, { dropout?: number; recurrentDropout?: number }>;
export function createTrainer(config: TrainConfig, options?: { wasm?: boolean }): LocalTrainer;
export function runDropout(options?: DropoutOptions): DropoutResult;
