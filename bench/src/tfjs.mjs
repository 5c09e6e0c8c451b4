// TensorFlow.js 4.22 on the reference workloads: Keras-style layers, Adam lr 1e-3,
// model.trainOnBatch on random data. Run as a child process by run.mjs (one process per
// measurement, so its peak RSS is its own), which hands it the workload's shape as JSON
// (@weft/core's `workloadShape`; no workload is defined here):
//   node bench/src/tfjs.mjs --shape "$(node -e ...workloadShape('bilstm')...)" --backend wasm --warmup 1 --steps 1
// prints one JSON line: { engine, backend, workload, stepMs[], stepMsMedian, loss, peakRssMB };
// run.mjs adds tokens/s and GFLOP/s by the shape's FLOP count.
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { tfjsRequire } from './tfjs-install.mjs';

// TensorFlow.js lives in bench/tfjs, outside the workspace (run.mjs installs it there). The full
// bundle, not tfjs-core + tfjs-layers: it registers the chained tensor methods (t.flatten(), ...)
// that the layers' initialisers call, and the cpu backend.
const tf = await import(pathToFileURL(tfjsRequire.resolve('@tensorflow/tfjs')).href);

const BACKENDS = ['wasm', 'cpu'];

/**
 * Selects and initialises the backend. wasm: XNNPACK SIMD build, one thread (the multi-threaded
 * build is not used in Node), binaries from the npm package's own dist folder.
 * @param {'wasm'|'cpu'} backend
 */
export async function useBackend(backend) {
  if (!BACKENDS.includes(backend)) {
    throw new RangeError(`backend must be one of ${BACKENDS.join(', ')}; got '${backend}'`);
  }
  if (backend === 'wasm') {
    const main = tfjsRequire.resolve('@tensorflow/tfjs-backend-wasm');
    const wasm = await import(pathToFileURL(main).href);
    // The package's main file lives in dist/, beside the three .wasm binaries.
    const dist = dirname(main);
    wasm.setWasmPaths(`${dist}/`);
    tf.env().set('WASM_HAS_SIMD_SUPPORT', true);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js backend '${backend}' failed to initialise`);
  await tf.ready();
}

/** The workload's model in Keras layers, compiled with Adam(1e-3) and its loss. */
export function buildModel(w) {
  const model = tf.sequential();
  // One recurrent layer, full sequences out (the head reads every step). Gates are sigmoid as in
  // PyTorch (tfjs-layers defaults LSTM/GRU to hardSigmoid).
  const cell = (extra) => {
    const common = { units: w.hidden, returnSequences: true, ...extra };
    if (w.cell === 'lstm') return tf.layers.lstm({ ...common, recurrentActivation: 'sigmoid' });
    if (w.cell === 'gru') return tf.layers.gru({ ...common, recurrentActivation: 'sigmoid' });
    return tf.layers.simpleRNN({ ...common, activation: 'tanh' });
  };
  const recurrent = (first) => {
    const shape = first ? { inputShape: [w.T, w.input] } : {};
    if (!w.bidirectional) return cell(shape);
    return tf.layers.bidirectional({ layer: cell({}), mergeMode: 'concat', ...shape });
  };
  for (let l = 0; l < w.layers; l++) model.add(recurrent(l === 0));
  const activation = w.loss === 'ce' ? 'softmax' : 'linear';
  model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: w.output, activation }) }));
  model.compile({
    optimizer: tf.train.adam(1e-3),
    loss: w.loss === 'ce' ? 'categoricalCrossentropy' : 'meanSquaredError',
  });
  return model;
}

/** Random batch: one-hot inputs and targets [B,T,V], or normal values [B,T,I] and [B,T,O] for regression. */
function randomBatch(w) {
  if (w.encoding === 'onehot') {
    const ids = () => tf.randomUniform([w.B, w.T], 0, w.input, 'int32', 1);
    const x = tf.tidy(() => tf.oneHot(ids(), w.input).toFloat());
    const y = tf.tidy(() => tf.oneHot(tf.randomUniform([w.B, w.T], 0, w.output, 'int32', 2), w.output).toFloat());
    return { x, y };
  }
  return { x: tf.randomNormal([w.B, w.T, w.input], 0, 1, 'float32', 3), y: tf.randomNormal([w.B, w.T, w.output], 0, 1, 'float32', 4) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Warm-up steps (graph build, wasm compile, first allocations) then timed steps.
 * @param {{ name: string, cell: string, layers: number, hidden: number, bidirectional: boolean, input: number, encoding: string, output: number, loss: string, T: number, B: number }} w
 *   the workload's shape (@weft/core's `workloadShape`)
 * @param {{ backend?: 'wasm'|'cpu', warmup?: number, steps?: number }} [opts]
 */
export async function runTfjs(w, { backend = 'wasm', warmup = 1, steps = 1 } = {}) {
  await useBackend(backend);
  const model = buildModel(w);
  const { x, y } = randomBatch(w);
  const stepMs = [];
  let loss = NaN;
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    loss = await model.trainOnBatch(x, y); // resolves after the loss is read back: the step is done
    const ms = performance.now() - t0;
    if (i >= warmup) stepMs.push(ms);
  }
  return {
    engine: 'tfjs',
    backend,
    workload: w.name,
    workers: 1,
    stepMs,
    stepMsMedian: median(stepMs),
    loss: Array.isArray(loss) ? loss[0] : loss,
    // maxRSS is in KiB: the whole process's peak, this child runs nothing else.
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      shape: { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
      warmup: { type: 'string', default: '1' },
      steps: { type: 'string', default: '1' },
    },
  });
  if (values.shape === undefined) throw new Error('tfjs.mjs: --shape JSON is required (run.mjs passes @weft/core\'s workloadShape)');
  const result = await runTfjs(JSON.parse(values.shape), {
    backend: values.backend,
    warmup: Number(values.warmup),
    steps: Number(values.steps),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
