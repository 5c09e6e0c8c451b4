/**
 * The piscina entry of @weft/workers: each pool thread runs ONE `loop` task for as long as the
 * trainer lives (see loop.ts for why one long task instead of a task per step). Kept small so
 * that what a thread loads is easy to see.
 */
import { runLoop, type LoopInit } from './loop.js';

export function loop(init: LoopInit): string {
  return runLoop(init);
}

export default loop;
