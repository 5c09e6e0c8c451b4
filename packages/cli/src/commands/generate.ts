/**
 * `weft generate`: sample text from a character language model. The prime text is read
 * through the network once; then one character at a time is drawn from the softmax of the
 * logits divided by the temperature (only the k most likely when --top-k is set) and fed
 * back, with the recurrent state carried from step to step. --greedy (or --temperature 0)
 * takes the most likely character each time instead: the same text for every seed.
 */
import { InferenceStream, OptionError, Rng, UnknownSymbols, Vocab } from '@weft/core';
import type { KernelChoice } from '@weft/core';
import { argmax, loadModel, softmaxRow } from '../run/model.js';
import { InputError } from '../run/errors.js';
import type { Output } from '../run/output.js';

export interface GenerateArgs {
  model?: string;
  prime: string;
  length: number;
  temperature: number;
  topK: number;
  greedy?: boolean;
  seed: number;
  kernels: KernelChoice;
}

export async function generateCommand(a: GenerateArgs, out: Output): Promise<number> {
  // The flags' values were checked in run/flags.ts.
  const greedy = Boolean(a.greedy) || a.temperature === 0;
  const { run, model } = loadModel(a.model, a.kernels);
  const meta = run.config.meta;
  if (meta.task !== 'lm') throw new InputError(`${run.file}: a ${meta.task} model; 'weft generate' needs a language model (weft train --task lm)`);
  // The state is carried from step to step by core's InferenceStream, which refuses a model whose
  // output at a step would depend on later steps (a bidirectional layer, pooling over time).
  let stream: InferenceStream;
  try {
    stream = new InferenceStream(model);
  } catch (e) {
    if (e instanceof OptionError) throw new InputError(`${run.file}: 'weft generate' feeds one character at a time, but ${e.message}`);
    throw e;
  }
  const vocab = Vocab.fromJSON(meta.vocab);
  const V = model.outputSize;
  const rng = new Rng(a.seed);
  const prime = a.prime.length ? a.prime : '\n';
  const counter = new UnknownSymbols('char');
  const ids = vocab.encode(prime, counter);
  const unknown = out.unknown(counter.report());
  let y = stream.feed(ids, ids.length);
  let text = '';
  const one = new Int32Array(1);
  for (let n = 0; n < a.length; n++) {
    const p = softmaxRow(y, y.length - V, V, greedy ? 1 : a.temperature);
    p[Vocab.PAD] = 0; // never emit padding
    const k = greedy ? argmax(p, 0, V) : sample(p, a.topK, rng);
    text += vocab.decodeText([k]);
    one[0] = k;
    y = stream.feed(one, 1);
  }
  out.result({ command: 'generate', model: run.file, prime: a.prime, text, unknown, greedy, temperature: greedy ? 0 : a.temperature, topK: greedy ? 0 : a.topK, seed: a.seed }, a.prime + text);
  return 0;
}

/** A draw from probabilities p (not necessarily summing to 1), among the k largest only when k > 0. */
function sample(p: Float64Array, topK: number, rng: Rng): number {
  const V = p.length;
  if (topK > 0 && topK < V) {
    const cut = [...p].sort((x, z) => z - x)[topK - 1]!;
    for (let j = 0; j < V; j++) if (p[j]! < cut) p[j] = 0;
  }
  let z = 0;
  for (let j = 0; j < V; j++) z += p[j]!;
  let u = rng.uniform() * z;
  for (let j = 0; j < V; j++) { u -= p[j]!; if (u < 0) return j; }
  return V - 1;
}
