export * from './kernels/index.js';
export { Rng } from './rng.js';
export * from './model/layout.js';
export * from './stack/config.js';
