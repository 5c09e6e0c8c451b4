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
