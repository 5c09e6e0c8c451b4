import { describe, expect, it } from 'vitest';
import { closest, editDistance, OptionError } from './errors.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and transpositions as one edit each', () => {
    expect(editDistance('hidden', 'hiden')).toBe(1);
    expect(editDistance('epochs', 'epoch')).toBe(1);
    expect(editDistance('bidirectional', 'bidirectinal')).toBe(1);
    expect(editDistance('layers', 'lyaers')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});

describe('closest', () => {
  const keys = ['bidirectional', 'hiddenSize', 'numLayers', 'dropout', 'bias'];
  it('suggests the nearest key, ignoring case, dashes and underscores', () => {
    expect(closest('bidirectinal', keys)).toBe('bidirectional');
    expect(closest('hidden_size', keys)).toBe('hiddenSize');
    expect(closest('num-layers', keys)).toBe('numLayers');
    expect(closest('dropuot', keys)).toBe('dropout');
  });
  it('suggests nothing when no key is near', () => {
    expect(closest('learningRate', keys)).toBeUndefined();
    expect(closest('x', keys)).toBeUndefined();
  });
});

describe('OptionError', () => {
  it('carries the option and the suggestion for callers to branch on', () => {
    const e = new OptionError('stack.bidirectinal is not an option; did you mean bidirectional?', 'stack.bidirectinal', 'bidirectional');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('OptionError');
    expect(e.option).toBe('stack.bidirectinal');
    expect(e.suggestion).toBe('bidirectional');
  });
});
