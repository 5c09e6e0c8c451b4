import type { LocalTrainer, SequenceDataset, TrainConfig } from '@weft/core';

type Range = [start: number, end: number];
type Dense = SequenceDataset & { inputs: Float32Array; targets: Float32Array };
export interface ForecastOptions {
  cell?: 'rnn' | 'lstm' | 'gru'; hidden?: number; layers?: number; window?: number; stride?: number; epochs?: number;
  batch?: number; lr?: number; clipNorm?: number; seed?: number; wasm?: boolean; trainDays?: number;
  onEpoch?: (e: { epoch: number; trainLoss: number; validMse: number; seconds: number }) => void;
}
export interface ForecastResult {
  example: 'timeseries'; series: string; cell: string; hidden: number; layers: number; window: number; epochs: number;
  lr: number; seed: number; train: string; test: string; trainWindows: number; testDays: number; bestEpoch: number;
  validMse: number; testMse: number; naiveMse: number; seasonalNaiveMse: number; ratioToNaive: number;
  testRmseBirths: number; naiveRmseBirths: number; seasonalRmseBirths: number; kernels: string; seconds: number;
  curve: [epoch: number, trainLoss: number, validMse: number][];
}
export const DEFAULTS: ForecastOptions;
export function loadBirths(): { values: Float64Array; dates: string[] };
export function splitRanges(n: number, validFrac?: number, testFrac?: number): { train: Range; valid: Range; test: Range };
export function normaliser(series: ArrayLike<number>, range: Range): { mean: number; std: number };
export function stepWindows(z: ArrayLike<number>, range: Range, W: number, stride?: number): Dense;
export function forecastWindows(z: ArrayLike<number>, range: Range, W: number): Dense;
export function laggedBaseline(d: SequenceDataset, lag: number): number;
export function createTrainer(config: TrainConfig, options?: { wasm?: boolean }): LocalTrainer;
export function runForecast(options?: ForecastOptions): ForecastResult;
