// The native kernels on arm64, from this x86-64 machine (native/cross/cross.mjs): the addon built
// for arm64 by a cross compiler, and the portable kernels (NEON there) run under qemu against
// float64 sums and against this machine's cell kernel bits. Where the cross compiler or qemu is
// not installed (Debian: gcc-aarch64-linux-gnu, qemu-user), the test is skipped and says which.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CROSS = fileURLToPath(new URL('../../native/cross/cross.mjs', import.meta.url));

describe('the native kernels on arm64 (cross-built, run under qemu)', () => {
  it('build as an AArch64 addon, and compute what this machine computes', (ctx) => {
    const r = spawnSync(process.execPath, [CROSS], { encoding: 'utf8', timeout: 240_000 });
    expect(r.error, 'cross.mjs did not run to its end').toBeUndefined();
    expect(r.signal).toBeNull();
    if (r.status === 3) {
      ctx.skip(r.stderr.trim());
      return;
    }
    expect(r.stderr, r.stdout).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^addon for arm64: built \(\d+ sources/m);
    const m = /^kernels on arm64 \(qemu\): (\d+) products within their bounds or with the bits they must have; (\d+) cell kernel cases with this machine's bits$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(50);
    expect(Number(m![2])).toBeGreaterThan(100);
  }, 300_000);
});
