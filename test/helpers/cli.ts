/**
 * Runs the real `weft` binary (the built packages/cli/dist/bin.js) as a child process.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
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

/** A run of weft with what it cost: wall time, and the peak resident memory of the whole process (all its threads). */
export interface MeasuredResult extends CliResult {
  ms: number;
  /** Peak resident set size in MiB (process.resourceUsage().maxRSS at exit), NaN if the process was killed. */
  maxRssMiB: number;
}

/** A module that writes the process's peak memory to $WEFT_TEST_RSS_FILE when it exits (loaded with --import). */
const RSS_PROBE = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.WEFT_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)));",
)}`;

/** weft(args), timed, with its peak memory: for the limits' tests, which promise bounded time and memory. */
export function weftMeasured(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): MeasuredResult {
  const rssFile = path.join(mkdtempSync(path.join(tmpdir(), 'weft-rss-')), 'rss');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', RSS_PROBE, BIN, ...args], {
    cwd: opts.cwd ?? repoRoot, encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, env: { ...process.env, NO_COLOR: '1', WEFT_TEST_RSS_FILE: rssFile },
  });
  const ms = performance.now() - t0;
  let maxRssMiB = NaN;
  try { maxRssMiB = Number(readFileSync(rssFile, 'utf8')) / 1024; } catch { /* killed before exit */ }
  const lines = (r.stdout ?? '').trim().split('\n');
  let json: unknown;
  try { json = JSON.parse(lines[lines.length - 1] ?? ''); } catch { json = undefined; }
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', json, ms, maxRssMiB };
}

/** Starts weft and resolves when `until(line)` sees a stdout line; returns the child. */
export function weftSpawn(args: string[], cwd = repoRoot) {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface CliRun extends Omit<CliResult, 'json'> {
  /** The signal that ended it (SIGKILL), else null. */
  signal: NodeJS.Signals | null;
  pid: number;
  /** Wall-clock milliseconds from start to exit. */
  ms: number;
}

/**
 * Runs weft without blocking this process (for runs side by side), calling `onLine` with each
 * complete stdout line and the child, so a test can act at a given event (kill it, fill its disk).
 */
export function weftAsync(args: string[], onLine?: (line: string, child: ChildProcessWithoutNullStreams) => void, cwd = repoRoot): Promise<CliRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    pending += d.toString();
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      onLine?.(line, child);
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr, pid: child.pid!, ms: performance.now() - t0 }));
  });
}

export function tempDir(prefix = 'weft-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}
