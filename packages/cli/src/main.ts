/**
 * The `weft` command line: one yargs program, a module per command under commands/. Errors
 * become one paragraph on stderr and an exit code (run/errors.ts); --json makes the last
 * stdout line the command's result as one JSON object.
 */
import { createRequire } from 'node:module';
import yargs, { type Argv } from 'yargs';
import { describeFailure, EXIT } from './run/errors.js';
import { Output } from './run/output.js';
import { TASKS } from './run/task.js';
import { trainCommand, type TrainArgs } from './commands/train.js';
import { evalCommand, type EvalArgs } from './commands/evaluate.js';
import { predictCommand, type PredictArgs } from './commands/predict.js';
import { generateCommand, type GenerateArgs } from './commands/generate.js';
import { inspectCommand } from './commands/inspect.js';
import { exportCommand } from './commands/export.js';
import { benchCommand, type BenchArgs } from './commands/bench.js';

const KERNELS = ['auto', 'wasm', 'reference'] as const;
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

function dataOptions(y: Argv): Argv {
  return y
    .option('data', { type: 'string', describe: 'Data file (JSONL, CSV or text, by task)' })
    .option('text-column', { type: 'string', describe: 'classify: JSONL field / CSV column with the text (default "text")' })
    .option('label-column', { type: 'string', describe: 'classify: JSONL field / CSV column with the label (default "label")' })
    .option('max-len', { type: 'number', describe: 'Longest sequence accepted; a longer one is an error' });
}

function trainOptions(y: Argv): Argv {
  return dataOptions(y)
    .option('task', { type: 'string', choices: TASKS, describe: 'names (the default, no --data), classify, tag, lm or regress' })
    .option('valid', { type: 'string', describe: 'Validation file (instead of a split of --data)' })
    .option('valid-fraction', { type: 'number', default: 0.1, describe: 'Fraction of the data held out for validation (0 = none)' })
    .option('lowercase', { type: 'boolean', describe: 'Lowercase texts before encoding (classify, tag)' })
    .option('seq-len', { type: 'number', describe: 'lm: steps per window of truncated BPTT (default 64)' })
    .option('window', { type: 'number', describe: 'regress: rows per input sequence' })
    .option('horizon', { type: 'number', describe: 'regress: rows ahead to predict (default 1)' })
    .option('inputs', { type: 'string', array: true, describe: 'regress: input columns (default: every column; name them when the file also has a date or text column)' })
    .option('targets', { type: 'string', array: true, describe: 'regress: target columns (default: the inputs)' })
    .option('per-step', { type: 'boolean', describe: 'regress: predict at every step, not only after the window' })
    .option('cell', { choices: ['rnn', 'lstm', 'gru'] as const, default: 'lstm' as const, describe: 'Recurrent cell' })
    .option('hidden', { type: 'number', describe: 'Hidden units per direction (default 64; names 96)' })
    .option('layers', { type: 'number', default: 2, describe: 'Stacked layers' })
    .option('bidirectional', { type: 'boolean', describe: 'Read sequences both ways (default: yes for classify/tag/names, no for lm/regress)' })
    .option('nonlinearity', { choices: ['tanh', 'relu'] as const, default: 'tanh' as const, describe: 'rnn cell activation' })
    .option('dropout', { type: 'number', describe: 'Dropout between layers (PyTorch, Zaremba et al.) (default 0; names 0.3)' })
    .option('input-dropout', { type: 'number', default: 0, describe: 'Variational dropout on each layer input (Keras dropout)' })
    .option('recurrent-dropout', { type: 'number', describe: 'Variational dropout on the state passed to the next step (Keras recurrent_dropout) (default 0; names 0.2)' })
    .option('embedding', { type: 'number', describe: 'Embedding size for token inputs (0 = one-hot; default one-hot up to 128 symbols, 64 above; names 16)' })
    .option('pooling', { choices: ['last', 'mean'] as const, default: 'last' as const, describe: 'classify/regress: final states or mean of outputs' })
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
    .option('epochs', { type: 'number', describe: 'Epochs (default: names 14, classify 20, tag 20, lm 10, regress 30)' })
    .option('steps', { type: 'number', describe: 'Stop after this many steps in all' })
    .option('patience', { type: 'number', describe: 'Early stopping: epochs without a better validation loss' })
    .option('workers', { type: 'number', describe: 'Worker threads (default: all cores)' })
    .option('seed', { type: 'number', default: 0, describe: 'Seed of initialisation, split, data order and dropout' })
    .option('out', { type: 'string', describe: 'Run directory (default runs/<task>; model.weft inside)' })
    .option('force', { type: 'boolean', describe: 'Replace a model already in --out' })
    .option('resume', { type: 'string', describe: 'Continue the run of this checkpoint (or run directory) exactly' });
}

function modelOption(y: Argv): Argv {
  return y.option('model', { type: 'string', describe: 'A checkpoint (model.weft) or its run directory' });
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  let json = argv.includes('--json');
  // Every handler: its parsed flags (yargs gives camelCase keys too) and where to write.
  const run = <T>(fn: (args: T, out: Output) => Promise<number>) => async (args: Record<string, unknown>) => {
    json = Boolean(args.json);
    code = await fn({ ...args, rawArgv: argv } as T, new Output(json, Boolean(args.quiet)));
  };
  const cli = yargs(argv)
    .scriptName('weft')
    .usage('$0 <command> [options]\n\nTrain recurrent networks (RNN, LSTM, GRU) on every core.')
    .option('json', { type: 'boolean', default: false, describe: 'One JSON object per event; the result as the last line' })
    .option('quiet', { type: 'boolean', default: false, describe: 'Only errors and the result: no progress or other lines' })
    .option('kernels', { choices: KERNELS, default: 'auto' as const, describe: 'Matrix kernels: WebAssembly SIMD where available, or the TypeScript reference' })
    .command('train', 'Train a model (with no options: the English first-names classifier)', trainOptions, run(trainCommand))
    .command('eval', 'Loss, accuracy, per-class precision/recall and confusion matrix on a labelled file', (y) => modelOption(dataOptions(y)), run(evalCommand))
    .command('predict', 'Labels, tags or values for new inputs', (y) => modelOption(y)
      .option('text', { type: 'string', array: true, describe: 'An input (repeatable)' })
      .option('data', { type: 'string', describe: 'A file of inputs: JSONL, one per line, or CSV (regress)' })
      .option('text-column', { type: 'string', describe: 'JSONL field with the text (default "text")' })
      .option('forecast', { type: 'number', describe: 'regress: continue N rows past the last row of --data, each prediction fed back as input' }), run(predictCommand))
    .command('generate', 'Sample text from a character language model', (y) => modelOption(y)
      .option('prime', { type: 'string', default: '', describe: 'Text to start from' })
      .option('length', { type: 'number', default: 200, describe: 'Characters to generate' })
      .option('temperature', { type: 'number', default: 1, describe: 'Below 1: safer; above 1: wilder' })
      .option('top-k', { type: 'number', default: 0, describe: 'Sample among the k most likely characters only (0 = all)' })
      .option('seed', { type: 'number', default: 0 }), run(generateCommand))
    .command('inspect', 'Config, parameter table (PyTorch names, shapes), count and SHA-256 of a checkpoint', modelOption, run(inspectCommand))
    .command('export', 'Write the weights as safetensors with PyTorch names', (y) => modelOption(y)
      .option('out', { type: 'string', describe: 'Output file (default: model.safetensors beside the checkpoint)' }), run(exportCommand))
    .command('bench', 'Training throughput on the reference workloads', (y) => y
      .option('workload', { type: 'string', array: true, default: ['bilstm', 'charlm', 'rnn-small'], describe: 'bilstm, charlm, rnn-small, bilstm-b256, charlm-b128' })
      .option('workers', { type: 'number', array: true, describe: 'Worker counts to measure (default: 1 and all cores)' })
      .option('steps', { type: 'number', default: 5, describe: 'Timed steps per measurement' })
      .option('warmup', { type: 'number', default: 2, describe: 'Untimed steps first' }), run(benchCommand))
    .demandCommand(1, 'Name a command: train, eval, predict, generate, inspect, export or bench (weft --help)')
    .strict()
    .recommendCommands()
    .help()
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw Object.assign(new Error(msg), { usage: true });
    });
  try {
    await cli.parseAsync();
  } catch (err) {
    if (err && typeof err === 'object' && 'usage' in err) {
      process.stderr.write(`weft: ${(err as unknown as Error).message}\nRun 'weft --help' for the commands and options.\n`);
      return EXIT.usage;
    }
    const f = describeFailure(err);
    if (process.env.WEFT_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.stderr.write(`weft: ${f.message}\n`);
    if (json) process.stdout.write(JSON.stringify({ error: f.message, exitCode: f.code }) + '\n');
    return f.code;
  }
  return code;
}
