// TensorFlow.js is the benchmark's comparison and nothing else uses it, so `pnpm install` does not
// bring its ~300 MB: it lives in bench/tfjs and is installed there the first time a run asks for it
// (scripts/npm-folder.mjs).
import { fileURLToPath } from 'node:url';
import { npmFolder } from '../../scripts/npm-folder.mjs';

const folder = npmFolder({
  dir: fileURLToPath(new URL('../tfjs/', import.meta.url)),
  what: 'TensorFlow.js 4.22 for the comparison',
  probes: ['@tensorflow/tfjs/package.json', '@tensorflow/tfjs-backend-wasm/package.json'],
  hint: 'pass --tfjs none to skip it',
});

/** A require() that resolves from bench/tfjs, where TensorFlow.js is installed. */
export const tfjsRequire = folder.require;
export const ensureTfjs = (log) => folder.ensure(log);
