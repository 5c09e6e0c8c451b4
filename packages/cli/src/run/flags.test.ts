import { describe, it, expect } from 'vitest';
import { OptionError } from '@weft/core';
import { commandFlags } from '../main.js';
import { RESUME_FLAGS, RULES, checkFlags, columnList, delimiterOf, normalizeArgs } from './flags.js';

describe('run/flags', () => {
  it('every rule and every --resume flag names a flag its command declares (a misspelt rule would never apply)', () => {
    for (const [command, rules] of Object.entries(RULES)) {
      const spec = commandFlags(command);
      for (const flag of Object.keys(rules)) expect({ command, flag, declared: spec.names.has(flag) }).toEqual({ command, flag, declared: true });
    }
    const train = commandFlags('train');
    for (const flag of RESUME_FLAGS) expect({ flag, declared: train.names.has(flag) }).toEqual({ flag, declared: true });
  });

  it('reads values the way yargs does: --x=v, negative numbers, booleans, lists, --no-x', () => {
    const spec = commandFlags('train');
    expect(checkFlags('train', ['train', '--task', 'regress', '--data', 'd.csv', '--lr=0.1', '--seed', '-3', '--force', '--no-bidirectional', '--inputs', 'a', 'b', '--epochs', '2'], spec)).toEqual([]);
    const err = (argv: string[]) => { try { checkFlags('train', argv, spec); } catch (e) { return e as OptionError; } throw new Error('accepted'); };
    // The names task reads a --valid file as classify data: its column and length flags apply then.
    expect(checkFlags('train', ['train', '--valid', 'v.csv', '--text-column', 'name', '--label-column', 'sex', '--max-len', '30', '--delimiter', ';'], spec)).toEqual([]);
    expect(err(['train', '--max-len', '30']).message).toBe('--max-len applies to --task classify, multilabel, tag, not names (with names, only to read a --valid file)');
    expect(err(['train', '--force', 'yes']).message).toBe('unexpected "yes" after --force, which takes no value');
    expect(err(['train', '--out', 'my', 'run']).message).toBe('unexpected "run" after --out my: put quotes around a value with spaces');
    expect(err(['train', '--no-lr', '3']).message).toMatch(/unknown flag for weft train: --no-lr/);
    const e = err(['train', '--bidirectinal']);
    expect(e).toBeInstanceOf(OptionError);
    expect(e.option).toBe('--bidirectinal');
    expect(e.suggestion).toBe('--bidirectional');
  });

  it('column lists split on commas and spaces; delimiters by character or name', () => {
    expect(columnList(['a,b'])).toEqual(['a', 'b']);
    expect(columnList(['a', 'b'])).toEqual(['a', 'b']);
    expect(columnList(['a, b', 'c'])).toEqual(['a', 'b', 'c']);
    expect([';', 'tab', '\\t', '\t', 'Semicolon', 'pipe', 'auto', 'ab', '"'].map(delimiterOf)).toEqual([';', '\t', '\t', '\t', ';', '|', undefined, null, null]);
    expect(normalizeArgs({ inputs: ['x,y'], delimiter: 'tab', other: 1 })).toEqual({ inputs: ['x', 'y'], delimiter: '\t', other: 1 });
  });
});
