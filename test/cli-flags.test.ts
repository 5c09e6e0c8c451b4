/**
 * The command line itself: every bad flag is refused before any file is read, with a message
 * that names the flag as typed; misspelt flags and commands get "did you mean"; one exit-code
 * rule for every command (2 usage, 1 bad data or checkpoint); column lists with commas or
 * spaces; --delimiter for CSV; generate --greedy. The real binary, as a child process.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir('weft-flags-');
const ex = (f: string) => path.join(EXAMPLES, f);
/** A data file that does not exist: a flag error must come before anyone tries to read it. */
const missing = path.join(dir, 'never-read.jsonl');

/** Runs weft in a fresh empty directory; `created` lists what the run left there (a run directory, say). */
function inEmptyDir(args: string[]) {
  const cwd = tempDir('weft-flags-cwd-');
  const r = weft(args, { cwd });
  return { ...r, created: readdirSync(cwd) };
}

describe('weft train: a bad flag value is named before any data is read', () => {
  const cases: [string[], string][] = [
    [['--batch', '0'], '--batch must be a positive integer, got 0'],
    [['--epochs', 'abc'], '--epochs must be a positive integer, got "abc"'],
    [['--epochs', '-1'], '--epochs must be a positive integer, got -1'],
    [['--steps', '-1'], '--steps must be a positive integer, got -1'],
    [['--epochs=2.5'], '--epochs must be a positive integer, got 2.5'],
    [['--lr', '-1'], '--lr must be a number above 0, got -1'],
    [['--dropout', '1.5'], '--dropout must be a number in [0, 1), got 1.5'],
    [['--valid-fraction', '2'], '--valid-fraction must be a number in [0, 1), got 2'],
    [['--validFraction', '2'], '--validFraction must be a number in [0, 1), got 2'],
    [['--hidden', '0'], '--hidden must be a positive integer, got 0'],
    [['--workers', '0'], '--workers must be a positive integer, got 0'],
    [['--seed', 'abc'], '--seed must be an integer, got "abc"'],
    [['--max-len', '0'], '--max-len must be a positive integer, got 0'],
    [['--epochs'], '--epochs needs a value: a positive integer'],
    [['--epochs', '3', '--epochs', '4'], '--epochs was given twice (3, 4); give it once'],
    [['--cell', 'lstn'], '--cell must be one of rnn, lstm, gru, got "lstn" (did you mean lstm?)'],
    [['--momentum', '0.9'], '--momentum applies to --optimizer sgd or rmsprop, not adam'],
    [['--delimiter', 'ab'], '--delimiter must be one character'],
    [['--inputs', 'a,,b'], '--inputs must be column names, separated by commas or spaces, got "a,,b"'],
    [['--data', ''], '--data must be a non-empty text, got ""'],
  ];
  for (const [flags, message] of cases) {
    it(`${flags.join(' ')}`, () => {
      const data = flags.includes('--data') ? [] : ['--data', missing];
      const r = inEmptyDir(['train', '--task', 'classify', ...data, ...flags]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/never-read\.jsonl: no such file/);
      expect(r.stderr).not.toMatch(/options\.|optimizer\.|schedule|inputs\[/); // no internal names
      expect(r.created).toEqual([]); // no run directory
    });
  }

  it('the default task (no --data) fails as fast, with nothing created', () => {
    const r = inEmptyDir(['train', '--batch', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^weft: --batch must be a positive integer, got 0\n$/);
    expect(r.created).toEqual([]);
  });

  it('--workers above the core count is a warning line, before the data is read', () => {
    const n = availableParallelism() + 1;
    const r = inEmptyDir(['train', '--task', 'classify', '--data', missing, '--workers', String(n)]);
    expect(r.stderr).toContain(`warning: --workers ${n} is more than the ${availableParallelism()} cores`);
    expect(r.stderr.indexOf('warning')).toBeLessThan(r.stderr.indexOf('never-read.jsonl'));
    expect(r.code).toBe(1); // then the missing file: bad input
    // A run that trains says it once (the trainer's own warning is not repeated).
    const ok = weft(['train', '--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '4', '--layers', '1', '--steps', '1', '--workers', String(n), '--out', path.join(dir, 'many-workers')]);
    expect(ok.code).toBe(0);
    expect(ok.stderr.match(/warning/g)).toHaveLength(1);
  });
});

describe('misspelt flags and commands: did you mean', () => {
  it.each([
    [['train', '--epoch', '3'], '--epoch (did you mean --epochs?)'],
    [['train', '--hiden', '8'], '--hiden (did you mean --hidden?)'],
    [['generate', '--temprature', '0.5', '--model', 'm'], '--temprature (did you mean --temperature?)'],
    [['eval', '--modle', 'm', '--data', 'd'], '--modle (did you mean --model?)'],
    [['trian'], 'unknown command "trian" (did you mean train?)'],
  ])('%j', (args, message) => {
    const r = inEmptyDir(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.created).toEqual([]);
  });

  it('several misspellings are all named at once', () => {
    const r = inEmptyDir(['train', '--hiden', '8', '--epoch', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--hiden \(did you mean --hidden\?\), --epoch \(did you mean --epochs\?\)/);
  });
});

describe('one exit-code rule: 2 for the command line, 1 for the data or checkpoint', () => {
  let classify: string;
  beforeAll(() => {
    classify = path.join(dir, 'classify');
    const r = weft(['train', '--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '4', '--layers', '1', '--steps', '1', '--out', classify]);
    expect(r.code).toBe(0);
  });

  it('usage errors exit 2 on every command: missing required flags, unknown flags, bad values', () => {
    const usage: [string[], RegExp][] = [
      [['train', '--task', 'classify'], /--data is required/],
      [['eval', '--data', ex('classify.jsonl')], /--model is required/],
      [['eval', '--model', classify], /--data is required/],
      [['predict', '--text', 'x'], /--model is required/],
      [['predict', '--model', classify], /--text .*or --data/],
      [['generate'], /--model is required/],
      [['inspect'], /--model is required/],
      [['export'], /--model is required/],
      [['eval', '--model', classify, '--data', ex('classify.jsonl'), '--bogus'], /unknown flag for weft eval: --bogus/],
      [['predict', '--model', classify, '--text', 'x', '--epochs', '3'], /unknown flag for weft predict: --epochs/],
      [['generate', '--model', classify, '--length', '-5'], /--length must be a non-negative integer, got -5/],
      [['generate', '--model', classify, '--temperature', '-1'], /--temperature must be a number ≥ 0 \(0 = greedy\), got -1/],
      [['eval', '--model', classify, '--data', ex('classify.jsonl'), '--max-len', 'x'], /--max-len must be a positive integer, got "x"/],
    ];
    for (const [args, message] of usage) {
      const r = weft(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
  });

  it('bad input exits 1: a missing data file or checkpoint, a model of another kind', () => {
    const bad: [string[], RegExp][] = [
      [['train', '--task', 'classify', '--data', missing], /never-read\.jsonl: no such file/],
      [['eval', '--model', classify, '--data', missing], /never-read\.jsonl: no such file/],
      [['eval', '--model', path.join(dir, 'nope'), '--data', ex('classify.jsonl')], /nope: no such checkpoint/],
      [['predict', '--model', path.join(dir, 'nope'), '--text', 'x'], /nope: no such checkpoint/],
      [['generate', '--model', classify], /classify model.*language model/],
    ];
    for (const [args, message] of bad) {
      const r = weft(args);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toMatch(message);
    }
  });
});

describe('column lists and CSV delimiters', () => {
  it('--inputs a,b, --inputs a b and --inputs "a, b" name the same columns', () => {
    const base = ['train', '--task', 'regress', '--data', ex('regress.csv'), '--window', '4', '--targets', 'demand', '--hidden', '4', '--layers', '1', '--steps', '1'];
    for (const [i, inputs] of [['temperature,demand'], ['temperature', 'demand'], ['temperature, demand']].entries()) {
      const r = weft([...base, '--inputs', ...inputs, '--out', path.join(dir, `list${i}`)]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/inputs temperature, demand → targets demand/);
    }
  });

  it("--delimiter ';' reads a semicolon CSV; a wrong delimiter names the file, the delimiter and the fix", () => {
    const rows = readFileSync(ex('classify.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: string });
    const semi = path.join(dir, 'semicolon.csv');
    writeFileSync(semi, ['text;label', ...rows.map((r) => `"${r.text.replace(/"/g, '""')}";${r.label}`)].join('\n') + '\n');
    const args = ['train', '--task', 'classify', '--data', semi, '--hidden', '4', '--layers', '1', '--steps', '1'];
    const ok = weft([...args, '--delimiter', ';', '--out', path.join(dir, 'semi'), '--json']);
    expect(ok.code).toBe(0);
    const guessed = weft([...args, '--out', path.join(dir, 'semi-guessed')]);
    expect(guessed.code).toBe(0);
    expect(guessed.stdout).toContain(`semicolon.csv: ${rows.length} examples`);
    const wrong = weft([...args, '--delimiter', ',', '--out', path.join(dir, 'semi-wrong')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/semicolon\.csv:\d+: .*Split on ',' the header is one column: is the file ';'-separated\? Give --delimiter ';'/);
    expect(existsSync(path.join(dir, 'semi-wrong'))).toBe(false);
    // A file whose rows read as one column too: the missing column is named, with the same advice.
    const plain = path.join(dir, 'plain.csv');
    writeFileSync(plain, 'text;label\nhola amigo;es\nhello friend;en\n');
    const col = weft(['train', '--task', 'classify', '--data', plain, '--delimiter', ',']);
    expect(col.code).toBe(1);
    expect(col.stderr).toContain(`plain.csv:1: no column "text" (--text-column); the header has: text;label. Split on ',' the header is one column: is the file ';'-separated? Give --delimiter ';'`);
    // Evaluation reads the file with its own delimiter too.
    const ev = weft(['eval', '--model', path.join(dir, 'semi'), '--data', semi, '--delimiter', 'semicolon', '--json']);
    expect(ev.code).toBe(0);
    expect(ev.json.metrics.count).toBe(rows.length);
  });
});

describe('weft generate --greedy', () => {
  let lm: string;
  beforeAll(() => {
    lm = path.join(dir, 'lm');
    const r = weft(['train', '--task', 'lm', '--data', ex('lm.txt'), '--hidden', '16', '--layers', '1', '--seq-len', '16', '--batch', '4', '--steps', '30', '--out', lm]);
    expect(r.code).toBe(0);
  });
  const gen = (...flags: string[]) => {
    const r = weft(['generate', '--model', lm, '--prime', 'The ', '--length', '40', ...flags, '--json']);
    expect(r.code).toBe(0);
    return r.json.text as string;
  };

  it('takes the most likely character: the same text for any seed, equal to --temperature 0 and to sampling almost without temperature', () => {
    const greedy = gen('--greedy', '--seed', '1');
    expect(greedy).toHaveLength(40);
    expect(gen('--greedy', '--seed', '2')).toBe(greedy);
    expect(gen('--temperature', '0', '--seed', '3')).toBe(greedy);
    // Sampling at a tiny temperature picks the argmax too (another path through the code) ...
    expect(gen('--temperature', '0.001', '--seed', '4')).toBe(greedy);
    // ... while sampling at temperature 1 depends on the seed.
    expect(gen('--temperature', '1', '--seed', '1')).not.toBe(gen('--temperature', '1', '--seed', '2'));
  });

  it('warns about prime characters the model never saw, and reports them in --json', () => {
    const r = weft(['generate', '--model', lm, '--prime', 'The ☃', '--length', '5', '--greedy', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning: 1 of 5 characters not in the model's vocabulary (☃ ×1)");
    expect(r.json.unknown).toEqual({ count: 1, total: 5, unit: 'characters', examples: [{ symbol: '☃', count: 1 }] });
    const known = weft(['generate', '--model', lm, '--prime', 'The ', '--length', '5', '--greedy', '--json']);
    expect(known.stderr).not.toContain('warning');
    expect(known.json.unknown.count).toBe(0);
  });

  it('--greedy with a temperature or top-k of its own is a usage error', () => {
    const r = weft(['generate', '--model', lm, '--greedy', '--temperature', '0.7']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--temperature cannot be given with --greedy/);
  });
});
