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
 * (default: all cores; at most 4 × the cores), EPOCHS (default 1000). A bad value, or a port in
 * use, ends the server with one line naming it, before training starts where it can. Run from the repository after `pnpm build`:
 *
 *   node packages/workers/examples/server/server.mjs
 *   curl http://127.0.0.1:8080/progress
 */
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { createRemoteTrainer } from '@weft/workers';

/** Exits with one line naming the variable and what it expected, before anything is started. */
function fail(message) {
  process.stderr.write(`weft example server: ${message}\n`);
  process.exit(2);
}

/** An integer environment variable in [min, max], or its default when unset. */
function intEnv(name, fallback, min, max) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

const HOST = process.env.HOST || '127.0.0.1';
const PORT = intEnv('PORT', 8080, 0, 65535);
// More workers than cores only adds threads and memory: refuse far beyond it.
const WORKERS = intEnv('WORKERS', undefined, 1, 4 * availableParallelism());
const EPOCHS = intEnv('EPOCHS', 1000, 1, 1e9);

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
const controller = new AbortController();

const server = http.createServer((req, res) => {
  const send = (code, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    // HEAD gets the headers of the same answer, without the body.
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  // The path alone: /progress?x=1 is /progress.
  const route = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (route === '/progress') {
    if (req.method === 'GET' || req.method === 'HEAD') return send(200, progress);
    return send(405, { error: 'GET /progress' }, { allow: 'GET, HEAD' });
  }
  if (route === '/stop') {
    if (req.method !== 'POST') return send(405, { error: 'POST /stop' }, { allow: 'POST' });
    controller.abort();
    return send(202, { state: 'stopping' });
  }
  send(404, { error: 'try GET /progress or POST /stop' });
});

// Listen first: a port in use ends the server before any thread is started.
await new Promise((resolve) => {
  server.once('error', (e) => {
    const why = e.code === 'EADDRINUSE' ? `port ${PORT} on ${HOST} is in use (set PORT to another port, or 0 for a free one)`
      : e.code === 'EACCES' ? `no permission to listen on port ${PORT} (ports below 1024 need privileges; set PORT)`
      : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' ? `HOST ${HOST} is not an address of this machine`
      : `cannot listen on ${HOST}:${PORT}: ${e.message}`;
    fail(why);
  });
  server.listen(PORT, HOST, resolve);
});

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

progress.state = 'training';
const training = trainer.fit(train, { epochs: EPOCHS, validation, signal: controller.signal }).then(
  () => { progress.state = 'done'; },
  (e) => {
    progress.state = e?.name === 'AbortError' ? 'stopped' : 'failed';
    if (progress.state === 'failed') progress.error = String(e?.message ?? e);
  },
);

const a = server.address();
console.log(`weft example server listening on http://${a.address}:${a.port}/progress`);

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
