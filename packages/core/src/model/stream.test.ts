/**
 * InferenceStream: a long input fed chunk by chunk, the state carried between chunks, gives
 * the outputs of the whole sequence run at once; models that cannot stream are refused saying why.
 */
import { describe, it, expect } from 'vitest';
import { SequenceModel } from './model.js';
import { InferenceStream } from './stream.js';
import { OptionError } from '../options/errors.js';
import { Rng } from '../rng.js';

const T = 26;
const chunks = [5, 1, 9, 11]; // sums to T

/** The whole sequence at once [B, T, O]. */
function whole(model: SequenceModel, inputs: Int32Array | Float32Array, B: number): Float32Array {
  return model.infer({ batch: B, steps: T, lengths: new Int32Array(B).fill(T), inputs, targets: new Int32Array(0) }).slice();
}

/** The same fed in chunks [B, T, O]; `forget`: the state dropped (reset) before each chunk, what carrying it must not give. */
function chunked(model: SequenceModel, inputs: Int32Array | Float32Array, B: number, per: number, forget = false): Float32Array {
  const s = new InferenceStream(model, { streams: B });
  const O = model.outputSize;
  const out = new Float32Array(B * T * O);
  let t0 = 0;
  for (const n of chunks) {
    // Each stream's steps t0..t0+n-1, batch-first.
    const chunk = new (inputs.constructor as { new (n: number): Int32Array | Float32Array })(B * n * per);
    for (let b = 0; b < B; b++) chunk.set(inputs.subarray((b * T + t0) * per, (b * T + t0 + n) * per), b * n * per);
    if (forget) s.reset();
    const y = s.feed(chunk, n);
    for (let b = 0; b < B; b++) out.set(y.subarray(b * n * O, (b + 1) * n * O), (b * T + t0) * O);
    t0 += n;
  }
  if (!forget) expect(s.position).toBe(T);
  return out;
}

describe('InferenceStream', () => {
  it('a 2-layer LSTM over tokens: chunks give the outputs of the whole sequence, bit for bit', () => {
    const model = new SequenceModel({
      cell: 'lstm', hiddenSize: 12, numLayers: 2, input: { kind: 'tokens', vocabSize: 9 }, task: 'class-per-step', outputSize: 9, seed: 4,
    });
    const rng = new Rng(1);
    const B = 3;
    const inputs = Int32Array.from({ length: B * T }, () => rng.int(9));
    expect(chunked(model, inputs, B, 1)).toEqual(whole(model, inputs, B));
    expect(chunked(model, inputs, B, 1, true)).not.toEqual(whole(model, inputs, B));
  });

  it('a GRU spec with layer norm and a linear head over dense steps: the same', () => {
    const model = new SequenceModel({
      input: { kind: 'dense', size: 3 }, seed: 2,
      layers: [{ type: 'linear', outputSize: 8, activation: 'tanh' }, { type: 'recurrent', cell: 'gru', hiddenSize: 10 }, { type: 'layerNorm' }, { type: 'linear', outputSize: 2 }],
      loss: { kind: 'mse' },
    });
    const rng = new Rng(3);
    const B = 2;
    const inputs = Float32Array.from({ length: B * T * 3 }, () => rng.uniform() - 0.5);
    expect(chunked(model, inputs, B, 3)).toEqual(whole(model, inputs, B));
    expect(chunked(model, inputs, B, 3, true)).not.toEqual(whole(model, inputs, B));
  });

  it('refuses what cannot stream, saying why', () => {
    const bi = new SequenceModel({ cell: 'gru', hiddenSize: 4, bidirectional: true, input: { kind: 'dense', size: 1 }, task: 'value-per-step', outputSize: 1 });
    expect(() => new InferenceStream(bi)).toThrow(OptionError);
    expect(() => new InferenceStream(bi)).toThrow(/^streaming cannot carry the state of a bidirectional layer \('rnn'\): its backward direction reads the steps after each one/);
    const pooled = new SequenceModel({ cell: 'gru', hiddenSize: 4, input: { kind: 'dense', size: 1 }, task: 'class-per-sequence', outputSize: 2 });
    expect(() => new InferenceStream(pooled)).toThrow(/^streaming needs (every layer but the recurrent one to work step by step|outputs per step)/);
    const uni = new SequenceModel({ cell: 'gru', hiddenSize: 4, input: { kind: 'dense', size: 1 }, task: 'value-per-step', outputSize: 1 });
    expect(() => new InferenceStream(uni, { stream: 2 } as never)).toThrow('stream is not an option of a stream; did you mean streams?');
    expect(() => new InferenceStream(uni).feed(new Float32Array(3), 2)).toThrow('inputs has 3 values, expected 2 ([1 streams, 2 steps])');
  });
});
