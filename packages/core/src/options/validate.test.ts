import { describe, expect, it } from 'vitest';
import { OptionError } from './errors.js';
import { keysOf, knownKeys, oneOf, positiveInt, splitKeys } from './validate.js';

describe('knownKeys', () => {
  const allowed = ['epochs', 'batchSize', 'startEpoch'];
  it('names the key with its path and the closest valid one', () => {
    expect(() => knownKeys({ epochs: 1, batch_size: 2 }, allowed, 'fit', 'fit')).toThrow(expect.objectContaining({
      name: 'OptionError', message: 'fit.batch_size is not an option of fit; did you mean batchSize?', option: 'fit.batch_size', suggestion: 'batchSize',
    }));
  });
  it('writes a top-level key without a prefix, and lists the valid keys when none is close', () => {
    expect(() => knownKeys({ momentum: 0.9 }, allowed, '', 'fit')).toThrow(expect.objectContaining({
      message: 'momentum is not an option of fit; expected one of: epochs, batchSize, startEpoch', option: 'momentum', suggestion: undefined,
    }));
  });
  it('accepts the valid keys', () => {
    expect(() => knownKeys({ epochs: 1, startEpoch: 0 }, allowed, '', 'fit')).not.toThrow();
  });
});

describe('oneOf', () => {
  const kinds = ['tokens', 'dense'] as const;
  it('lists the choices and suggests the closest one', () => {
    expect(() => oneOf('token', kinds, 'input.kind')).toThrow(expect.objectContaining({
      message: `input.kind must be 'tokens' or 'dense', got "token"; did you mean 'tokens'?`, option: 'input.kind', suggestion: "'tokens'",
    }));
    expect(() => oneOf(3, kinds, 'input.kind')).toThrow(`input.kind must be 'tokens' or 'dense', got 3`);
    expect(() => oneOf('dense', kinds, 'input.kind')).not.toThrow();
  });
});

describe('value checks', () => {
  it('throw OptionError naming the option and the value', () => {
    expect(() => positiveInt(0, 'workers')).toThrow(OptionError);
    expect(() => positiveInt(Number.NaN, 'workers')).toThrow('workers must be a positive integer, got NaN');
  });
});

describe('keysOf and splitKeys', () => {
  interface Opts { a: number; b?: string; c?: boolean }
  it('lists every key of the type, and cuts an object by them', () => {
    const keys = keysOf<Opts>({ a: true, b: true, c: true });
    expect(keys).toEqual(['a', 'b', 'c']);
    const [picked, rest] = splitKeys({ a: 1, b: 'x', d: 4 }, ['a', 'b'] as const);
    expect(picked).toEqual({ a: 1, b: 'x' });
    expect(rest).toEqual({ d: 4 });
  });
});
