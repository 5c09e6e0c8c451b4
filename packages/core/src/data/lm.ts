/**
 * Character-level language-model data from a plain text file → 'class-per-step': at every step
 * the input is a character and the target the character after it.
 *
 * Windows for truncated backpropagation through time. A part of the text (ids p[0..n)) is cut
 * into B streams of S = floor((n - 1) / B) consecutive characters; stream b starts at b·S. Each
 * stream is cut into W = floor(S / L) windows of L = seqLen steps (the rest of a stream, under L
 * characters, is left out so every window is full). Row r = w·B + b of the dataset is window w
 * of stream b:
 *
 *   inputs[r, t]  = p[b·S + w·L + t]        targets[r, t] = p[b·S + w·L + t + 1]     (t < L)
 *
 * so rows w·B .. w·B + B - 1 form batch w, and row b of batch w continues row b of batch w - 1
 * exactly where it stopped: train in row order with batch size B and carry each row's final
 * state into the same row of the next batch. (Shuffled, the rows are also fine for stateless
 * training.) B is options.streams, lowered when the text is too short for that many windows.
 *
 * Validation: the last validFraction of the text (a contiguous tail, so no training window
 * overlaps a validation window; no seed is involved), laid out the same way.
 * Vocabulary: the characters of the whole file (a character only in the tail would otherwise be
 * an unpredictable UNK target); '\r\n' is read as '\n'.
 */
import type { SequenceDataset } from './dataset.js';
import { DataError } from './errors.js';
import { readTextFile } from './read.js';
import { type EvalData, type TrainData } from './task.js';
import { UnknownSymbols, Vocab, type VocabJSON } from './vocab.js';

export interface LmOptions {
  /** Steps per window (--seq-len, default 64). */
  seqLen?: number;
  /** Parallel streams: the batch size of stateful training (default 16). */
  streams?: number;
  /** Fraction of the text, at its end, held out for validation, in [0, 1) (default 0.1). */
  validFraction?: number;
}

export interface LmMeta {
  task: 'lm';
  vocab: VocabJSON;
  seqLen: number;
}

/** How one part's windows are laid out (see the file comment). */
export interface LmLayout {
  /** B: parallel streams, the batch size that carries state from batch to batch. */
  streams: number;
  /** W: windows per stream; the dataset has W·B rows. */
  windows: number;
  seqLen: number;
  /** S: characters per stream (the last S - W·L of each are not used). */
  streamLength: number;
}

export interface LmData extends TrainData<LmMeta> {
  trainLayout: LmLayout;
  validLayout?: LmLayout;
}

function resolve(o: LmOptions): Required<LmOptions> {
  const seqLen = o.seqLen ?? 64;
  const streams = o.streams ?? 16;
  const validFraction = o.validFraction ?? 0.1;
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new TypeError(`lm options.seqLen (--seq-len) must be a positive integer, got ${JSON.stringify(seqLen)}`);
  if (!Number.isInteger(streams) || streams < 1) throw new TypeError(`lm options.streams must be a positive integer, got ${JSON.stringify(streams)}`);
  if (typeof validFraction !== 'number' || !(validFraction >= 0 && validFraction < 1)) {
    throw new RangeError(`lm options.validFraction must be a number in [0, 1), got ${JSON.stringify(validFraction)}`);
  }
  return { seqLen, streams, validFraction };
}

function readText(file: string): string {
  return readTextFile(file).replace(/\r\n/g, '\n');
}

/**
 * Windows over token ids `p` as described in the file comment. `part` names the part of the file
 * for the error when `p` is shorter than one window plus one character.
 */
export function lmWindows(p: Int32Array, seqLen: number, streams: number, vocabSize: number, file: string, part: string): { dataset: SequenceDataset; layout: LmLayout } {
  const n = p.length;
  const B = Math.min(streams, Math.floor((n - 1) / seqLen));
  if (B < 1) {
    throw new DataError(`${part} has ${n} characters, fewer than one window of seqLen + 1 = ${seqLen + 1}; lower --seq-len or use a longer text`, { file });
  }
  const S = Math.floor((n - 1) / B);
  const W = Math.floor(S / seqLen);
  const L = seqLen;
  const count = W * B;
  const inputs = new Int32Array(count * L); // [W·B, L]
  const targets = new Int32Array(count * L); // [W·B, L]
  for (let w = 0; w < W; w++) {
    for (let b = 0; b < B; b++) {
      const r = w * B + b;
      const start = b * S + w * L;
      inputs.set(p.subarray(start, start + L), r * L);
      targets.set(p.subarray(start + 1, start + L + 1), r * L);
    }
  }
  const dataset: SequenceDataset = {
    inputKind: 'tokens', inputSize: vocabSize, targetKind: 'class-per-step', outputSize: vocabSize,
    count, maxSteps: L, lengths: new Int32Array(count).fill(L), inputs, targets,
  };
  return { dataset, layout: { streams: B, windows: W, seqLen: L, streamLength: S } };
}

function layoutLine(l: LmLayout): string {
  return `${l.streams} streams × ${l.windows} windows of ${l.seqLen}`;
}

/** Loads a text for language-model training: vocabulary, training windows, validation windows. */
export function loadLm(file: string, options: LmOptions = {}): LmData {
  const o = resolve(options);
  const text = readText(file);
  const vocab = Vocab.build('char', [text]);
  const ids = vocab.encode(text);
  const cut = o.validFraction > 0 ? Math.floor(ids.length * (1 - o.validFraction)) : ids.length;
  const train = lmWindows(ids.subarray(0, cut), o.seqLen, o.streams, vocab.size, file, 'the training part');
  const meta: LmMeta = { task: 'lm', vocab: vocab.toJSON(), seqLen: o.seqLen };
  let summary = `${file}: ${ids.length} characters, ${vocab.symbols.length} distinct; train ${cut} (${layoutLine(train.layout)})`;
  if (cut === ids.length) return { train: train.dataset, meta, summary, trainLayout: train.layout };
  const valid = lmWindows(ids.subarray(cut), o.seqLen, o.streams, vocab.size, file, `the validation part (the last ${Math.round(o.validFraction * 100)}%)`);
  summary += `, valid ${ids.length - cut} (${layoutLine(valid.layout)})`;
  return { train: train.dataset, valid: valid.dataset, meta, summary, trainLayout: train.layout, validLayout: valid.layout };
}

/** Windows over a whole text, encoded with a trained model's vocabulary (unseen characters → UNK). */
export function loadLmEval(file: string, meta: LmMeta, options: { streams?: number; seqLen?: number } = {}): EvalData & { layout: LmLayout } {
  const o = resolve({ seqLen: options.seqLen ?? meta.seqLen, streams: options.streams, validFraction: 0 });
  const vocab = Vocab.fromJSON(meta.vocab);
  const text = readText(file);
  const unknown = new UnknownSymbols('char');
  const ids = vocab.encode(text, unknown);
  const { dataset, layout } = lmWindows(ids, o.seqLen, o.streams, vocab.size, file, 'the text');
  return { dataset, layout, summary: `${file}: ${ids.length} characters (${unknown.count} not in the vocabulary), ${layoutLine(layout)}`, unknown: unknown.report() };
}
