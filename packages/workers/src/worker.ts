/**
 * The piscina entry of @weft/workers: each pool thread runs ONE `loop` task for as long as the
 * trainer lives (see loop.ts for why one long task instead of a task per step). Kept small so
 * that what a thread loads is easy to see: the spec's layer modules, then the loop.
 */
import { loadLayerModules } from '@weft/core';
import { runLoop, type LoopInit } from './loop.js';

export async function loop(init: LoopInit): Promise<string> {
  // The user's own layer types, before the loop builds the model from the spec.
  await loadLayerModules(init.config.model);
  return runLoop(init);
}

export default loop;
