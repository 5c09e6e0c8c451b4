/**
 * @weft/core's limits (train/limits.ts: the 4 GiB of WebAssembly memory; a worker per shard at
 * most) said in the CLI's terms. Core names an option of the training config (`model.hiddenSize
 * 100000: training would need 6.8 TiB ...`); here that becomes what the user can change: the
 * flag (`--hidden 100000: ...`, exit 2), the data line that holds the longest sequence with the
 * flag that bounds it (`data.jsonl:17: field "text" is 45,454,540 characters long, the longest
 * sequence: ...; at most 13,504 fit ... (--max-len)`, exit 1), the option of a --model-spec file,
 * or the checkpoint field it came from (`model.weft: config.train.batchSize ...`, exit 1). One
 * mapping for train, eval and predict.
 */
import { MemoryLimitError, OptionError, shardCount, type DataMeta, type Longest, type ModelDefinition, type ResolvedTrainConfig } from '@weft/core';
import { InputError, UsageError } from './errors.js';

/** Options of the training config that a flag sets. */
const FLAG_OF: Record<string, string> = {
  'model.hiddenSize': '--hidden', 'model.numLayers': '--layers', 'model.input.embeddingDim': '--embedding',
  batchSize: '--batch', shardSize: '--shard-size', workers: '--workers',
};

/** Where the numbers of a refused configuration came from. */
export interface LimitContext {
  /** The training config (its batch and shards are quoted for a --workers refusal). */
  train?: ResolvedTrainConfig;
  /** The checkpoint the config came from (--resume, eval, predict): its fields are named, not flags. */
  checkpoint?: string;
  /** The data: its meta (vocabulary, labels), file, and where its longest sequence is. */
  data?: { meta: DataMeta; file?: string; longest?: Longest };
  /** The command takes --max-len (train, eval) and --batch (train): the advice names them then. */
  flags?: { maxLen?: boolean; batch?: boolean };
  /** The --model-spec file the run's model came from: a spec layer's option is named in it. */
  specFile?: string;
  /** The model (a spec's layers say which flag set an option), before the training config is resolved. */
  model?: ModelDefinition;
}

/** Options of a spec's layer (a run whose flags made a spec: --pooling attention, ...) that a flag sets, by layer type. */
const SPEC_FLAG_OF: Record<string, Record<string, string>> = {
  recurrent: { hiddenSize: '--hidden', numLayers: '--layers' },
  embedding: { dim: '--embedding' },
};

/** A spec option (`model.layers[1].hiddenSize`) as the option of a model config it stands for, or the spec file's own name for it. */
function specOption(opt: string, ctx: LimitContext): { flag?: string; inFile?: string; outputs?: boolean } | undefined {
  const m = /^model\.layers\[(\d+)\]\.(\w+)$/.exec(opt);
  if (!m) return undefined;
  const i = Number(m[1]);
  const key = m[2]!;
  if (ctx.specFile) return { inFile: `${ctx.specFile}: layers[${i}].${key}` };
  const model = (ctx.model ?? ctx.train?.model) as { layers?: { type: string }[] } | undefined;
  if (!model?.layers) return undefined;
  const layer = model.layers[i];
  if (key === 'outputSize' && i === model.layers.length - 1) return { outputs: true };
  const flag = layer && SPEC_FLAG_OF[layer.type]?.[key];
  return flag ? { flag } : undefined;
}

/** What a token or a label of a task's data is, for messages. */
function sizes(meta: DataMeta): { vocab: string; outputs: string } {
  switch (meta.task) {
    case 'classify': case 'multilabel': return { vocab: 'characters', outputs: 'labels' };
    case 'tag': return { vocab: 'words', outputs: 'tags' };
    case 'lm': return { vocab: 'characters', outputs: 'characters' };
    case 'regress': return { vocab: 'columns', outputs: 'target columns' };
  }
}

/** What to do about a sequence too long for memory: the longest that fits, and the flags that help. */
function stepsAdvice(ctx: LimitContext, fit: number | undefined): string {
  if (!fit) return '';
  const train = !ctx.checkpoint;
  switch (ctx.data?.meta.task) {
    case 'lm': if (train) return `; --seq-len ${fit} or less fits`; break;
    case 'regress': if (train) return `; --window ${fit} or less fits`; break;
  }
  const maxLen = ctx.flags?.maxLen ? ` (--max-len ${fit} refuses longer ones as they are read)` : '';
  const batch = ctx.flags?.batch ? ', or use a smaller --batch' : '';
  return `; at most ${fit.toLocaleString('en-US')} steps fit with this model: shorten or remove it${maxLen}${batch}`;
}

/**
 * A limit error of core (MemoryLimitError, or the OptionError of too many workers) as the CLI
 * reports it; anything else is returned as it is.
 */
export function limitError(err: unknown, ctx: LimitContext): unknown {
  if (!(err instanceof OptionError)) return err;
  const opt = err.option;
  if (!(err instanceof MemoryLimitError)) {
    if (opt !== 'workers' || !ctx.train) return err;
    const t = ctx.train;
    const shards = shardCount(t.batchSize, t.shardSize);
    const given = /^workers is (\d+)/.exec(err.message)?.[1] ?? '?';
    return new UsageError(`--workers ${given} is more than the ${shards} shard${shards === 1 ? '' : 's'} of a batch (a batch of ${t.batchSize} in shards of ${t.shardSize}): ` +
      `a worker computes whole shards, so the others would have no work; give --workers ${shards} or fewer, or more shards with a smaller --shard-size`);
  }
  const { detail, value } = err;
  if (opt === 'maxSteps') {
    const L = ctx.data?.longest;
    const advice = stepsAdvice(ctx, err.stepsThatFit);
    const long = L && `${L.steps.toLocaleString('en-US')} ${L.unit} long, the longest sequence: ${detail}${advice}`;
    if (L?.file === '--text') return new InputError(`--text input ${L.line} is ${long}`);
    if (L) return new InputError(`${L.file}:${L.line}: field "${L.field}" is ${long}`);
    const flag = ctx.data?.meta.task === 'lm' ? '--seq-len' : ctx.data?.meta.task === 'regress' ? '--window' : undefined;
    return flag && !ctx.checkpoint ? new UsageError(`${flag} ${value}: ${detail}${advice}`) : new InputError(`sequences of ${value} steps: ${detail}${advice}`);
  }
  if (opt === 'workers') return new UsageError(`--workers ${value}: ${detail}`);
  if (ctx.checkpoint) return new InputError(`${ctx.checkpoint}: config.train.${opt} ${value}: ${detail}`);
  const spec = specOption(opt, ctx);
  // A --model-spec file is part of the command line, as its other refusals are (exit 2).
  if (spec?.inFile) return new UsageError(`${spec.inFile} ${value}: ${detail}`);
  const flag = FLAG_OF[opt] ?? spec?.flag;
  if (flag) return new UsageError(`${flag} ${value}: ${detail}`);
  const meta = ctx.data?.meta;
  const of = ctx.data?.file ? ` of ${ctx.data.file}` : '';
  if (meta && opt === 'model.input.vocabSize') return new InputError(`the vocabulary${of} (${value} ${sizes(meta).vocab} and reserved ids): ${detail}`);
  if (meta && (opt === 'model.outputSize' || spec?.outputs)) return new InputError(`the ${value} ${sizes(meta).outputs}${of}: ${detail}`);
  if (meta && opt === 'model.input.size') return new InputError(`the ${value} features per step${of}: ${detail}`);
  return err;
}

/** Runs `f`; a limit error it throws is rethrown in the CLI's terms (limitError). */
export function withLimits<T>(ctx: LimitContext, f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw limitError(err, ctx);
  }
}
