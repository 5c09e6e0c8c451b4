// Entry of the WebAssembly kernel module (packages/core/wasm/kernels.wasm). Built by
// `pnpm --filter @weft/core build` (asconfig.json beside this file). The module imports its memory
// (env.memory, shared) and must hold no static data: a data segment would be rewritten into the
// shared memory each time a thread instantiates the module.
export { gemm, scratchBytes } from './gemm';
export { sigmoid, tanh } from './elementwise';
export { lstmForward, lstmBackward, rnnForward, rnnBackward, gruForward, gruBackward } from './cells';
export { fillRows, sumRows, gatherRows, scatterAddRows, zero, accumulate, transpose } from './rows';
export { softmaxCrossEntropy, meanSquaredError } from './loss';
export { adamUpdate, sgdUpdate, rmspropUpdate } from './optimizers';
export { expF64, expF64Array, logF64 } from './fdlibm';
