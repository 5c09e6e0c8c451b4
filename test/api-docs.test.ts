// The API reference is generated from the typings by TypeDoc (`pnpm docs:api`, typedoc.json,
// into docs/api/, not committed). This runs the same generation into a temporary folder and
// fails on any TypeDoc warning (a broken {@link}, an unresolvable reference in a doc comment),
// so the reference of every exported name of the three packages can always be built cleanly.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const out = mkdtempSync(path.join(tmpdir(), 'weft-api-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('API reference (TypeDoc)', () => {
  it('builds from the three packages without a warning, one page per package', async () => {
    const typedoc = path.join(root, 'node_modules', '.bin', 'typedoc');
    // typedoc.json sets treatWarningsAsErrors: a warning makes the run fail.
    const r = await promisify(execFile)(typedoc, ['--out', out], { cwd: root }).catch((e: { stdout: string; stderr: string; code: number }) => e);
    const text = `${r.stdout}\n${r.stderr}`;
    expect(text).not.toMatch(/\[warning\]|\[error\]/);
    expect('code' in r ? r.code : 0).toBe(0);
    for (const pkg of ['core', 'workers', 'cli']) {
      const page = path.join(out, 'modules', `_weft_${pkg}.html`);
      expect(existsSync(page), page).toBe(true);
    }
    // A few names of each package's front door are documented.
    const core = readFileSync(path.join(out, 'modules', '_weft_core.html'), 'utf8');
    for (const name of ['SequenceModel', 'RecurrentStack', 'loadCheckpoint', 'WasmMemory']) expect(core).toContain(name);
    expect(readFileSync(path.join(out, 'modules', '_weft_workers.html'), 'utf8')).toContain('Trainer');
  });
});
