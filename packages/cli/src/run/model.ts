/**
 * A trained model in this process, for the commands that only read a checkpoint (eval,
 * predict, generate, inspect, export): no pool, no optimizer.
 */
import { SequenceModel, useKernels, type KernelChoice } from '@weft/core';
import { loadRun, type RunCheckpoint } from './checkpoint.js';

export interface LoadedModel {
  run: RunCheckpoint;
  model: SequenceModel;
}

export function loadModel(p: string | undefined, kernels: KernelChoice = 'auto'): LoadedModel {
  useKernels(kernels); // throws, saying why, where a path asked for cannot run
  const run = loadRun(p);
  const model = new SequenceModel(run.config.train.model);
  model.paramBuffer.set(run.params);
  return { run, model };
}

// What a prediction is lives in @weft/core (model/outputs.ts), shared with TrainedModel.predict.
export { argmax, predictAll, softmaxRow } from '@weft/core';
