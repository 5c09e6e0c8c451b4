/**
 * The `weft` command line: one yargs program, a module per command under commands/. The flags
 * of a command line are checked before anything is read (run/flags.ts). Errors become one
 * paragraph on stderr and an exit code (run/errors.ts); --json makes the last stdout line the
 * command's result as one JSON object.
 */
import yargs, { type Argv } from 'yargs';
import { KERNEL_CHOICES, OptionError, closest } from '@weft/core';
import { describeFailure, EXIT, UsageError } from './run/errors.js';
import { checkFlags, flagSpecOf, normalizeArgs, type DeclaredOptions, type FlagSpec } from './run/flags.js';
import { Output, streamFailure, watchStream } from './run/output.js';
import { TASKS } from './run/task.js';
import { trainCommand, type TrainArgs } from './commands/train.js';
import { evalCommand, type EvalArgs } from './commands/evaluate.js';
import { predictCommand, type PredictArgs } from './commands/predict.js';
import { generateCommand, type GenerateArgs } from './commands/generate.js';
import { inspectCommand } from './commands/inspect.js';
import { EXPORT_FORMATS, exportCommand, type ExportArgs } from './commands/export.js';
import { importCommand, type ImportArgs } from './commands/import.js';
import { VERSION } from './run/version.js';
import { benchCommand, type BenchArgs } from './commands/bench.js';

const KERNELS = KERNEL_CHOICES;
const DELIMITER_HELP = "CSV field delimiter: one character (';'), or tab, comma, semicolon, pipe (default auto: guessed from the header)";

function dataOptions(y: Argv): Argv {
  return y
    .option('data', { type: 'string', describe: 'Data file (JSONL, CSV or text, by task)' })
    .option('text-column', { type: 'string', describe: 'classify, multilabel: JSONL field / CSV column with the text (default "text")' })
    .option('label-column', { type: 'string', describe: 'classify: JSONL field / CSV column with the label (default "label"); multilabel: JSONL field with the array of labels (default "labels")' })
    .option('max-len', { type: 'number', describe: 'Longest sequence accepted; a longer one is an error' })
    .option('delimiter', { type: 'string', describe: DELIMITER_HELP });
}

function trainOptions(y: Argv): Argv {
  return dataOptions(y)
    .option('task', { type: 'string', choices: TASKS, describe: 'names (the default, no --data), classify, multilabel (JSONL rows with a "labels" array), tag, lm or regress' })
    .option('valid', { type: 'string', describe: 'Validation file (instead of a split of --data)' })
    .option('valid-fraction', { type: 'number', default: 0.1, describe: 'Fraction of the data held out for validation (0 = none)' })
    .option('lowercase', { type: 'boolean', describe: 'Lowercase texts before encoding (classify, multilabel, tag)' })
    .option('seq-len', { type: 'number', describe: 'lm: steps per window of truncated BPTT (default 64)' })
    .option('window', { type: 'number', describe: 'regress: rows per input sequence' })
    .option('horizon', { type: 'number', describe: 'regress: rows ahead to predict (default 1)' })
    .option('inputs', { type: 'string', array: true, describe: 'regress: input columns, separated by commas or spaces (default: every column; name them when the file also has a date or text column)' })
    .option('targets', { type: 'string', array: true, describe: 'regress: target columns, separated by commas or spaces (default: the inputs)' })
    .option('per-step', { type: 'boolean', describe: 'regress: predict at every step, not only after the window' })
    .option('cell', { choices: ['rnn', 'lstm', 'gru'] as const, default: 'lstm' as const, describe: 'Recurrent cell' })
    .option('hidden', { type: 'number', describe: 'Hidden units per direction (default 64; names 96)' })
    .option('layers', { type: 'number', default: 2, describe: 'Stacked layers' })
    .option('bidirectional', { type: 'boolean', describe: 'Read sequences both ways (default: yes for classify/multilabel/tag/names, no for lm/regress)' })
    .option('nonlinearity', { choices: ['tanh', 'relu'] as const, default: 'tanh' as const, describe: 'rnn cell activation' })
    .option('dropout', { type: 'number', describe: 'Dropout between layers (PyTorch, Zaremba et al.) (default 0; names 0.3)' })
    .option('input-dropout', { type: 'number', default: 0, describe: 'Variational dropout on each layer input (Keras dropout)' })
    .option('recurrent-dropout', { type: 'number', describe: 'Variational dropout on the state passed to the next step (Keras recurrent_dropout) (default 0; names 0.2)' })
    .option('embedding', { type: 'number', describe: 'Embedding size for token inputs (0 = one-hot; default one-hot up to 128 symbols, 64 above; names 16)' })
    .option('pooling', { choices: ['last', 'mean', 'max', 'attention'] as const, default: 'last' as const, describe: 'classify/multilabel/regress/names: final states, mean or max of the outputs, or additive attention over them' })
    .option('class-weights', { type: 'string', describe: 'classify/tag/names: weight of each class in the loss: auto (inverse class frequency in the training split, mean 1) or a JSON file { "label": weight }' })
    .option('label-smoothing', { type: 'number', describe: 'classify/tag/names: label smoothing of the cross-entropy, in [0, 1)' })
    .option('loss', { choices: ['mse', 'huber'] as const, describe: 'regress: the loss (default mse)' })
    .option('huber-delta', { type: 'number', describe: '--loss huber: where the loss turns from squared to linear (default 1)' })
    .option('tie-weights', { type: 'boolean', describe: 'lm: the output layer shares the embedding\'s weight (needs --embedding equal to --hidden)' })
    .option('model-spec', { type: 'string', describe: 'Train this model spec (JSON file, docs/model-spec.md) instead of the model flags; input and the head\'s outputSize come from the data when left out' })
    .option('optimizer', { choices: ['sgd', 'adam', 'adamw', 'rmsprop'] as const, default: 'adam' as const })
    .option('lr', { type: 'number', describe: 'Learning rate (default 3e-3; names 6e-3)' })
    .option('momentum', { type: 'number', describe: 'sgd/rmsprop momentum' })
    .option('weight-decay', { type: 'number', describe: 'Weight decay (L2 for sgd/adam/rmsprop, decoupled for adamw)' })
    .option('schedule', { choices: ['constant', 'step', 'cosine', 'linear'] as const, describe: 'Learning-rate schedule (default constant; names cosine)' })
    .option('warmup', { type: 'number', default: 0, describe: 'Linear warm-up steps' })
    .option('lr-step', { type: 'number', describe: "--schedule step: steps between decays (default: one epoch)" })
    .option('lr-gamma', { type: 'number', describe: '--schedule step: decay factor (default 0.1)' })
    .option('min-lr', { type: 'number', describe: '--schedule cosine/linear: final learning rate (default 0)' })
    .option('clip-norm', { type: 'number', default: 1, describe: 'Clip the global gradient norm (0 = off)' })
    .option('clip-value', { type: 'number', default: 0, describe: 'Clip each gradient element (0 = off)' })
    .option('batch', { type: 'number', describe: 'Sequences per batch (lm: parallel streams) (default 32; lm 16)' })
    .option('shard-size', { type: 'number', describe: 'Sequences per shard (default: the batch in at most 16 shards); fixes the result, the worker count does not' })
    .option('epochs', { type: 'number', describe: 'Epochs (default: names 14, classify 20, multilabel 20, tag 20, lm 10, regress 30)' })
    .option('steps', { type: 'number', describe: 'Stop after this many steps in all' })
    .option('patience', { type: 'number', describe: 'Early stopping: epochs without a better validation loss' })
    .option('workers', { type: 'number', describe: 'Worker threads (default: the cores, at most one per shard of a batch)' })
    .option('seed', { type: 'number', default: 0, describe: 'Seed of initialisation, split, data order and dropout' })
    .option('out', { type: 'string', describe: 'Run directory (default runs/<task>; model.weft inside)' })
    .option('force', { type: 'boolean', describe: 'Replace a run already in --out (once this run has saved its first checkpoint)' })
    .option('keep-last', { type: 'boolean', describe: "Leave the last epoch's weights in model.weft, not the best epoch's" })
    .option('resume', { type: 'string', describe: 'Continue a run exactly: its run directory (its last.weft) or a checkpoint' });
}

function modelOption(y: Argv): Argv {
  return y.option('model', { type: 'string', describe: 'A checkpoint (model.weft) or its run directory' });
}

interface CommandDef {
  name: string;
  /** How yargs knows it: the name and its positional arguments (`import <dir>`). */
  usage: string;
  describe: string;
  builder: (y: Argv) => Argv;
  /** Runs the command on its parsed flags (yargs' keys, camelCase too; normalised by run/flags.ts). */
  handler: (args: Record<string, unknown>, out: Output) => Promise<number>;
}

function command<T>(name: string, describe: string, builder: (y: Argv) => Argv, handler: (a: T, out: Output) => Promise<number>, usage = name): CommandDef {
  return { name, usage, describe, builder, handler: (args, out) => handler(args as T, out) };
}

const COMMANDS: CommandDef[] = [
  command<TrainArgs>('train', 'Train a model (with no options: the English first-names classifier)', trainOptions, trainCommand),
  command<EvalArgs>('eval', 'Loss, accuracy, per-class precision/recall and confusion matrix on a labelled file (multilabel: per-label, micro and macro F1, exact match, Hamming loss)', (y) => modelOption(dataOptions(y))
    .option('threshold', { type: 'number', describe: 'multilabel: a label counts as predicted from this probability (default 0.5)' }), evalCommand),
  command<PredictArgs>('predict', 'Labels, tags or values for new inputs', (y) => modelOption(y)
    .option('text', { type: 'string', array: true, describe: 'An input (repeatable)' })
    .option('data', { type: 'string', describe: 'A file of inputs: JSONL, one per line, or CSV (regress)' })
    .option('text-column', { type: 'string', describe: 'JSONL field with the text (default "text")' })
    .option('delimiter', { type: 'string', describe: DELIMITER_HELP })
    .option('forecast', { type: 'number', describe: 'regress: continue N rows past the last row of --data, each prediction fed back as input' })
    .option('threshold', { type: 'number', describe: 'multilabel: give every label of at least this probability (default 0.5); --json has every label\'s probability' }), predictCommand),
  command<GenerateArgs>('generate', 'Sample text from a character language model', (y) => modelOption(y)
    .option('prime', { type: 'string', default: '', describe: 'Text to start from' })
    .option('length', { type: 'number', default: 200, describe: 'Characters to generate' })
    .option('temperature', { type: 'number', default: 1, describe: 'Below 1: safer; above 1: wilder; 0: greedy' })
    .option('top-k', { type: 'number', default: 0, describe: 'Sample among the k most likely characters only (0 = all)' })
    .option('greedy', { type: 'boolean', describe: 'Always take the most likely character (the same as --temperature 0)' })
    .option('seed', { type: 'number', default: 0 }), generateCommand),
  command('inspect', 'Config, parameter table (PyTorch names, shapes), count and SHA-256 of a checkpoint', modelOption, inspectCommand),
  command<ExportArgs>('export', 'Write the model for another engine: its weights as safetensors with PyTorch names, a directory to run and train it in PyTorch, or an ONNX model for deployment', (y) => modelOption(y)
    .option('format', { choices: EXPORT_FORMATS, default: 'safetensors', describe: 'safetensors: the weights; pytorch: a directory with the weights, meta.json, weft_model.py (nn.Module) and train_ddp.py (torchrun) (docs/scale.md); onnx: the model for deployment (opset 17, docs/onnx.md)' })
    .option('out', { type: 'string', describe: 'Output file (safetensors, onnx; default: model.safetensors or model.onnx beside the checkpoint) or directory (pytorch; default: pytorch/ beside it)' })
    .option('force', { type: 'boolean', describe: 'Replace the output if it exists' }), exportCommand),
  command<ImportArgs>('import', 'Turn a PyTorch export directory (weft export --format pytorch, trained on by train_ddp.py) back into a weft model', (y) => y
    .positional('dir', { type: 'string', describe: 'The export directory (meta.json, model.safetensors)' })
    .option('out', { type: 'string', describe: 'The model file to write (a name ending in .weft), or a run directory (model.weft and last.weft inside) (default: DIR/model.weft)' })
    .option('force', { type: 'boolean', describe: 'Replace the output if it exists' }), importCommand, 'import <dir>'),
  command<BenchArgs>('bench', 'Training throughput on the reference workloads', (y) => y
    .option('workload', { type: 'string', array: true, default: ['bilstm', 'charlm', 'rnn-small'], describe: 'bilstm, charlm, rnn-small, bilstm-b256, charlm-b128' })
    .option('workers', { type: 'number', array: true, describe: 'Worker counts to measure (default: 1 and all cores)' })
    .option('steps', { type: 'number', default: 5, describe: 'Timed steps per measurement (at least; more until --seconds have passed)' })
    .option('warmup', { type: 'number', default: 2, describe: 'Untimed steps first (at least; more until a quarter of --seconds has passed)' })
    .option('seconds', { type: 'number', default: 2, describe: 'Time each measurement at least this long (0: exactly --steps after --warmup)' }), benchCommand),
];

function globalOptions(y: Argv): Argv {
  return y
    .option('json', { type: 'boolean', default: false, describe: 'One JSON object per event; the result as the last line' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Only errors and the result: no progress or other lines' })
    .option('kernels', { choices: KERNELS, default: 'auto' as const, describe: 'Kernels: auto (WEFT_KERNELS if set, else native where its addon is built, else WebAssembly SIMD), native, wasm or the TypeScript reference' });
}

/**
 * The flags of the command on this command line, checked before yargs parses them and before
 * the command reads anything (run/flags.ts); returns the warnings to print.
 */
function preflight(argv: string[]): string[] {
  if (argv.some((t) => t === '--help' || t === '-h' || t === '--version')) return [];
  const first = argv.find((t, i) => !t.startsWith('-') && argv[i - 1] !== '--kernels');
  if (first === undefined) return []; // yargs asks for a command
  const c = COMMANDS.find((k) => k.name === first);
  if (!c) {
    const near = closest(first, COMMANDS.map((k) => k.name));
    throw new OptionError(`unknown command ${JSON.stringify(first)}${near ? ` (did you mean ${near}?)` : ''}; the commands are ${COMMANDS.map((k) => k.name).join(', ')}`, first, near);
  }
  return checkFlags(c.name, argv, commandFlags(c.name));
}

/** The flags a command declares (with the global ones), as run/flags.ts checks them. */
export function commandFlags(name: string): FlagSpec {
  const c = COMMANDS.find((k) => k.name === name);
  if (!c) throw new RangeError(`no command ${name}`);
  return flagSpecOf(c.builder(globalOptions(yargs([]))) as unknown as DeclaredOptions);
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  watchStream(process.stdout); // from the start: a closed pipe is recorded, not a crash
  let json = argv.includes('--json');
  // Every handler: its parsed flags (yargs gives camelCase keys too; lists and delimiters normalised) and where to write.
  const run = (fn: CommandDef['handler']) => async (args: Record<string, unknown>) => {
    json = Boolean(args.json);
    code = await fn(normalizeArgs(args), new Output(json, Boolean(args.quiet)));
  };
  let cli = globalOptions(yargs(argv)
    .scriptName('weft')
    .usage('$0 <command> [options]\n\nTrain recurrent networks (RNN, LSTM, GRU) on every core.'));
  for (const c of COMMANDS) cli = cli.command(c.usage, c.describe, c.builder, run(c.handler));
  cli = cli
    .demandCommand(1, 'Name a command: train, eval, predict, generate, inspect, export, import or bench (weft --help)')
    .strict()
    .help()
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg.includes('--help') ? msg : `${msg}. Run 'weft --help' for the commands and options`);
    });
  try {
    for (const w of preflight(argv)) new Output(json).warn(w);
    await cli.parseAsync();
  } catch (err) {
    const f = describeFailure(err);
    if (process.env.WEFT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.stderr.write(`weft: ${f.message}\n`);
    new Output(json).result({ error: f.message, exitCode: f.code });
    return f.code;
  }
  // Output that did not reach its reader (`weft predict ... | head -1`) is not a success.
  return code === EXIT.ok && streamFailure(process.stdout) ? EXIT.stdoutClosed : code;
}
