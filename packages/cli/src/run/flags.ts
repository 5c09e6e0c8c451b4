/**
 * Every flag of every command checked in one place, before a file is read: its name (a misspelt
 * flag gets "did you mean"), its value (range, choice, present, given once), the required flags
 * and the flags that go together or exclude each other. The checks read the command line as
 * typed, so a message names the flag and quotes the value the way the user wrote them
 * (`--epochs must be a positive integer, got "abc"`), not yargs' NaN or an option name inside
 * weft. Each failure is an OptionError, a usage error (exit 2, run/errors.ts).
 *
 * yargs parses the command line afterwards; what it hands a command is then normalised here
 * (normalizeArgs): column lists split on commas, delimiter names turned into the character.
 */
import { availableParallelism } from 'node:os';
import { MAX_LAYERS, OptionError, closest, isThreshold } from '@weft/core';
import { TASKS, type TaskName } from './task.js';

/** What a command's yargs builder declared: its flags (kebab-case), which are booleans or lists, and choices. */
export interface FlagSpec {
  names: ReadonlySet<string>;
  booleans: ReadonlySet<string>;
  arrays: ReadonlySet<string>;
  choices: ReadonlyMap<string, readonly string[]>;
}

/**
 * What flagSpecOf reads of a yargs instance: its own record of the declared options (public in
 * yargs 18, absent from @types/yargs 17). Typed here, so weft's published typings do not
 * depend on yargs' (an app type-checking against @weft/cli needs no @types/yargs).
 */
export interface DeclaredOptions {
  getOptions(): { key: Record<string, unknown>; boolean: string[]; array: string[]; choices: Record<string, unknown[]> };
}

/** The FlagSpec of a yargs instance after its builders ran. */
export function flagSpecOf(y: DeclaredOptions): FlagSpec {
  const o = y.getOptions();
  return {
    names: new Set(Object.keys(o.key)),
    booleans: new Set(o.boolean),
    arrays: new Set(o.array),
    choices: new Map(Object.entries(o.choices).map(([k, v]) => [k, v.map(String)])),
  };
}

/** How a flag's value is checked: what is expected, in words, and the test of the typed text. */
interface Rule {
  expect: string;
  ok: (typed: string) => boolean;
}

const number = (expect: string, test: (x: number) => boolean): Rule => ({ expect, ok: (s) => s.trim() !== '' && test(Number(s)) });
const POSITIVE_INT = number('a positive integer', (x) => Number.isSafeInteger(x) && x >= 1);
const nonNegativeInt = (note = ''): Rule => number(`a non-negative integer${note}`, (x) => Number.isSafeInteger(x) && x >= 0);
const INTEGER = number('an integer', Number.isSafeInteger);
/** The depth of a stack: core's MAX_LAYERS bounds it (deeper ones take minutes per step, and the memory with them). */
const LAYERS = number(`an integer from 1 to ${MAX_LAYERS} (the deepest stack weft builds)`, (x) => Number.isSafeInteger(x) && x >= 1 && x <= MAX_LAYERS);
const POSITIVE = number('a number above 0', (x) => Number.isFinite(x) && x > 0);
const nonNegative = (note = ''): Rule => number(`a number ≥ 0${note}`, (x) => Number.isFinite(x) && x >= 0);
const FRACTION = number('a number in [0, 1)', (x) => x >= 0 && x < 1);
const TEXT: Rule = { expect: 'a non-empty text', ok: (s) => s.trim() !== '' };
const COLUMNS: Rule = { expect: 'column names, separated by commas or spaces', ok: (s) => s.split(',').every((n) => n.trim() !== '') };
const THRESHOLD = number('a probability between 0 and 1 (exclusive)', isThreshold);
const DELIMITER: Rule = { expect: "one character (e.g. ';'), or tab, comma, semicolon, pipe or auto", ok: (s) => delimiterOf(s) !== null };

const NAMED_DELIMITERS: Record<string, string> = { comma: ',', semicolon: ';', tab: '\t', '\\t': '\t', pipe: '|' };

/** The character a --delimiter value stands for; undefined for auto (guess from the header); null if not a delimiter. */
export function delimiterOf(s: string): string | undefined | null {
  if (s === 'auto') return undefined;
  const named = NAMED_DELIMITERS[s.toLowerCase()];
  if (named !== undefined) return named;
  return [...s].length === 1 && !'"\n\r'.includes(s) ? s : null;
}

/** `--inputs a,b`, `--inputs a b` and `--inputs "a, b"` all name the columns a and b. */
export function columnList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((n) => n.trim()).filter((n) => n !== '');
}

const DATA_RULES: Record<string, Rule> = { data: TEXT, 'text-column': TEXT, 'label-column': TEXT, 'max-len': POSITIVE_INT, delimiter: DELIMITER };

/** The value rules of each command's flags (kebab-case names); flags not listed are free text, booleans or choices. */
export const RULES: Record<string, Record<string, Rule>> = {
  train: {
    ...DATA_RULES, valid: TEXT, 'valid-fraction': FRACTION, 'seq-len': POSITIVE_INT, window: POSITIVE_INT, horizon: nonNegativeInt(),
    inputs: COLUMNS, targets: COLUMNS, hidden: POSITIVE_INT, layers: LAYERS, dropout: FRACTION, 'input-dropout': FRACTION,
    'recurrent-dropout': FRACTION, embedding: nonNegativeInt(' (0 = one-hot)'), lr: POSITIVE, momentum: FRACTION,
    'weight-decay': nonNegative(), warmup: nonNegativeInt(), 'lr-step': POSITIVE_INT, 'lr-gamma': POSITIVE, 'min-lr': nonNegative(),
    'clip-norm': nonNegative(' (0 = off)'), 'clip-value': nonNegative(' (0 = off)'), batch: POSITIVE_INT, 'shard-size': POSITIVE_INT,
    epochs: POSITIVE_INT, steps: POSITIVE_INT, patience: POSITIVE_INT, workers: POSITIVE_INT, seed: INTEGER, out: TEXT, resume: TEXT,
    'model-spec': TEXT, 'class-weights': { expect: 'auto or a JSON file of weights by label', ok: TEXT.ok }, 'label-smoothing': FRACTION, 'huber-delta': POSITIVE,
  },
  eval: { ...DATA_RULES, model: TEXT, threshold: THRESHOLD },
  predict: { model: TEXT, text: TEXT, data: TEXT, 'text-column': TEXT, delimiter: DELIMITER, forecast: POSITIVE_INT, threshold: THRESHOLD },
  generate: { model: TEXT, length: nonNegativeInt(), temperature: nonNegative(' (0 = greedy)'), 'top-k': nonNegativeInt(' (0 = all)'), seed: INTEGER },
  inspect: { model: TEXT },
  export: { model: TEXT, out: TEXT },
  import: { out: TEXT },
  bench: { workload: TEXT, workers: POSITIVE_INT, steps: POSITIVE_INT, warmup: nonNegativeInt(), seconds: nonNegative() },
};

const MODEL = 'a checkpoint (model.weft) or the run directory that holds it';
/** Flags a command cannot run without, and what they name. */
const REQUIRED: Record<string, [string, string][]> = {
  eval: [['model', MODEL], ['data', 'the labelled file to evaluate on']],
  predict: [['model', MODEL]],
  generate: [['model', MODEL]],
  inspect: [['model', MODEL]],
  export: [['model', MODEL]],
};

/** The words a command takes besides flags, in order, and what each names (all required). */
const POSITIONALS: Record<string, [string, string][]> = {
  import: [['DIR', 'the directory that weft export --format pytorch wrote (meta.json, model.safetensors)']],
};

/** What may be given with --resume: how long to go on, where, and how (never what to train). */
export const RESUME_FLAGS = ['resume', 'epochs', 'steps', 'patience', 'keep-last', 'out', 'force', 'workers', 'kernels', 'json', 'quiet'];

/** A word that is neither a flag nor a flag's value, and the flag it followed. */
interface Positional {
  word: string;
  after?: { text: string; takesValue: boolean };
}

/** One flag as it appears on the command line. */
interface Given {
  /** As typed, without a value: `--validFraction`, `--no-bidirectional`. */
  typed: string;
  /** The values typed after it (`--x=v` or the next tokens); none for a bare boolean. */
  values: string[];
}

const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const isFlag = (t: string): boolean => /^--./.test(t) || /^-[^\d.]/.test(t);
/** A typed value in a message: numbers as typed, anything else quoted. */
const show = (s: string): string => (s.trim() !== '' && !Number.isNaN(Number(s)) ? s : JSON.stringify(s));

/**
 * Reads the command line the way yargs will, into the flags given (by kebab-case name, every
 * occurrence) and the positional words. Unknown flags are refused here, with the closest flag.
 */
function readArgv(command: string, argv: readonly string[], spec: FlagSpec): { flags: Map<string, Given[]>; positional: Positional[] } {
  const flags = new Map<string, Given[]>();
  const positional: Positional[] = [];
  const unknown: { typed: string; suggestion?: string }[] = [];
  let last: Positional['after'];
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i]!;
    if (t === '--') break;
    if (!isFlag(t)) {
      positional.push({ word: t, after: last });
      last = undefined;
      continue;
    }
    if (!t.startsWith('--')) continue; // a short flag: yargs declares none here but -h, and reports the rest
    const eq = t.indexOf('=');
    const typed = eq < 0 ? t : t.slice(0, eq);
    let name = kebab(typed.slice(2));
    let negated = false;
    if (!spec.names.has(name) && name.startsWith('no-') && spec.booleans.has(name.slice(3))) {
      name = name.slice(3);
      negated = true;
    }
    if (!spec.names.has(name)) {
      const suggestion = closest(name, spec.names);
      unknown.push({ typed, suggestion: suggestion && `--${suggestion}` });
      // Skip its value(s) too, so they are not reported as stray words.
      if (eq < 0) while (i + 1 < argv.length && !isFlag(argv[i + 1]!)) i++;
      last = undefined;
      continue;
    }
    const values: string[] = [];
    if (eq >= 0) values.push(t.slice(eq + 1));
    else if (negated) { /* --no-x takes no value */ }
    else if (spec.booleans.has(name)) {
      if (argv[i + 1] === 'true' || argv[i + 1] === 'false') values.push(argv[++i]!);
    } else if (spec.arrays.has(name)) {
      while (i + 1 < argv.length && !isFlag(argv[i + 1]!)) values.push(argv[++i]!);
    } else if (i + 1 < argv.length && !isFlag(argv[i + 1]!)) values.push(argv[++i]!);
    const list = flags.get(name) ?? [];
    list.push({ typed, values });
    flags.set(name, list);
    last = { text: `${typed}${values.length ? ` ${values.join(' ')}` : ''}`, takesValue: !spec.booleans.has(name) };
  }
  if (unknown.length) {
    const what = unknown.map((u) => `${u.typed}${u.suggestion ? ` (did you mean ${u.suggestion}?)` : ''}`).join(', ');
    const msg = `${unknown.length === 1 ? 'unknown flag' : 'unknown flags'} for weft ${command}: ${what}. 'weft ${command} --help' lists the flags`;
    throw new OptionError(msg, unknown[0]!.typed, unknown[0]!.suggestion);
  }
  return { flags, positional };
}

/**
 * Checks a command line of `command` against its spec and RULES before anything runs; throws
 * OptionError for the first problem, returns the warnings to print (a flag that is allowed but
 * probably not what was meant).
 */
export function checkFlags(command: string, argv: readonly string[], spec: FlagSpec): string[] {
  const { flags, positional } = readArgv(command, argv, spec);
  const words = positional.filter((p) => p.word !== command);
  const wanted = POSITIONALS[command] ?? [];
  const stray = words.slice(wanted.length);
  if (stray.length) {
    const p = stray[0]!;
    const hint = !p.after ? (wanted.length ? `: weft ${command} takes ${wanted.map(([n]) => n).join(' ')} and flags only` : `: weft ${command} takes only flags`)
      : p.after.takesValue ? ` after ${p.after.text}: put quotes around a value with spaces`
      : ` after ${p.after.text}, which takes no value`;
    throw new OptionError(`unexpected ${JSON.stringify(p.word)}${hint}`, p.word);
  }
  const rules = RULES[command] ?? {};
  for (const [name, list] of flags) {
    const first = list[0]!;
    if (list.length > 1 && !spec.arrays.has(name)) {
      throw new OptionError(`${first.typed} was given ${list.length === 2 ? "twice" : `${list.length} times`} (${list.map((g) => g.values.map(show).join(' ') || '(no value)').join(', ')}); give it once`, first.typed);
    }
    if (spec.booleans.has(name)) continue;
    const rule = rules[name];
    for (const g of list) {
      const choices = spec.choices.get(name);
      if (g.values.length === 0) {
        const expect = choices ? `one of ${choices.join(', ')}` : rule?.expect ?? 'a value';
        throw new OptionError(`${g.typed} needs a value: ${expect}`, g.typed);
      }
      for (const v of g.values) {
        if (choices && !choices.includes(v)) {
          const near = closest(v, choices);
          throw new OptionError(`${g.typed} must be one of ${choices.join(', ')}, got ${show(v)}${near ? ` (did you mean ${near}?)` : ''}`, g.typed, near);
        }
        if (rule && !rule.ok(v)) throw new OptionError(`${g.typed} must be ${rule.expect}, got ${show(v)}`, g.typed);
      }
    }
  }
  if (words.length < wanted.length) {
    const [name, what] = wanted[words.length]!;
    throw new OptionError(`weft ${command} needs ${name}: ${what}`, name);
  }
  for (const [name, what] of REQUIRED[command] ?? []) {
    if (!flags.has(name)) throw new OptionError(`--${name} is required: ${what}`, `--${name}`);
  }
  return CROSS[command]?.(flags) ?? [];
}

/** The flags of a command that depend on each other; returns warnings. */
const CROSS: Record<string, (flags: Map<string, Given[]>) => string[]> = {
  train(flags) {
    const typed = (name: string) => flags.get(name)?.[0]?.typed;
    const value = (name: string) => flags.get(name)?.[0]?.values[0];
    if (flags.has('resume')) {
      const bad = [...flags.keys()].find((k) => !RESUME_FLAGS.includes(k));
      if (bad !== undefined) {
        throw new OptionError(`${typed(bad)} cannot be given with --resume: a resumed run keeps the settings and data of its checkpoint; with --resume only ${RESUME_FLAGS.filter((k) => k !== 'resume').map((k) => `--${k}`).join(', ')} may be given`, typed(bad)!);
      }
    }
    taskFlags(flags);
    const optimizer = value('optimizer') ?? 'adam';
    if (flags.has('momentum') && optimizer !== 'sgd' && optimizer !== 'rmsprop') {
      throw new OptionError(`${typed('momentum')} applies to --optimizer sgd or rmsprop, not ${optimizer}`, typed('momentum')!);
    }
    for (const k of ['lr-step', 'lr-gamma']) {
      if (flags.has(k) && value('schedule') !== 'step') throw new OptionError(`${typed(k)} applies to --schedule step only`, typed(k)!);
    }
    if (flags.has('min-lr') && flags.has('lr') && Number(value('min-lr')) > Number(value('lr'))) {
      throw new OptionError(`${typed('min-lr')} must not be above --lr (${value('lr')}), got ${value('min-lr')}`, typed('min-lr')!);
    }
    if (flags.has('patience') && !flags.has('valid') && flags.has('valid-fraction') && Number(value('valid-fraction')) === 0) {
      throw new OptionError(`${typed('patience')} needs validation data: --valid FILE, or --valid-fraction above 0`, typed('patience')!);
    }
    return workersWarning(flags);
  },
  predict(flags) {
    if (!flags.has('text') && !flags.has('data')) throw new OptionError('give the inputs with --text "..." (repeatable) or --data FILE', '--text');
    if (flags.has('text') && flags.has('data')) throw new OptionError('give the inputs with --text or with --data, not both', '--text');
    return [];
  },
  generate(flags) {
    if (flags.has('greedy')) {
      for (const k of ['temperature', 'top-k']) {
        const g = flags.get(k)?.[0];
        if (g && Number(g.values[0]) !== 0) throw new OptionError(`${g.typed} cannot be given with --greedy, which always takes the most likely character`, g.typed);
      }
    }
    return [];
  },
  bench: workersWarning,
};

/** The model flags of the model spec's, refused where they do not apply. */
const MODEL_FLAGS = ['cell', 'hidden', 'layers', 'bidirectional', 'nonlinearity', 'dropout', 'input-dropout', 'recurrent-dropout', 'embedding', 'pooling',
  'class-weights', 'label-smoothing', 'loss', 'huber-delta', 'tie-weights'];

/** The data flags of `weft train` and the tasks that read them (run/task.ts's loaders); the others take none. */
const DATA_FLAG_TASKS: Record<string, readonly string[]> = {
  data: ['classify', 'multilabel', 'tag', 'lm', 'regress'],
  'text-column': ['classify', 'multilabel'],
  'label-column': ['classify', 'multilabel'],
  'max-len': ['classify', 'multilabel', 'tag'],
  lowercase: ['classify', 'multilabel', 'tag'],
  delimiter: ['classify', 'regress'],
  'seq-len': ['lm'],
  window: ['regress'],
  horizon: ['regress'],
  inputs: ['regress'],
  targets: ['regress'],
  'per-step': ['regress'],
};

/** The names task brings its own training data; its --valid FILE is read as classify data, with these. */
const NAMES_VALID_FLAGS = ['text-column', 'label-column', 'max-len', 'delimiter'];

/** Data and model flags that the run's task does not read are refused, not ignored. */
function taskFlags(flags: Map<string, Given[]>): void {
  const typed = (name: string) => flags.get(name)?.[0]?.typed;
  const value = (name: string) => flags.get(name)?.[0]?.values[0];
  // The task as train.ts resolves it: --task, else lm for a .txt file, names without --data.
  const data = value('data');
  const task = value('task') ?? (data === undefined ? 'names' : data.endsWith('.txt') ? 'lm' : undefined);
  const only = (name: string, tasks: readonly string[], ok = flags.has(name)) => {
    if (ok && task !== undefined && !tasks.includes(task)) {
      throw new OptionError(`${typed(name)}${name === 'pooling' || name === 'loss' ? ` ${value(name)}` : ''} applies to --task ${tasks.join(', ')}, not ${task}` +
        (name === 'data' ? ' (the names task brings its own data)' : task === 'names' && NAMES_VALID_FLAGS.includes(name) ? ' (with names, only to read a --valid file)' : ''), typed(name)!);
    }
  };
  if (flags.has('valid') && flags.has('valid-fraction')) {
    throw new OptionError(`${typed('valid-fraction')} cannot be given with --valid: the --valid file is the validation data`, typed('valid-fraction')!);
  }
  const validNames = task === 'names' && flags.has('valid');
  // A switch turned off (--no-lowercase, --tie-weights false) asks for nothing, so it is not refused.
  const on = (name: string) => flags.has(name) && value(name) !== 'false' && !typed(name)!.startsWith('--no-');
  for (const [name, tasks] of Object.entries(DATA_FLAG_TASKS)) {
    only(name, validNames && NAMES_VALID_FLAGS.includes(name) ? [...tasks, 'names'] : tasks, name === 'lowercase' || name === 'per-step' ? on(name) : flags.has(name));
  }
  if (flags.has('model-spec')) {
    const bad = MODEL_FLAGS.find((k) => flags.has(k));
    if (bad) throw new OptionError(`${typed(bad)} cannot be given with --model-spec: the spec file says what the model is (docs/model-spec.md)`, typed(bad)!);
    return;
  }
  if (flags.has('huber-delta') && value('loss') !== 'huber') throw new OptionError(`${typed('huber-delta')} applies to --loss huber only`, typed('huber-delta')!);
  if (task === undefined) return; // train.ts asks for --task
  only('class-weights', ['classify', 'tag', 'names']);
  only('label-smoothing', ['classify', 'tag', 'names']);
  only('loss', ['regress'], value('loss') === 'huber');
  only('tie-weights', ['lm'], on('tie-weights'));
  only('pooling', ['classify', 'multilabel', 'regress', 'names'], value('pooling') === 'attention' || value('pooling') === 'max');
}

function workersWarning(flags: Map<string, Given[]>): string[] {
  const cores = availableParallelism();
  const g = flags.get('workers')?.[0];
  const most = Math.max(...(flags.get('workers') ?? []).flatMap((x) => x.values.map(Number)));
  return g && most > cores ? [`${g.typed} ${most} is more than the ${cores} cores of this machine: the extra workers share cores and slow each step down`] : [];
}

/**
 * A run's data flags as its checkpoint stores them (camelCase keys, values as parsed: numbers,
 * column lists, the delimiter's character), checked by the rules of the flags they came from,
 * so a stored `--batch 0` is refused as a typed one is. The first problem, as
 * `batch must be a positive integer, got 0`; undefined when there is none.
 */
export function storedFlagsProblem(flags: Record<string, unknown>): string | undefined {
  for (const [key, v] of Object.entries(flags)) {
    const name = kebab(key);
    if (name === 'task') {
      if (!TASKS.includes(v as TaskName)) return `${key} must be one of ${TASKS.join(', ')}, got ${JSON.stringify(v)}`;
      continue;
    }
    if (name === 'lowercase' || name === 'per-step') {
      if (typeof v !== 'boolean') return `${key} must be true or false, got ${JSON.stringify(v)}`;
      continue;
    }
    const rule = RULES.train![name];
    if (!rule || name === 'resume' || name === 'out') return `${key} is not a data flag of weft train`;
    const values = Array.isArray(v) && (name === 'inputs' || name === 'targets') ? v : [v];
    for (const x of values) {
      if ((typeof x !== 'string' && typeof x !== 'number') || !rule.ok(String(x))) return `${key} must be ${rule.expect}, got ${JSON.stringify(x)}`;
    }
  }
  return undefined;
}

/** The parsed flags a command gets, with column lists split and the delimiter as its character. */
export function normalizeArgs<T extends Record<string, unknown>>(args: T): T {
  const out: Record<string, unknown> = { ...args };
  for (const k of ['inputs', 'targets']) if (Array.isArray(out[k])) out[k] = columnList((out[k] as unknown[]).map(String));
  if (typeof out.delimiter === 'string') out.delimiter = delimiterOf(out.delimiter) ?? undefined;
  return out as T;
}
