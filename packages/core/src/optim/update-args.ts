/**
 * The argument checks of one optimizer update (buffers, slice, step, learning rate), shared by
 * SGD, Adam/AdamW and RMSprop. These are a caller's arguments, not options, so they throw
 * TypeError/RangeError; the options of the optimizers are checked by options/validate.ts.
 */
import { show } from '../options/validate.js';

/**
 * Checks the arguments of one slice update. O(number of state buffers), done once per call,
 * never per element, so the loop itself stays branch-free of checks.
 */
export function checkUpdateArgs(
  who: string,
  params: Float32Array,
  grads: Float32Array,
  states: readonly Float32Array[],
  stateCount: number,
  start: number,
  end: number,
  t: number,
  lr: number,
): void {
  if (!(params instanceof Float32Array)) throw new TypeError(`${who}: params must be a Float32Array`);
  if (!(grads instanceof Float32Array)) throw new TypeError(`${who}: grads must be a Float32Array`);
  const n = params.length;
  if (grads.length !== n) throw new RangeError(`${who}: grads has ${grads.length} floats, params has ${n}`);
  if (states.length !== stateCount) {
    throw new RangeError(`${who}: expected ${stateCount} state buffer(s), got ${states.length}`);
  }
  for (let k = 0; k < stateCount; k++) {
    const s = states[k];
    if (!(s instanceof Float32Array)) throw new TypeError(`${who}: states[${k}] must be a Float32Array`);
    if (s.length !== n) throw new RangeError(`${who}: states[${k}] has ${s.length} floats, params has ${n}`);
  }
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end > n) {
    throw new RangeError(`${who}: the slice must satisfy 0 <= start <= end <= ${n} (integers), got start ${show(start)}, end ${show(end)}`);
  }
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`${who}: step must be a positive integer (1-based), got ${show(t)}`);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr < 0) {
    throw new RangeError(`${who}: lr must be a non-negative finite number, got ${show(lr)}`);
  }
}
