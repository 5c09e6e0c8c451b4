// bench/device/check.mjs, the checks the device run makes before its numbers count (bench/device/
// run.sh), run here as the device runs it, as a child process: so that the script a session with
// a 16-core machine will rely on, without a test runner there, does not rot between such sessions.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nativeTurnedOff } from '@weft/core';

const CHECK = fileURLToPath(new URL('../device/check.mjs', import.meta.url));

describe('the device run\'s checks', () => {
  it.skipIf(nativeTurnedOff())('pass on this machine: every native variant against the reference, the LSTM cells\' bits, the pool\'s bits at 1 and 2 workers', () => {
    const r = spawnSync(process.execPath, [CHECK], { encoding: 'utf8', timeout: 240_000 });
    const lines = r.stdout.trim().split('\n');
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(lines.some((l) => /^ok {3}native gemm \(\w+\) vs reference: \d+ cases$/.test(l))).toBe(true);
    expect(lines.some((l) => /^ok {3}native LSTM cells \(\w+\) give the WebAssembly bits$/.test(l))).toBe(true);
    expect(lines.filter((l) => /^ok {3}Trainer, \d+ worker\(s\), native/.test(l)).length).toBeGreaterThanOrEqual(2);
  });
});
