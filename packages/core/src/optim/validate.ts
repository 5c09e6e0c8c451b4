/**
 * Option and argument checks shared by the optimizers. Messages name the option and what was
 * expected (`optimizer.lr must be a positive number, got -1`), so a typo in a config file or a
 * CLI flag points at itself.
 */

export function positiveNumber(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a positive number, got ${show(v)}`);
  if (!(v > 0)) throw new RangeError(`${name} must be a positive number, got ${show(v)}`);
}

export function nonNegativeNumber(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a non-negative number, got ${show(v)}`);
  if (!(v >= 0)) throw new RangeError(`${name} must be a non-negative number, got ${show(v)}`);
}

/** A decay factor such as Adam's betas or RMSprop's alpha: a number in [0, 1). */
export function unitInterval(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a number in [0, 1), got ${show(v)}`);
  if (!(v >= 0 && v < 1)) throw new RangeError(`${name} must be a number in [0, 1), got ${show(v)}`);
}

export function booleanOption(v: unknown, name: string): void {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${show(v)}`);
}

/** Refuse options the optimizer does not have: `momentum` given to Adam is a typo or a misunderstanding. */
export function knownKeys(o: object, allowed: readonly string[], where: string, what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new TypeError(`${where}.${k} is not an option of ${what}; expected one of: ${allowed.join(', ')}`);
    }
  }
}

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

export function show(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Drop keys whose value is undefined, so `{ lr: undefined }` falls back to the default. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
