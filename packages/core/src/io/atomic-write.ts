/**
 * Write a file so that readers only ever see the old content or the complete new content:
 * write a temporary file in the same directory (a rename is only atomic within one file
 * system), fsync it, rename it over the target, then fsync the directory so the rename itself
 * survives a power cut. A crash before the rename leaves the old file untouched (and at worst
 * a stray `.<name>.<pid>.<random>.tmp` beside it); a failure we see removes the temporary.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export type WriteData = Uint8Array | Iterable<Uint8Array>;

/** The temporary file's name: hidden, beside the target, unique per process and call. */
export function tempPathFor(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * The target and the writer's process id of a temporary file name made by tempPathFor (a bare
 * name, no directory), or undefined for any other name: what a cleaner needs to tell the stray
 * file of a killed writer from one still being written.
 */
export function parseTempName(name: string): { target: string; pid: number } | undefined {
  const m = /^\.(.+)\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
  return m ? { target: m[1]!, pid: Number(m[2]) } : undefined;
}

export async function writeFileAtomic(path: string, data: WriteData | AsyncIterable<Uint8Array>): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'wx');
  try {
    for await (const chunk of chunksOf(data)) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done);
        done += bytesWritten;
      }
    }
    await fh.sync();
    await fh.close();
  } catch (err) {
    await fh.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDirectory(dirname(resolve(path)));
}

export function writeFileAtomicSync(path: string, data: WriteData): void {
  const tmp = tempPathFor(path);
  const fd = openSync(tmp, 'wx');
  try {
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      let done = 0;
      while (done < chunk.byteLength) done += writeSync(fd, chunk, done, chunk.byteLength - done);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw err;
  }
  try {
    const dfd = openSync(dirname(resolve(path)), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename stands.
  }
}

async function* chunksOf(data: WriteData | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch {
    // Directories cannot be opened or fsynced on some platforms (Windows); the rename stands.
  }
}
