/**
 * Runs the real `weft` binary (the built packages/cli/dist/bin.js) as a child process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './compare.js';

export const BIN = path.join(repoRoot, 'packages/cli/dist/bin.js');
export const EXAMPLES = path.join(repoRoot, 'examples/data');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (with --json). */
  json: any;
}

export function weft(args: string[], opts: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? repoRoot, encoding: 'utf8', timeout: opts.timeoutMs ?? 240_000, env: { ...process.env, NO_COLOR: '1', ...opts.env },
  });
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: unknown;
  try { json = JSON.parse(lines[lines.length - 1] ?? ''); } catch { json = undefined; }
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', json };
}

/** Starts weft and resolves when `until(line)` sees a stdout line; returns the child. */
export function weftSpawn(args: string[], cwd = repoRoot) {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tempDir(prefix = 'weft-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
