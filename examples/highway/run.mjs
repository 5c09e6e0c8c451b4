// A model spec with a layer of one's own (highway.mjs), trained by the multi-core Trainer: the
// workers import the layer's module themselves, from the spec's `modules`.
//
//   node examples/highway/run.mjs [--workers N] [--epochs N] [--seed N]
//
// The task: is token 1 more frequent than token 2 in a sequence of 4..16 tokens over 6? Counting
// over a whole sequence: a bidirectional GRU, a highway layer on every step, mean pooling.
import { pathToFileURL } from 'node:url';
import { Rng, loadLayerModules } from '@weft/core';
import { Trainer } from '@weft/workers';

/** The spec: plain data; `modules` names highway.mjs for every thread. */
export const SPEC = {
  input: { kind: 'tokens', vocabSize: 6 },
  layers: [
    { type: 'embedding', name: 'embedding', dim: 8 },
    { type: 'recurrent', name: 'rnn', cell: 'gru', hiddenSize: 16, bidirectional: true },
    { type: 'highway', name: 'highway', activation: 'tanh' },
    { type: 'pool', name: 'pool', mode: 'mean' },
    { type: 'linear', name: 'head', outputSize: 2 },
  ],
  loss: { kind: 'crossEntropy' },
  modules: [new URL('./highway.mjs', import.meta.url).href],
  seed: 1,
};

/** `count` sequences; class 1 iff token 1 occurs more often than token 2. */
export function countingDataset(count, seed) {
  const rng = new Rng(seed);
  const T = 16;
  const lengths = new Int32Array(count);
  const inputs = new Int32Array(count * T);
  const targets = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const L = 4 + rng.int(T - 3);
    lengths[i] = L;
    let c = 0;
    for (let t = 0; t < L; t++) {
      const v = rng.int(6);
      inputs[i * T + t] = v;
      c += v === 1 ? 1 : v === 2 ? -1 : 0;
    }
    targets[i] = c > 0 ? 1 : 0;
  }
  return { inputKind: 'tokens', inputSize: 6, targetKind: 'class-per-sequence', outputSize: 2, count, maxSteps: T, lengths, inputs, targets };
}

export async function runHighway({ workers = 2, epochs = 10, seed = 1, kernels = 'auto', onEpoch } = {}) {
  await loadLayerModules(SPEC); // this thread builds the model too (the Trainer's parameter table)
  const train = countingDataset(2000, seed);
  const valid = countingDataset(500, seed + 1000);
  const t0 = performance.now();
  const trainer = new Trainer({ model: SPEC, optimizer: { name: 'adam', lr: 0.01 }, batchSize: 32, clipNorm: 1, seed, workers, kernels });
  try {
    if (onEpoch) trainer.on('epoch', onEpoch);
    const fit = await trainer.fit(train, { epochs, validation: valid });
    const last = fit.epochs.at(-1);
    const majority = Math.max(...[0, 1].map((c) => valid.targets.filter((y) => y === c).length)) / valid.count;
    return {
      example: 'highway', workers, epochs, trainLoss: fit.loss, validLoss: last.validation.loss, validAccuracy: last.validation.accuracy,
      majority, kernels: trainer.kernels, seconds: (performance.now() - t0) / 1000, params: trainer.getParams(),
    };
  } finally {
    await trainer.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name, d) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : d;
  };
  const r = await runHighway({
    workers: arg('workers', 2), epochs: arg('epochs', 10), seed: arg('seed', 1),
    onEpoch: (e) => console.log(`epoch ${e.epoch + 1}: train loss ${e.loss.toFixed(4)}, validation loss ${e.validation.loss.toFixed(4)}, accuracy ${(100 * e.validation.accuracy).toFixed(1)}%`),
  });
  const { params: _p, ...summary } = r;
  console.log(JSON.stringify(summary));
}
