/**
 * A trained model in this process, for the commands that only read a checkpoint (eval,
 * predict, generate, inspect, export): no pool, no optimizer.
 */
import { SequenceModel, useWasmKernels } from '@weft/core';
import { loadRun, type RunCheckpoint } from './checkpoint.js';

export interface LoadedModel {
  run: RunCheckpoint;
  model: SequenceModel;
}

export function loadModel(p: string | undefined, kernels: 'auto' | 'wasm' | 'reference' = 'auto'): LoadedModel {
  if (kernels !== 'reference') {
    const ok = useWasmKernels();
    if (!ok && kernels === 'wasm') throw new Error('--kernels wasm: WebAssembly SIMD is not available in this Node.js');
  }
  const run = loadRun(p);
  const model = new SequenceModel(run.config.train.model);
  model.paramBuffer.set(run.params);
  return { run, model };
}

// What a prediction is lives in @weft/core (model/outputs.ts), shared with TrainedModel.predict.
export { argmax, predictAll, softmaxRow } from '@weft/core';
