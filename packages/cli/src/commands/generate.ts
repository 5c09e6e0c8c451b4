/**
 * `weft generate`: sample text from a character language model. The prime text is read
 * through the network once; then one character at a time is drawn from the softmax of the
 * logits divided by the temperature (only the k most likely when --top-k is set) and fed
 * back, with the recurrent state carried from step to step.
 */
import { Rng, type Batch } from '@weft/core';
import { Vocab } from '@weft/core';
import { loadModel, softmaxRow } from '../run/model.js';
import { InputError, UsageError } from '../run/errors.js';
import type { Output } from '../run/output.js';

export interface GenerateArgs {
  model?: string;
  prime: string;
  length: number;
  temperature: number;
  topK: number;
  seed: number;
  kernels: 'auto' | 'wasm' | 'reference';
}

export async function generateCommand(a: GenerateArgs, out: Output): Promise<number> {
  if (!(a.temperature > 0)) throw new UsageError(`--temperature must be a number above 0, got ${a.temperature}`);
  if (!Number.isInteger(a.length) || a.length < 0) throw new UsageError(`--length must be a non-negative integer, got ${a.length}`);
  if (!Number.isInteger(a.topK) || a.topK < 0) throw new UsageError(`--top-k must be a non-negative integer (0 = all), got ${a.topK}`);
  const { run, model } = loadModel(a.model, a.kernels);
  const meta = run.config.meta;
  if (meta.task !== 'lm') throw new InputError(`${run.file}: a ${meta.task} model; 'weft generate' needs a language model (weft train --task lm)`);
  const vocab = Vocab.fromJSON(meta.vocab);
  const V = model.outputSize;
  const rng = new Rng(a.seed);
  const prime = a.prime.length ? a.prime : '\n';
  const ids = vocab.encode(prime);
  let state: { hN: Float32Array; cN?: Float32Array } | undefined;
  const feed = (tokens: Int32Array): void => {
    const b: Batch = {
      batch: 1, steps: tokens.length, lengths: Int32Array.of(tokens.length), inputs: tokens,
      targets: new Int32Array(tokens.length).fill(-1),
      ...(state ? { h0: state.hN.slice(), ...(state.cN ? { c0: state.cN.slice() } : {}) } : {}),
    };
    model.evaluate(b);
    const s = model.lastState;
    state = { hN: s.hN.slice(), ...(s.cN ? { cN: s.cN.slice() } : {}) };
  };
  feed(ids);
  let text = '';
  const one = new Int32Array(1);
  for (let n = 0; n < a.length; n++) {
    const y = model.lastOutput;
    const p = softmaxRow(y, y.length - V, V, a.temperature);
    p[Vocab.PAD] = 0; // never emit padding
    if (a.topK > 0 && a.topK < V) {
      const cut = [...p].sort((x, z) => z - x)[a.topK - 1]!;
      for (let j = 0; j < V; j++) if (p[j]! < cut) p[j] = 0;
    }
    let z = 0;
    for (let j = 0; j < V; j++) z += p[j]!;
    let u = rng.uniform() * z;
    let k = V - 1;
    for (let j = 0; j < V; j++) { u -= p[j]!; if (u < 0) { k = j; break; } }
    text += vocab.decodeText([k]);
    one[0] = k;
    feed(one);
  }
  out.result({ command: 'generate', model: run.file, prime: a.prime, text, temperature: a.temperature, topK: a.topK, seed: a.seed }, a.prime + text);
  return 0;
}
