/**
 * Hostile sizes and hostile checkpoints against the real binary: every limit is checked before
 * anything large is built (flags, data and checkpoints alike), and each refusal names the flag,
 * the file and line, or the checkpoint field, with exit 1 or 2, in seconds and a few hundred
 * MiB. Before these checks, `--workers 1000` started hundreds of threads, `--layers 1000000` and
 * a checkpoint with numLayers 1e7 hung while memory climbed, `batchSize 0` looped eval until out
 * of memory, and hand-made checkpoints reached `Cannot read properties of undefined`.
 * Checkpoints here are written with @weft/core's own saveCheckpointSync: a valid checksum, a
 * bad meaning.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadCheckpointSync, saveCheckpointSync, type Checkpoint } from '@weft/core';
import { weft, weftMeasured, tempDir, EXAMPLES, type MeasuredResult } from './helpers/cli.js';

const dir = tempDir('weft-limits-');
const classify = path.join(EXAMPLES, 'classify.jsonl');
const small = ['--hidden', '4', '--layers', '1', '--workers', '1'];

/**
 * A refusal: the exit code, the message (one `weft:` paragraph, no stack), within `mib` of peak
 * memory: the proof that nothing large was allocated first (time is not measured: the machine is shared).
 */
function refused(r: MeasuredResult, code: number, message: string | RegExp, mib = 400): void {
  expect(r.stderr, r.stderr).toMatch(typeof message === 'string' ? new RegExp(`weft: ${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : message);
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.maxRssMiB).toBeLessThan(mib);
}

describe('weft train: sizes past the limits are refused before anything is built', () => {
  const train = (out: string, ...flags: string[]) => weftMeasured(['train', '--task', 'classify', '--data', classify, '--steps', '1', '--out', path.join(dir, out), ...flags]);

  it.each([
    ['--hidden', '100000'],
    ['--embedding', '1000000000'],
    ['--batch', '100000000'],
  ])('%s %s: the flag, the memory it needs and the 4 GiB limit (exit 2)', (flag, value) => {
    const r = train(`big${flag}`, flag, value);
    refused(r, 2, new RegExp(`^weft: ${flag} ${value}: training would need [\\d.]+ [GTP]iB: .*; the limit is 4 GiB of WebAssembly memory\\n$`));
    expect(existsSync(path.join(dir, `big${flag}`))).toBe(false);
  });

  it.each(['3000', '1000000'])('--layers %s: refused as a flag, at once', (layers) => {
    const r = train('deep', '--layers', layers);
    refused(r, 2, `--layers must be an integer from 1 to 256 (the deepest stack weft builds), got ${layers}`, 200);
  });

  it('--workers 1000: more workers than shards, refused before a thread starts', () => {
    const r = train('crowd', '--workers', '1000');
    refused(r, 2, '--workers 1000 is more than the 16 shards of a batch (a batch of 32 in shards of 2): a worker computes whole shards, so the others would have no work; give --workers 16 or fewer', 300);
    expect(existsSync(path.join(dir, 'crowd'))).toBe(false);
  });

  it('a model spec: a layer option of a --model-spec file is named in the file; a spec made by flags names the flag', () => {
    const specFile = path.join(dir, 'wide-spec.json');
    writeFileSync(specFile, JSON.stringify({ layers: [{ type: 'recurrent', cell: 'gru', hiddenSize: 100000 }, { type: 'pool', mode: 'max' }, { type: 'linear' }], loss: { kind: 'crossEntropy' } }));
    const r = train('wide-spec', '--model-spec', specFile);
    refused(r, 2, new RegExp(`^weft: ${specFile.replace(/[.]/g, '\\.')}: layers\\[0\\]\\.hiddenSize 100000: training would need [\\d.]+ TiB: .*; the limit is 4 GiB of WebAssembly memory\\n$`));
    const f = train('wide-flags', '--pooling', 'attention', '--hidden', '100000');
    refused(f, 2, /^weft: --hidden 100000: training would need [\d.]+ TiB: .*; the limit is 4 GiB of WebAssembly memory\n$/);
  });

  it('a single line too long for memory: the file and line, the longest that fits and --max-len; no retries (exit 1)', () => {
    const f = path.join(dir, 'one-long-line.jsonl');
    writeFileSync(f, `${JSON.stringify({ text: 'ab '.repeat(1_500_000), label: 'x' })}\n{"text": "short", "label": "y"}\n`);
    const r = weftMeasured(['train', '--task', 'classify', '--data', f, '--hidden', '8', '--out', path.join(dir, 'long')]);
    refused(r, 1, new RegExp(`^weft: ${f.replace(/[.]/g, '\\.')}:1: field "text" is 4,500,000 characters long, the longest sequence: training would need .* of activations for 32 sequences of 4,500,000 steps; ` +
      'the limit is 4 GiB of WebAssembly memory; at most [\\d,]+ steps fit with this model: shorten or remove it \\(--max-len \\d+ refuses longer ones as they are read\\), or use a smaller --batch\\n$'), 600);
    expect(r.stderr).not.toMatch(/retr|redo|replaced/);
  });

  it('many lines padded to a very long one: refused where that line is read', () => {
    const f = path.join(dir, 'padded.jsonl');
    const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: i === 41 ? 'ab'.repeat(2_000_000) : 'short', label: i % 2 ? 'x' : 'y' }));
    writeFileSync(f, lines.join('\n') + '\n');
    const r = weftMeasured(['train', '--task', 'classify', '--data', f, '--out', path.join(dir, 'padded')]);
    refused(r, 1, `${f}:42: field "text" is 4,000,000 characters long: the file's 300 sequences padded to this length would take 4.47 GiB, past the 4 GiB limit; ` +
      'shorten or remove this line (--max-len N refuses lines longer than N as they are read)', 500);
  });

  it('values near 1e308 in a regression CSV or a sequence: the file, line and column, not a NaN loss', () => {
    const csv = path.join(dir, 'huge.csv');
    writeFileSync(csv, 'a,b\n' + Array.from({ length: 40 }, (_, i) => `${i},${i === 17 ? '1e308' : i % 7}`).join('\n') + '\n');
    const r = weftMeasured(['train', '--task', 'regress', '--data', csv, '--window', '4', '--out', path.join(dir, 'huge')]);
    refused(r, 1, `${csv}:19: column "b" must be a finite number within ±1e15 (training computes in float32, where squares of larger numbers overflow: scale such a column down), got 1e308`);
    expect(r.stderr).not.toMatch(/nonFinite|NaN/);
    const seq = path.join(dir, 'huge-seq.jsonl');
    writeFileSync(seq, '{"sequence": [[1], [2]], "label": "a"}\n{"sequence": [[1], [-1.7e308]], "label": "b"}\n');
    const s = weftMeasured(['train', '--task', 'classify', '--data', seq, '--out', path.join(dir, 'huge-seq')]);
    refused(s, 1, `${seq}:2: field "sequence" step 1 value 0 must be a finite number within ±1e15`);
  });

  it('a classify file with a single label is refused, naming the file and the label', () => {
    const f = path.join(dir, 'one-label.jsonl');
    writeFileSync(f, '{"text": "abc", "label": "spam"}\n{"text": "def", "label": "spam"}\n');
    const r = weftMeasured(['train', '--task', 'classify', '--data', f, '--out', path.join(dir, 'one-label')]);
    refused(r, 1, `${f}: every example has the label "spam" (field "label"): a classifier learns to tell labels apart, so it needs at least two`);
  });

  it('a diverging run stops with advice in flags, not the library\'s options', () => {
    const r = weftMeasured(['train', '--task', 'classify', '--data', classify, ...small, '--steps', '6', '--lr', '1e38', '--clip-norm', '0', '--out', path.join(dir, 'diverge')]);
    refused(r, 1, /weft: step \d+: the loss \(NaN\) or the gradient norm \(NaN\) is not finite, so training stopped without applying that step: the weights diverged; lower the learning rate \(--lr\), or clip the gradients harder \(--clip-norm\)\n$/);
    expect(r.stderr).not.toMatch(/nonFinite|clipNorm/);
  });
});

describe('eval and predict: a sequence too long for memory is named by its line', () => {
  let model: string;
  const long = path.join(dir, 'long-eval.jsonl');
  beforeAll(() => {
    model = path.join(dir, 'eval-run');
    expect(weft(['train', '--task', 'classify', '--data', classify, '--hidden', '32', '--workers', '1', '--steps', '1', '--out', model]).code).toBe(0);
    writeFileSync(long, '{"text": "hallo welt", "label": "de"}\n' + JSON.stringify({ text: 'abcdefghij '.repeat(200_000), label: 'en' }) + '\n');
  });

  it('eval: the file and line, the memory, the longest that fits and --max-len (exit 1)', () => {
    const r = weftMeasured(['eval', '--model', model, '--data', long]);
    refused(r, 1, new RegExp(`^weft: ${long.replace(/[.]/g, '\\.')}:2: field "text" is 2,200,000 characters long, the longest sequence: evaluating would need .*; the limit is 4 GiB of WebAssembly memory; ` +
      'at most [\\d,]+ steps fit with this model: shorten or remove it \\(--max-len \\d+ refuses longer ones as they are read\\)\\n$'), 500);
  });

  it('predict: the line of --data, or the place among --text inputs (predict has no --max-len)', () => {
    const r = weftMeasured(['predict', '--model', model, '--data', long]);
    refused(r, 1, new RegExp(`^weft: ${long.replace(/[.]/g, '\\.')}:2: field "text" is 2,200,000 characters long, the longest sequence: predicting would need .*; at most [\\d,]+ steps fit with this model: shorten or remove it\\n$`), 500);
    // (A command-line word is at most 128 KiB: twelve inputs of 100,000 characters make a batch too large.)
    const texts = Array.from({ length: 12 }, (_, i) => ['--text', i === 4 ? 'y'.repeat(100_001) : 'x'.repeat(100_000)]).flat();
    const t = weftMeasured(['predict', '--model', model, ...texts]);
    refused(t, 1, /\nweft: --text input 5 is 100,001 characters long, the longest sequence: predicting would need .* of activations for 12 sequences of 100,001 steps/, 500);
  });
});

describe('checkpoints with a valid checksum and a bad meaning', () => {
  let base: Checkpoint;
  let runDir: string;
  beforeAll(() => {
    runDir = path.join(dir, 'base-run');
    expect(weft(['train', '--task', 'classify', '--data', classify, ...small, '--steps', '2', '--out', runDir]).code).toBe(0);
    base = loadCheckpointSync(path.join(runDir, 'last.weft'));
  });

  /** The base run's last.weft with `change` applied, saved by core (so its checksum is right). */
  function crafted(name: string, change: (c: Checkpoint & { config: any; extra: any }) => void): string {
    const c = structuredClone(base) as Checkpoint & { config: any; extra: any };
    change(c);
    const file = path.join(dir, `${name}.weft`);
    saveCheckpointSync(file, c);
    return file;
  }

  const commands = (file: string): [string, string[]][] => [
    ['inspect', ['inspect', '--model', file]],
    ['predict', ['predict', '--model', file, '--text', 'hallo']],
    ['eval', ['eval', '--model', file, '--data', classify]],
    ['--resume', ['train', '--resume', file, '--out', path.join(dir, `resumed-${path.basename(file)}`), '--force']],
  ];

  // The sizes that hung or exhausted memory: every command that reads a checkpoint. The other
  // fields go through the same loader (run/checkpoint.ts loadRun): inspect shows it.
  const everyCommand = new Set(['numLayers 1e7 (hung, climbing)', 'vocabSize 1e9 (Invalid typed array length)', 'hiddenSize 1e5', 'batchSize 0 (eval looped until out of memory)']);

  it.each([
    ['numLayers 1e7 (hung, climbing)', (c: any) => { c.config.train.model.numLayers = 1e7; },
      'config.train.model.numLayers is 10000000, more than the 256 layers a stack may have'],
    ['vocabSize 1e9 (Invalid typed array length)', (c: any) => { c.config.train.model.input.vocabSize = 1e9; },
      /config\.train\.model\.input\.vocabSize 1000000000: training would need [\d.]+ TiB: .*; the limit is 4 GiB of WebAssembly memory/],
    ['hiddenSize 1e5', (c: any) => { c.config.train.model.hiddenSize = 100_000; }, /config\.train\.model\.hiddenSize 100000: training would need/],
    ['batchSize 0 (eval looped until out of memory)', (c: any) => { c.config.train.batchSize = 0; }, 'config.train.batchSize must be a positive integer, got 0'],
    ['a negative learning rate', (c: any) => { c.config.train.optimizer.lr = -1; }, 'config.train.optimizer.lr must be a positive number, got -1'],
    ['no meta.task', (c: any) => { delete c.config.meta.task; }, "config.meta.task must be 'classify', 'multilabel', 'tag', 'lm' or 'regress', got undefined"],
    ['no meta.labels (reading \'0\')', (c: any) => { delete c.config.meta.labels; }, 'config.meta.labels must be a non-empty array of distinct non-empty strings, got undefined'],
    ['no meta.input (reading \'kind\')', (c: any) => { delete c.config.meta.input; }, 'config.meta.input must be an object'],
    ['no extra (reading \'epoch\')', (c: any) => { delete c.extra; }, 'extra (where the run stands) must be an object { epoch, batch, ... }, it is missing'],
    ['no config.data (destructure)', (c: any) => { delete c.config.data; }, 'config.data must be an object { file, valid, flags }, it is missing'],
    ['a stored flag out of range', (c: any) => { c.config.data.flags.batch = 0; }, 'config.data.flags.batch must be a positive integer, got 0'],
    ['a task that is not its meta\'s', (c: any) => { c.config.task = 'lm'; }, "config.task is 'lm' but config.meta is the meta of a classify model"],
    ['an epoch past the run', (c: any) => { c.config.epochs = 3; c.extra.epoch = 1000; }, "extra.epoch is 1000, past the run's 3 epochs (config.epochs)"],
  ])('%s: refused naming the field, in seconds', (name, change, message) => {
    const file = crafted(name.replace(/\W+/g, '-'), change);
    for (const [cmd, args] of commands(file).slice(0, everyCommand.has(name) ? 4 : 1)) {
      const r = weftMeasured(args);
      const m = typeof message === 'string' ? `${file}: ${message}` : new RegExp(`weft: ${file.replace(/[.]/g, '\\.')}: ${message.source}`);
      expect(r.stderr, `${cmd}: ${r.stderr}`).toMatch(typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
      refused(r, 1, /weft: /, 300);
      expect(r.stderr).not.toMatch(/Cannot read|Cannot destructure|Invalid typed array|undefined \(reading/);
    }
  });

  it('trailing bytes after the payload: corrupted, without the decoded payload in the message', () => {
    const file = crafted('trailing', (c) => { c.config.note = 'x'.repeat(10_000); });
    // Append bytes and fix the length and checksum, as a hand-made file would.
    const bytes = readFileSync(file);
    const grown = Buffer.concat([bytes, Buffer.from([1, 2, 3])]);
    grown.writeBigUInt64LE(BigInt(grown.length - 56), 48);
    createHash('sha256').update(grown.subarray(40)).digest().copy(grown, 8);
    writeFileSync(file, grown);
    const r = weftMeasured(['inspect', '--model', file]);
    refused(r, 1, `${file}: corrupted payload (Data read, but end of buffer not reached)`);
    expect(r.stderr.length).toBeLessThan(300);
  });

  it('NaN weights: inspect shows them and export writes them (exit 0, a warning); predict, eval and --resume refuse', () => {
    const file = crafted('nan-weights', (c) => { c.params['head.bias']![1] = NaN; c.params['head.weight']![0] = Infinity; });
    const i = weftMeasured(['inspect', '--model', file]);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/2 of them not finite \(NaN or infinite\): head\.weight 1, head\.bias 1/);
    expect(i.stderr).toContain(`warning: ${file}: 2 of its`);
    const exported = weftMeasured(['export', '--model', file, '--out', path.join(dir, 'nan.safetensors')]);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain(`warning: ${file}: 2 of its 2372 parameter values are not finite`);
    for (const [cmd, args] of commands(file).slice(1)) {
      const r = weftMeasured(args);
      expect(r.code, cmd).toBe(1);
      expect(r.stderr).toContain(`weft: ${file}: 2 of its 2372 parameter values are not finite (NaN or infinite), in head.weight (1), head.bias (1): ` +
        'the training that wrote it diverged, and its outputs would be NaN; train again with a lower --lr or with --clip-norm');
    }
  });

  it('a model without optimizer state cannot be resumed', () => {
    const file = crafted('no-optimizer', (c) => { delete c.optimizer; });
    refused(weftMeasured(['train', '--resume', file, '--out', path.join(dir, 'no-opt'), '--force']), 1,
      `${file}: holds no optimizer state, so training cannot go on from it (a model saved to predict, not to resume); start a new run`);
    expect(weftMeasured(['predict', '--model', file, '--text', 'hallo']).code).toBe(0);
  });

  it('a run resumed into a new directory with no step left ends cleanly (no empty curves page)', () => {
    const out = path.join(dir, 'nothing-left');
    const r = weftMeasured(['train', '--resume', runDir, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).not.toContain('curves.html');
  });
});
