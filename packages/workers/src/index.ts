/**
 * @weft/workers: deterministic data-parallel training of @weft/core models on all cores.
 * See README.md for the design (loop tasks on piscina, Atomics on a control block, one shared
 * arena) and the API.
 */
export { Trainer } from './trainer.js';
export type { TrainerOptions, ResolvedTrainerOptions } from './options.js';
export { TRAINER_DEFAULTS, resolveTrainerOptions } from './options.js';
export type { FaultInjection, KernelChoice } from './loop.js';
export type {
  StepEvent, EpochEvent, WarningEvent, TrainerEvents, FitOptions, FitResult, TrainerState, Prediction,
} from './events.js';
export { RemoteTrainer, createRemoteTrainer } from './remote.js';
export type { RemoteTrainerOptions, RemoteFitOptions, RemoteEvent } from './remote.js';
export { shareDataset } from './shared-data.js';
export { workerExecArgv } from './paths.js';
export { WORKLOADS, runWorkload, workloadFlops, synthesizeWorkload } from './bench.js';
export type { Workload, WorkloadName, WorkloadResult, RunWorkloadOptions } from './bench.js';
/** The piscina the trainer is built on, for applications that pass their own pool (`pool` option). */
export { Piscina } from 'piscina';
