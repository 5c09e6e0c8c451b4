/**
 * @weft/workers: deterministic data-parallel training of @weft/core models on all cores.
 * See README.md for the design (loop tasks on piscina, Atomics on a control block, one shared
 * arena) and the API.
 *
 * @packageDocumentation
 * @module @weft/workers
 */
export { Trainer } from './trainer.js';
export type {
  TrainerOptions, ThreadOptions, ResolvedTrainerOptions, ResolvedThreadOptions, FaultInjection, KernelChoice,
} from './options.js';
export { TRAINER_DEFAULTS, TRAINER_KEYS, KERNEL_CHOICES, resolveTrainerOptions } from './options.js';
export type {
  StepEvent, StepPhases, EpochEvent, WarningEvent, TrainerEvents, FitOptions, EvalOptions, PredictOptions, FitResult, TrainerState, Prediction,
} from './events.js';
export { RemoteTrainer, createRemoteTrainer } from './remote.js';
export type { RemoteTrainerOptions, RemoteFitOptions, RemoteFitCallbacks, RemoteEvent } from './remote.js';
export { shareDataset } from './shared-data.js';
export { workerExecArgv } from './paths.js';
export { runWorkload, MAX_STEPS } from './bench.js';
export type { WorkloadResult, RunWorkloadOptions } from './bench.js';
// The workload table lives in @weft/core; re-exported for the pool's users and `weft bench`.
export { WORKLOADS, workloadFlops, workloadShape, synthesizeWorkload, type Workload, type WorkloadName, type WorkloadShape } from '@weft/core';
/** The piscina the trainer is built on, for applications that pass their own pool (`pool` option). */
export { Piscina } from 'piscina';
