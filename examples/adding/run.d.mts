import type { LocalTrainer, Rng, SequenceDataset, TrainConfig } from '@weft/core';

export interface AddingOptions {
  T?: number; cell?: 'rnn' | 'lstm' | 'gru'; steps?: number; seed?: number; hidden?: number; batch?: number;
  lr?: number; clipNorm?: number; testCount?: number; evalEvery?: number; wasm?: boolean;
  onEval?: (e: { step: number; testMse: number; trainLoss: number; seconds: number }) => void;
}
export interface AddingResult {
  example: 'adding'; T: number; cell: string; hidden: number; batch: number; lr: number; steps: number; seed: number;
  testMse: number; bestTestMse: number; baseline: number; ratio: number; kernels: string; seconds: number;
  curve: [step: number, testMse: number][];
}
export const DEFAULTS: Required<Omit<AddingOptions, 'onEval'>>;
export function addingDataset(count: number, T: number, rng: Rng): SequenceDataset & { inputs: Float32Array; targets: Float32Array };
export function meanBaseline(d: SequenceDataset): number;
export function createTrainer(config: TrainConfig, options?: { wasm?: boolean }): LocalTrainer;
export function runAdding(options?: AddingOptions): AddingResult;
