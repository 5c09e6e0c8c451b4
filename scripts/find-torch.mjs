// Where PyTorch is on this machine, for the two places that compare weft with it: the tests
// (test/helpers/torch.ts) and the benchmark (bench/src/run.mjs). bench/ is plain ES modules and
// may not import test/, so the lookup lives here, beside npm-folder.mjs, for both.
import { spawnSync } from 'node:child_process';

/** Where PyTorch is looked for when no python is named (--python, WEFT_PYTHON): Debian's python3-torch, then PATH's. */
export const DEFAULT_PYTHONS = ['/usr/bin/python3', 'python3'];

/**
 * The first candidate that imports torch: { python, torch } (torch's version), or { reason } saying
 * what each candidate answered.
 */
export function findTorch(candidates) {
  const reasons = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 });
    if (r.status === 0) return { python, torch: r.stdout.trim() };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`);
    reasons.push(`${python}: ${why}`);
  }
  return { reason: reasons.join('; ') };
}
