/**
 * @weft/core: recurrent cells, stacks, models, losses, optimizers, checkpoints and the
 * deterministic training step, with the text encoders that turn data into datasets. Everything
 * public is exported from here (the package has one entry point).
 *
 * @packageDocumentation
 * @module @weft/core
 */
export * from './kernels/index.js';
export { Rng } from './rng.js';
export * from './params/layout.js';
export * from './stack/config.js';
export * from './data/dataset.js';
export * from './model/model.js';
export * from './layers/linear.js';
export * from './layers/types.js';
export * from './layers/table.js';
export * from './layers/modules.js';
export { embedding, type EmbeddingOptions } from './layers/embedding.js';
export { recurrent, RecurrentLayer, RECURRENT_KEYS, type RecurrentOptions } from './layers/recurrent.js';
export { dropout, type DropoutOptions } from './layers/dropout.js';
export { layerNorm, type LayerNormOptions } from './layers/layer-norm.js';
export { pool, POOL_MODES, type PoolMode, type PoolOptions } from './layers/pool.js';
export * from './losses/kernels.js';
export * from './losses/types.js';
export * from './losses/table.js';
export { crossEntropy, type CrossEntropyOptions } from './losses/cross-entropy.js';
export { binaryCrossEntropy } from './losses/binary-cross-entropy.js';
export { mse, huber, type HuberOptions } from './losses/regression.js';
export * from './train/arena.js';
export * from './train/step.js';
export * from './data/batches.js';
export * from './train/config.js';
export * from './train/local.js';
export * from './train/loop.js';
export * from './train/limits.js';
export * from './stack/stack.js';
export * from './cells/rnn.js';
export * from './cells/lstm.js';
export * from './cells/gru.js';
export { drawDropoutMask } from './stack/dropout.js';
export * from './optim/index.js';
export * from './model/gradcheck.js';
export * from './io/checkpoint.js';
export * from './train/trained.js';
export * from './train/outputs.js';
export * from './io/safetensors.js';
export * from './params/param-check.js';
export { writeFileAtomic, writeFileAtomicSync, tempPathFor, parseTempName } from './io/atomic-write.js';
export * from './kernels/memory.js';
export * from './kernels/wasm.js';
export * from './kernels/native.js';
export * from './kernels/choose.js';
export * from './train/workloads.js';
export * from './options/errors.js';
export * from './data/index.js';
export * from './options/validate.js';
export { onnxModel, onnxRefusal, ONNX_OPSET, ONNX_IR_VERSION, ONNX_LAYERS, ONNX_NAMES, type OnnxOptions, type OnnxAffine } from './onnx/graph.js';
export * from './model/stream.js';
