import type { EpochEvent } from '@weft/workers';
import type { ModelSpec, SequenceDataset } from '@weft/core';

export const SPEC: ModelSpec;
export function countingDataset(count: number, seed: number): SequenceDataset & { inputs: Int32Array; targets: Int32Array };
export interface HighwayResult {
  example: 'highway'; workers: number; epochs: number; trainLoss: number; validLoss: number; validAccuracy: number;
  majority: number; kernels: string | undefined; seconds: number; params: Float32Array;
}
export function runHighway(options?: {
  workers?: number; epochs?: number; seed?: number; kernels?: 'auto' | 'wasm' | 'reference'; onEpoch?: (e: EpochEvent) => void;
}): Promise<HighwayResult>;
