import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTempName, tempPathFor, writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary behind', async () => {
    const path = join(dir, 'a.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, [bytes('new '), bytes('content')]);
    expect(readFileSync(path, 'utf8')).toBe('new content');
    writeFileAtomicSync(path, bytes('sync'));
    expect(readFileSync(path, 'utf8')).toBe('sync');
    expect(readdirSync(dir).filter((f) => f.startsWith('.a.bin'))).toEqual([]);
  });

  it('a failure half-way leaves the old file intact: the new bytes only ever went to a temporary beside it', async () => {
    const path = join(dir, 'b.bin');
    writeFileSync(path, 'old content');
    const seenDuringWrite: { target: string; temps: string[] }[] = [];
    function* crashing(): Generator<Uint8Array> {
      yield bytes('half of the new ');
      seenDuringWrite.push({ target: readFileSync(path, 'utf8'), temps: readdirSync(dir).filter((f) => f.startsWith('.b.bin.')) });
      throw new Error('simulated crash');
    }
    await expect(writeFileAtomic(path, crashing())).rejects.toThrow('simulated crash');
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(seenDuringWrite[0]!.target).toBe('old content');
    expect(seenDuringWrite[0]!.temps.length).toBe(1);
    expect(readFileSync(join(dir, 'b.bin'), 'utf8')).toBe('old content');
    // The temporary is cleaned up after a failure we see.
    expect(readdirSync(dir).filter((f) => f.startsWith('.b.bin.'))).toEqual([]);

    function* crashingSync(): Generator<Uint8Array> {
      yield bytes('x');
      throw new Error('simulated crash');
    }
    expect(() => writeFileAtomicSync(path, crashingSync())).toThrow('simulated crash');
    expect(readFileSync(path, 'utf8')).toBe('old content');
    expect(readdirSync(dir).filter((f) => f.startsWith('.b.bin.'))).toEqual([]);
  });

  it('fails cleanly when the directory does not exist', async () => {
    await expect(writeFileAtomic(join(dir, 'missing', 'c.bin'), bytes('x'))).rejects.toThrow(/ENOENT/);
  });

  it('parseTempName reads back the target and the writer of a temporary name, and nothing else', () => {
    const tmp = tempPathFor(join(dir, 'best.weft'));
    expect(parseTempName(tmp.slice(dir.length + 1))).toEqual({ target: 'best.weft', pid: process.pid });
    expect(parseTempName('.metrics.jsonl.123.0a1b2c.tmp')).toEqual({ target: 'metrics.jsonl', pid: 123 });
    for (const other of ['best.weft', '.best.weft.tmp', '.best.weft.12.xyz.tmp', 'best.weft.12.ab.tmp']) expect(parseTempName(other)).toBeUndefined();
  });
});
