/**
 * What the Trainer reports: its events, fit's options and result, checkpoint state. Plain data
 * only, so the same types cross a thread boundary unchanged (RemoteTrainer).
 */
import type { EpochEvent, EvaluateOptions, FitOptions as CoreFitOptions, HeadOutputs, PredictOptions, TrainStepResult, ValidationEvent } from '@weft/core';

// The loop's events and result, and the checkpoint state, are @weft/core's (train/loop.ts), shared with LocalTrainer.
export type { EpochEvent, FitResult, TrainerState, ValidationEvent, StepInfo, FitCheckpoint, LoopState } from '@weft/core';

/** After every step. */
export interface StepEvent extends TrainStepResult {
  /** 0-based epoch of fit, or undefined for trainStep. */
  epoch?: number;
  /** Trained tokens (sequence steps) per second of this step. */
  tokensPerSecond: number;
  /** Wall time of the step, milliseconds. */
  stepMs: number;
  /** Mean over workers of the time spent waiting at the step's barriers and reducing the slots (phase B). */
  syncMs: number;
  /** Mean over workers of the time spent computing shards (phase A). */
  computeMs: number;
  /** Where the step's wall time went, phase by phase along its critical path. */
  phases: StepPhases;
}

/**
 * One step's critical path, in milliseconds: from the main thread issuing the step to the
 * workers waking (their mean), to the last shard's gradient done (phase A), to the last
 * reducer past its barrier (phase B: the waits for the last shard and the reduce), to the last
 * update done (phase C), to the main thread resuming after the last acknowledgement.
 */
export interface StepPhases {
  wakeMs: number;
  shardsMs: number;
  reduceMs: number;
  updateMs: number;
  ackMs: number;
}

export interface WarningEvent {
  /** 'non-finite': a step was skipped (nonFinite: 'skip'); 'worker-failed': a worker was replaced and its work redone. */
  kind: 'non-finite' | 'worker-failed';
  message: string;
  /** The step it happened at (the trainer's step count). */
  step: number;
}

export interface TrainerEvents {
  step: [StepEvent];
  epoch: [EpochEvent];
  validation: [ValidationEvent];
  warning: [WarningEvent];
}

/** fit's options (@weft/core's, the one training loop's): its onStep sees the pool's StepEvent. */
export type FitOptions = CoreFitOptions<StepEvent>;

/** evaluate's options (@weft/core's, LocalTrainer.evaluate's): batchSize, and outputs (the head's outputs of the same pass). */
export type EvalOptions = EvaluateOptions;

/** predict's options (@weft/core's, LocalTrainer.predict's). */
export type { PredictOptions };

/** predict's answer: the head's outputs (@weft/core's HeadOutputs, what LocalTrainer.predict gives). */
export type Prediction = HeadOutputs;
