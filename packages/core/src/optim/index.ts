/** Optimizers, clipping and learning-rate schedules: each a loop over a slice of flat buffers. */
export * from './optimizer.js';
export * from './sgd.js';
export * from './adam.js';
export * from './rmsprop.js';
export * from './clip.js';
export * from './schedule.js';
