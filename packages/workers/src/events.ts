/**
 * What the Trainer reports: its events, fit's options and result, checkpoint state. Plain data
 * only, so the same types cross a thread boundary unchanged (RemoteTrainer).
 */
import type { EvalResult, OptimizerSnapshot, SequenceDataset, TrainStepResult } from '@weft/core';

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

/** After every whole epoch of fit. */
export interface EpochEvent {
  epoch: number;
  /** Mean training loss over the epoch's updated steps. */
  loss: number;
  /** Steps of this epoch (skipped ones included). */
  steps: number;
  /** On `validation`, after the epoch. */
  validation?: EvalResult;
  timeMs: number;
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
  warning: [WarningEvent];
}

export interface FitOptions {
  /** Train until this epoch count (0-based epochs startEpoch..epochs-1). */
  epochs: number;
  /** Evaluated after every epoch. */
  validation?: SequenceDataset;
  /** Aborting stops before the next step; fit then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** First epoch (resuming; default 0). Data order depends on (seed, epoch) only. */
  startEpoch?: number;
  /** Stop after this many steps of this call (default: no limit). */
  steps?: number;
  /** Batch size of validation (default: the training batchSize). */
  evalBatchSize?: number;
}

/** evaluate's and predict's options. */
export interface EvalOptions {
  /** Sequences per batch (default: the training batchSize). */
  batchSize?: number;
}

export interface FitResult {
  /** Mean training loss of the last epoch run (over the steps run, if `steps` cut it short). */
  loss: number;
  /** Every whole epoch run. */
  epochs: EpochEvent[];
  /** Steps taken by this call. */
  steps: number;
  /** The trainer's step count at the end. */
  step: number;
  timeMs: number;
}

/** A checkpoint's worth of training state: parameters, optimizer state, step count. */
export interface TrainerState {
  /** Completed steps. */
  step: number;
  /** All parameters in the model's layout order [paramCount]. */
  params: Float32Array;
  optimizer: OptimizerSnapshot;
  /** With carryState: the recurrent states carried into the next step ([batchSize, L*D, H], then c for LSTMs). */
  carry?: Float32Array;
}

/** The head's outputs (logits for classification, values for regression). */
export interface Prediction {
  /** [count, outputSize] per sequence; [count, maxSteps, outputSize] per step (zero past each length). */
  outputs: Float32Array;
  shape: number[];
}
