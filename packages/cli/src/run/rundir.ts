/**
 * The run directory of `weft train` on the file system: what must hold before the first step is
 * trained, and what a killed run leaves behind.
 *
 * - One run per directory. `run.lock` holds the owner's process id, host and start time; it is
 *   created with O_EXCL, so of two runs started at once exactly one gets it, and the other is
 *   refused before it writes anything, with a message naming the owner. A lock whose process is
 *   gone (killed: kill(pid, 0) says ESRCH) is stale and taken over with a notice. The lock is
 *   removed on every way out of the process (a normal end, an error, Ctrl-C, a closed stdout, a
 *   second Ctrl-C's process.exit); only SIGKILL and the like leave it, stale.
 * - The directory is made and written to (taking the lock is the probe) before any data is read,
 *   so a file in the way, a read-only file system or a full disk is reported then, naming the
 *   path and the cause, rather than after training; the free space is checked against the size
 *   of the run's checkpoints once the model is known (checkSpace).
 * - Temporary files of killed writers (core's writeFileAtomic names them
 *   `.best.weft.<pid>.<hex>.tmp`) are removed when the next run takes the lock, those of dead
 *   processes only.
 * - A resumed run's metrics.jsonl is cut back to its checkpoint's step (trimMetrics), so steps
 *   trained after the last checkpoint by a run that was killed or failed appear once.
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statfsSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { parseTempName, writeFileAtomicSync } from '@weft/core';
import { BEST_NAME, CHECKPOINT_NAME, LAST_NAME } from './checkpoint.js';
import { fileError, InputError } from './errors.js';

export const LOCK_NAME = 'run.lock';
export const METRICS_NAME = 'metrics.jsonl';
export const CURVES_NAME = 'curves.html';
/** The files a run writes in its directory (besides the lock). */
export const RUN_FILES: readonly string[] = [CHECKPOINT_NAME, BEST_NAME, LAST_NAME, METRICS_NAME, CURVES_NAME];

/** Another run holds the directory's lock (an InputError: exit 1). */
export class RunDirBusy extends InputError {}

/** What run.lock holds. */
interface LockOwner {
  pid: number;
  host: string;
  /** ISO 8601. */
  started: string;
}

/** Whether process `pid` of this host exists (EPERM: it does, as another user's). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The checkpoint of a run already in `dir` (its model.weft, or the last.weft of a run that never finished), if any. */
export function existingRun(dir: string): string | undefined {
  return [CHECKPOINT_NAME, LAST_NAME].map((f) => path.join(dir, f)).find((f) => existsSync(f));
}

export class RunDir {
  readonly lockFile: string;
  private held = true;
  private readonly onExit = (): void => this.release();

  private constructor(readonly dir: string, private readonly created: string | undefined, private readonly owner: LockOwner) {
    this.lockFile = path.join(dir, LOCK_NAME);
    process.on('exit', this.onExit);
  }

  /**
   * Makes `dir` (and its parents), takes its lock and removes the stray temporary files of
   * killed runs. `flag` names where the directory came from in messages (--out, --resume);
   * `notice` gets what is worth telling (a stale lock taken over, stray files removed).
   * Throws RunDirBusy when another run holds the lock, InputError naming the path and the
   * cause when the directory cannot be made or written.
   */
  static open(dir: string, flag: string, notice: (line: string) => void): RunDir {
    const created = makeDirectory(dir, flag);
    let owner: LockOwner;
    try {
      owner = takeLock(path.join(dir, LOCK_NAME), dir, flag, notice);
    } catch (e) {
      removeIfEmpty(dir, created);
      throw e;
    }
    const run = new RunDir(dir, created, owner);
    run.removeStrays(notice);
    return run;
  }

  /**
   * A new run directory `base`, `base-2`, `base-3`, ...: the first that holds no run and whose
   * lock is free (two runs started at once without --out get one directory each).
   */
  static openFresh(base: string, notice: (line: string) => void): RunDir {
    for (let i = 1; ; i++) {
      const dir = i === 1 ? base : `${base}-${i}`;
      if (existingRun(dir)) continue;
      try {
        return RunDir.open(dir, '--out', notice);
      } catch (e) {
        if (!(e instanceof RunDirBusy)) throw e;
      }
    }
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** The files of a run already here (what a run that replaces it must not lose before its first checkpoint). */
  runFiles(): string[] {
    return RUN_FILES.map((f) => this.file(f)).filter((f) => existsSync(f));
  }

  /**
   * Refuses to start when the file system has no room for the run's checkpoints: model.weft,
   * best.weft and last.weft of `checkpointBytes` each, and the temporary copy that replaces one
   * (files of the run already here are replaced, so they count as room). Where the free space
   * cannot be read, nothing is checked.
   */
  checkSpace(checkpointBytes: number, flag: string): void {
    let free: number;
    try {
      const s = statfsSync(this.dir);
      free = s.bavail * s.bsize;
    } catch {
      return;
    }
    const existing = [CHECKPOINT_NAME, BEST_NAME, LAST_NAME].map((f) => this.file(f)).filter((f) => existsSync(f)).reduce((n, f) => n + statSync(f).size, 0);
    const slack = 64 * 1024; // metrics.jsonl, curves.html, file-system blocks
    const need = 4 * checkpointBytes + slack;
    if (free + existing < need) {
      throw new InputError(`${flag} ${this.dir}: not enough space on its file system: ${kb(free)} free, and this run needs about ${kb(need - existing)} ` +
        `(${CHECKPOINT_NAME}, ${BEST_NAME} and ${LAST_NAME} of ${kb(checkpointBytes)} each, and room to replace one); free some space or choose another ${flag === '--resume' ? '--out' : flag}`);
    }
  }

  /** Removes the lock (if still this run's), and the directory again if this run made it and left it empty. Safe to call twice. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    process.off('exit', this.onExit);
    try {
      const owner = readOwner(this.lockFile);
      if (owner && owner.pid === this.owner.pid && owner.started === this.owner.started) unlinkSync(this.lockFile);
    } catch {
      // Gone already, or the directory went away: nothing to release.
    }
    removeIfEmpty(this.dir, this.created);
  }

  /** Removes the temporary files of run files whose writer is gone (a run killed while saving). */
  private removeStrays(notice: (line: string) => void): void {
    const removed: string[] = [];
    for (const name of readdirSync(this.dir)) {
      const t = parseTempName(name);
      if (!t || !RUN_FILES.includes(t.target) || processAlive(t.pid)) continue;
      try {
        unlinkSync(this.file(name));
        removed.push(name);
      } catch {
        // Removed by someone else meanwhile, or not ours to remove: leave it.
      }
    }
    if (removed.length) notice(`removed ${removed.length === 1 ? 'a temporary file' : `${removed.length} temporary files`} left in ${this.dir} by a run that was killed: ${removed.join(', ')}`);
  }
}

/**
 * Cuts `file` (metrics.jsonl) back to the records of steps up to `step`, the step of the
 * checkpoint a run resumes from: lines a killed or failed run wrote after its last checkpoint
 * would otherwise appear twice, and a line cut short by a full disk would make the file
 * unreadable. Returns how many lines were dropped.
 */
export function trimMetrics(file: string, step: number): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return 0;
  }
  const lines = text.split('\n');
  const partial = lines.pop()!; // '' when the file ends with a newline, else a line cut short
  const keep = lines.filter((l) => {
    try {
      const r = JSON.parse(l) as { step?: unknown };
      return typeof r.step === 'number' && r.step <= step;
    } catch {
      return false;
    }
  });
  const dropped = lines.length - keep.length + (partial === '' ? 0 : 1);
  if (dropped > 0) {
    try {
      writeFileAtomicSync(file, new TextEncoder().encode(keep.map((l) => l + '\n').join('')));
    } catch (e) {
      throw fileError(file, e, 'rewrite the metrics');
    }
  }
  return dropped;
}

function kb(bytes: number): string {
  return bytes >= 10 * 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(0)} MB` : `${Math.ceil(bytes / 1024).toLocaleString('en-US')} kB`;
}

/**
 * Makes `dir` and its parents; returns the topmost directory it made (undefined if `dir` was
 * there). A file in the way or a directory that cannot be made is reported with its path and
 * the real cause (a recursive mkdir on a read-only file system says ENOENT).
 */
function makeDirectory(dir: string, flag: string): string | undefined {
  let existing = dir;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  if (existsSync(existing) && !statSync(existing).isDirectory()) {
    const where = existing === dir ? `${dir} is a file, not a directory` : `${existing} is a file, not a directory, so ${dir} cannot be made`;
    throw new InputError(`${flag} ${where}: ${flag} names the run directory`);
  }
  if (existing === dir) return undefined;
  try {
    return mkdirSync(dir, { recursive: true });
  } catch (e) {
    // The first missing directory, made alone, fails with the real cause.
    const first = path.join(existing, path.relative(existing, dir).split(path.sep)[0]!);
    try {
      mkdirSync(first);
      rmdirSync(first);
    } catch (e2) {
      throw fileError(`${flag} ${first}`, e2, 'make the run directory');
    }
    throw fileError(`${flag} ${dir}`, e, 'make the run directory');
  }
}

/** Removes `dir` and its parents up to `top` while they are empty (a directory made for a run that wrote nothing). */
function removeIfEmpty(dir: string, top: string | undefined): void {
  if (top === undefined) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty, or gone
    }
    if (d === path.resolve(top)) return;
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.started === 'string' ? (o as LockOwner) : undefined;
  } catch {
    return undefined;
  }
}

function describeOwner(o: LockOwner): string {
  const secs = Math.max(0, Math.round((Date.now() - Date.parse(o.started)) / 1000));
  const ago = secs < 120 ? `${secs} s` : secs < 7200 ? `${Math.round(secs / 60)} min` : secs < 172_800 ? `${Math.round(secs / 3600)} h` : `${Math.round(secs / 86_400)} days`;
  return `process ${o.pid}${o.host !== hostname() ? ` on ${o.host}` : ''}, started ${o.started.replace(/\.\d+Z$/, 'Z')}, ${ago} ago`;
}

/** A lock another run holds: alive on this host, or on another host (whose processes cannot be checked from here). */
function lockHeld(o: LockOwner): boolean {
  return o.host !== hostname() || processAlive(o.pid);
}

/** An unreadable lock younger than this may be one being written (created, not yet filled). */
const FRESH_LOCK_MS = 5000;

/** Creates `file` with O_EXCL and this process as its owner; takes over a stale one. */
function takeLock(file: string, dir: string, flag: string, notice: (line: string) => void): LockOwner {
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileError(`${flag} ${dir}`, e, 'write in the run directory');
      const owner = readOwner(file);
      if (owner && lockHeld(owner)) throw busy(dir, file, owner);
      if (!owner) {
        let age = Infinity;
        try { age = Date.now() - statSync(file).mtimeMs; } catch { /* gone: try again */ }
        if (age < FRESH_LOCK_MS) throw new RunDirBusy(`${dir} is being locked by another weft train (${file} is not filled in yet); choose another --out, or try again`);
      }
      takeOver(file, owner, notice);
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n');
    } catch (e) {
      closeSync(fd);
      try { unlinkSync(file); } catch { /* nothing to undo */ }
      throw fileError(file, e, 'write the lock');
    }
    closeSync(fd);
    return me;
  }
  throw new RunDirBusy(`${dir}: could not take ${file}: other runs keep taking it over; choose another --out`);
}

function busy(dir: string, file: string, o: LockOwner): RunDirBusy {
  return new RunDirBusy(`${dir} is in use by another weft train: ${describeOwner(o)}. One run per directory: ` +
    `wait for it to end, or choose another --out (if that process is gone${o.host !== hostname() ? ' on its host' : ''}, remove ${file})`);
}

/**
 * Removes a stale lock so that the next O_EXCL create can take it. It is renamed aside first
 * (one rename wins), and put back if what was moved turns out to be a live run's lock (one
 * that another process took over between our read and the rename).
 */
function takeOver(file: string, stale: LockOwner | undefined, notice: (line: string) => void): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    renameSync(file, aside);
  } catch {
    return; // someone else moved it first: just try to create it again
  }
  const moved = readOwner(aside);
  if (moved && lockHeld(moved) && (!stale || moved.pid !== stale.pid || moved.started !== stale.started)) {
    try { linkSync(aside, file); } catch { /* a third run got there: its lock stands */ }
    unlinkSync(aside);
    return;
  }
  unlinkSync(aside);
  notice(stale
    ? `${file}: the run that held it is gone (${describeOwner(stale)}); taking it over`
    : `${file}: unreadable, left by a run that was killed; taking it over`);
}
