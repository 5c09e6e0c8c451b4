/**
 * The example server (packages/workers/examples/server) as a real child process: it listens on
 * an ephemeral port of 127.0.0.1, trains in the background, and /progress shows the steps
 * advancing; SIGTERM stops training and the process exits cleanly.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './helpers/compare.js';

const server = path.join(repoRoot, 'packages/workers/examples/server/server.mjs');

interface Progress { state: string; step: number; loss: number | null }

describe('example server', () => {
  it('reports advancing steps on GET /progress while training, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, [server], {
      env: { ...process.env, HOST: '127.0.0.1', PORT: '0', WORKERS: '2', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b) => (stderr += b));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b) => {
          out += b;
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/progress)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
      });
      const poll = async (): Promise<Progress> => (await (await fetch(url)).json()) as Progress;
      // Poll until training has taken a couple of steps, then see the count move on.
      let first: Progress;
      for (;;) {
        first = await poll();
        if (first.state === 'failed') throw new Error(`training failed: ${JSON.stringify(first)}`);
        if (first.step >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(first.state).toBe('training');
      expect(Number.isFinite(first.loss)).toBe(true);
      // A query string names the same resource; HEAD answers its headers alone; other methods 405.
      const query = await fetch(`${url}?x=1`);
      expect(query.status).toBe(200);
      expect(((await query.json()) as Progress).state).toBe('training');
      const head = await fetch(url, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('application/json');
      expect(await head.text()).toBe('');
      const put = await fetch(url, { method: 'PUT' });
      expect(put.status).toBe(405);
      expect(put.headers.get('allow')).toBe('GET, HEAD');
      let later: Progress;
      do {
        await new Promise((r) => setTimeout(r, 50));
        later = await poll();
      } while (later.step <= first.step);
      expect(later.step).toBeGreaterThan(first.step);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

/** Runs the server to its exit with `env`, returning its exit code and stderr (bounded in time). */
async function runToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [server], { env: { ...process.env, HOST: '127.0.0.1', NODE_OPTIONS: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b) => (stderr += b));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stderr, ms: Date.now() - t0 };
}

describe('example server: bad settings end it with one line, before training', () => {
  it.each([
    ['PORT', 'abc', /PORT must be an integer from 0 to 65535, got "abc"/],
    ['PORT', '99999', /PORT must be an integer from 0 to 65535, got "99999"/],
    ['WORKERS', '1000', /WORKERS must be an integer from 1 to \d+, got "1000"/],
    ['EPOCHS', '-3', /EPOCHS must be an integer from 1 to/],
  ])('%s=%s', async (name, value, message) => {
    const r = await runToExit({ PORT: '0', [name]: value });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('a port in use', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runToExit({ PORT: String(port) });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is in use`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
    }
  });
});
