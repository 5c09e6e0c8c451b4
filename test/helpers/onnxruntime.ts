/**
 * onnxruntime-node for the ONNX export's test: installed into test/onnxruntime on first use
 * (scripts/npm-folder.mjs), not by `pnpm install`: its binaries for every platform are about
 * 290 MiB that nothing but this test needs. `--ignore-scripts` skips its install script, which
 * would download CUDA files; the CPU binary it ships needs none.
 */
import { fileURLToPath } from 'node:url';
import { npmFolder } from '../../scripts/npm-folder.mjs';

/** The part of onnxruntime-node's API the test uses. */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
export interface Ort {
  InferenceSession: { create(path: string): Promise<{ inputNames: readonly string[]; outputNames: readonly string[]; run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }> };
  Tensor: new (type: 'int64' | 'float32', data: BigInt64Array | Float32Array, dims: number[]) => OrtTensor;
}

const folder = npmFolder({
  dir: fileURLToPath(new URL('../onnxruntime/', import.meta.url)),
  what: 'onnxruntime-node 1.30.0 for the ONNX export test',
  probes: ['onnxruntime-node/package.json'],
  ignoreScripts: true,
});

/** Installs onnxruntime-node once (npm ci from the folder's lock file) and loads it. */
export function onnxRuntime(): Ort {
  folder.ensure((line) => process.stderr.write(`test: ${line}\n`));
  return folder.require('onnxruntime-node') as Ort;
}
