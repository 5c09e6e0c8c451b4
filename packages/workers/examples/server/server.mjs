/**
 * A small HTTP server that trains a model in the background and reports progress, without
 * ever running training code on its own thread: the trainer lives on another thread
 * (createRemoteTrainer), which runs its worker pool. The server's event loop stays free to
 * answer requests while every core trains.
 *
 *   GET  /progress   JSON: state, step, epoch, loss, tokens/s, last validation
 *   POST /stop       aborts training (the model stays as after its last whole step)
 *
 * Environment: HOST (default 127.0.0.1), PORT (default 8080; 0 picks a free port), WORKERS
 * (default: all cores), EPOCHS (default 1000). Run from the repository after `pnpm build`:
 *
 *   node packages/workers/examples/server/server.mjs
 *   curl http://127.0.0.1:8080/progress
 */
import http from 'node:http';
import { createRemoteTrainer } from '@weft/workers';

const HOST = process.env.HOST ?? '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8080);
const WORKERS = process.env.WORKERS ? Number(process.env.WORKERS) : undefined;
const EPOCHS = Number(process.env.EPOCHS ?? 1000);

/**
 * A task a recurrent network can learn: sequences of tokens, and at every step the target is
 * the token two steps back (so the model must remember). Deterministic pseudo-random data.
 */
function delayedCopy(count, steps, vocab, seed) {
  let s = seed;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % vocab;
  const lengths = new Int32Array(count).fill(steps);
  const inputs = new Int32Array(count * steps).map(() => next());
  const targets = inputs.map((_, i) => (i % steps >= 2 ? inputs[i - 2] : 0));
  return { inputKind: 'tokens', inputSize: vocab, targetKind: 'class-per-step', outputSize: vocab, count, maxSteps: steps, lengths, inputs, targets };
}

const V = 8;
const train = delayedCopy(512, 16, V, 1);
const validation = delayedCopy(64, 16, V, 2);

const progress = { state: 'starting', step: 0, epoch: 0, loss: null, tokensPerSecond: null, validation: null, error: null };

const trainer = await createRemoteTrainer({
  model: { cell: 'lstm', hiddenSize: 32, input: { kind: 'tokens', vocabSize: V }, task: 'class-per-step', outputSize: V, seed: 1 },
  optimizer: { name: 'adam', lr: 0.01 },
  batchSize: 32,
  ...(WORKERS ? { workers: WORKERS } : {}),
});
trainer.on('step', (e) => {
  progress.step = e.step + 1;
  progress.epoch = e.epoch;
  progress.loss = e.loss;
  progress.tokensPerSecond = Math.round(e.tokensPerSecond);
});
trainer.on('epoch', (e) => { progress.validation = e.validation; });

const controller = new AbortController();
progress.state = 'training';
const training = trainer.fit(train, { epochs: EPOCHS, validation, signal: controller.signal }).then(
  () => { progress.state = 'done'; },
  (e) => {
    progress.state = e?.name === 'AbortError' ? 'stopped' : 'failed';
    if (progress.state === 'failed') progress.error = String(e?.message ?? e);
  },
);

const server = http.createServer((req, res) => {
  const send = (code, body) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'GET' && req.url === '/progress') return send(200, progress);
  if (req.method === 'POST' && req.url === '/stop') {
    controller.abort();
    return send(202, { state: 'stopping' });
  }
  send(404, { error: 'try GET /progress or POST /stop' });
});

server.listen(PORT, HOST, () => {
  const a = server.address();
  console.log(`weft example server listening on http://${a.address}:${a.port}/progress`);
});

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  controller.abort();
  await training;
  await trainer.close();
  server.closeAllConnections();
  server.close();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
