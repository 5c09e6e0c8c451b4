/**
 * A trained model in this process, for the commands that only read a checkpoint (eval,
 * predict, generate): no pool, no optimizer; refused when its weights are not all finite.
 */
import { SequenceModel, useKernels, type KernelChoice } from '@weft/core';
import { loadRun, nonFiniteMessage, type RunCheckpoint } from './checkpoint.js';
import { InputError } from './errors.js';

export interface LoadedModel {
  run: RunCheckpoint;
  model: SequenceModel;
}

export function loadModel(p: string | undefined, kernels: KernelChoice = 'auto'): LoadedModel {
  useKernels(kernels); // throws, saying why, where a path asked for cannot run
  const run = loadRun(p);
  // NaN weights give NaN outputs, which argmax reads as the first label: refused, not answered.
  const bad = nonFiniteMessage(run);
  if (bad !== undefined) throw new InputError(bad);
  const model = new SequenceModel(run.config.train.model);
  model.paramBuffer.set(run.params);
  return { run, model };
}

// What a prediction is lives in @weft/core (train/outputs.ts), shared with TrainedModel.predict.
export { argmax, multilabelRow, predictAll, softmaxRow } from '@weft/core';
