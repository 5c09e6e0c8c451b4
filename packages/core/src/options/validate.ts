/**
 * The checks every options object of weft runs (recurrent stack, model config, training config,
 * trainer, fit, optimizers, schedules, clipping), in one place so that every bad option fails
 * the same way: an OptionError naming the option as the caller wrote it (`optimizer.lr`,
 * `model.bidirectinal`, `workers`), what was expected and what was given, and for a misspelt
 * key or choice the closest valid one (`did you mean bidirectional?`).
 */
import { OptionError, closest } from './errors.js';

/** `where.key`, or `key` alone for an object whose keys the caller writes at the top level (where ''). */
export function optionPath(where: string, key: string): string {
  return where ? `${where}.${key}` : key;
}

/** Throws `<name> must be <expected>, got <value>`. */
export function badOption(name: string, expected: string, v: unknown, suggestion?: string): never {
  const hint = suggestion === undefined ? '' : `; did you mean ${suggestion}?`;
  throw new OptionError(`${name} must be ${expected}, got ${show(v)}${hint}`, name, suggestion);
}

/**
 * Every key of the options type T as a runtime list (for knownKeys). The argument maps each key
 * of T to true, and the compiler refuses a missing or an extra one, so the interface stays the
 * one list of fields and this cannot drift from it.
 */
export function keysOf<T extends object>(keys: { readonly [K in keyof T]-?: true }): readonly (keyof T & string)[] {
  return Object.freeze(Object.keys(keys)) as readonly (keyof T & string)[];
}

/** `name` must be a plain object (not null, not an array). */
export function objectOption(v: unknown, name: string, expected = 'an object'): asserts v is object {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) badOption(name, expected, v);
}

/**
 * Refuses keys the options object does not have: a misspelt key (`bidirectinal`) would
 * otherwise be ignored without a word. Names the closest valid key when one is near, or else
 * lists them all. `what` names the object in the message: 'the recurrent stack', 'adam'.
 */
export function knownKeys(o: object, allowed: readonly string[], where: string, what: string): void {
  for (const k of Object.keys(o)) {
    if (allowed.includes(k)) continue;
    const path = optionPath(where, k);
    const s = closest(k, allowed);
    const hint = s !== undefined ? `did you mean ${s}?` : `expected one of: ${allowed.join(', ')}`;
    throw new OptionError(`${path} is not an option of ${what}; ${hint}`, path, s);
  }
}

/** `name` must be one of `choices` (a const array, which also gives the choice's type). */
export function oneOf<const C extends readonly string[]>(v: unknown, choices: C, name: string): asserts v is C[number] {
  if (typeof v === 'string' && choices.includes(v)) return;
  const quoted = choices.map((c) => `'${c}'`);
  const list = quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted.join('');
  const s = typeof v === 'string' ? closest(v, choices) : undefined;
  badOption(name, list, v, s === undefined ? undefined : `'${s}'`);
}

export function positiveNumber(v: unknown, name: string, unit?: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v > 0)) badOption(name, `a positive number${unit ? ` of ${unit}` : ''}`, v);
}

export function nonNegativeNumber(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !(v >= 0)) badOption(name, 'a non-negative number', v);
}

/** A decay factor such as Adam's betas or RMSprop's alpha, or a dropout probability: a number in [0, 1). */
export function unitInterval(v: unknown, name: string): asserts v is number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) badOption(name, 'a number in [0, 1)', v);
}

export function booleanOption(v: unknown, name: string): asserts v is boolean {
  if (typeof v !== 'boolean') badOption(name, 'a boolean', v);
}

export function integerOption(v: unknown, name: string): asserts v is number {
  if (!Number.isInteger(v)) badOption(name, 'an integer', v);
}

export function positiveInt(v: unknown, name: string): asserts v is number {
  if (!Number.isInteger(v) || (v as number) < 1) badOption(name, 'a positive integer', v);
}

export function nonNegativeInt(v: unknown, name: string): asserts v is number {
  if (!Number.isInteger(v) || (v as number) < 0) badOption(name, 'a non-negative integer', v);
}

export function functionOption(v: unknown, name: string): void {
  if (typeof v !== 'function') badOption(name, 'a function', v);
}

export function show(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'a function';
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

/** The entries of `o` whose keys are in `keys`, and the rest: one options object cut in two. */
export function splitKeys<T extends object, K extends keyof T & string>(o: T, keys: readonly K[]): [Pick<T, K>, Omit<T, K>] {
  const picked: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) ((keys as readonly string[]).includes(k) ? picked : rest)[k] = v;
  return [picked as Pick<T, K>, rest as Omit<T, K>];
}
