/**
 * PyTorch beside the tests (test/pytorch.test.ts): which Python can `import torch`, and running
 * scripts and `torchrun` with it. The lookup: $WEFT_PYTHON, else /usr/bin/python3 (Debian's
 * python3-torch), else python3 on PATH; the first that imports torch. Where none does the tests
 * skip saying why, unless WEFT_REQUIRE_TORCH=1 (CI), where they fail.
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { DEFAULT_PYTHONS, findTorch as firstTorch } from '../../scripts/find-torch.mjs';

export interface TorchPython {
  /** The interpreter, or undefined when none can import torch. */
  python?: string;
  /** Why there is none: each candidate and what it said. */
  why: string;
  required: boolean;
}

export function findTorch(): TorchPython {
  const required = process.env.WEFT_REQUIRE_TORCH === '1';
  const r = firstTorch([process.env.WEFT_PYTHON, ...DEFAULT_PYTHONS].filter((c): c is string => !!c));
  if (r.python !== undefined) return { python: r.python, why: `${r.python}: torch ${r.torch}`, required };
  return { why: `no Python that can import torch (${r.reason}); set WEFT_PYTHON or install python3-torch`, required };
}

/** Runs a Python script; throws with its stderr when it fails; returns the last stdout line parsed as JSON. */
export function python(py: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): { json: any; stdout: string; stderr: string } {
  const r = spawnSync(py, args, { cwd: opts.cwd, encoding: 'utf8', timeout: opts.timeoutMs ?? 240_000, maxBuffer: 1 << 30, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  if (r.status !== 0) throw new Error(`${py} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return { json: JSON.parse(lines[lines.length - 1]!), stdout: r.stdout, stderr: r.stderr };
}

/** A TCP port free on this machine now, for torchrun's rendezvous (tests run side by side). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * `torchrun` (`python -m torch.distributed.run`: Debian ships it so) on this machine.
 * --redirects/--tee 2: torch 1.13's defaults ("0") fail under Python 3.11 (its enum no longer
 * lists the 0 flag, so torchrun crashes in to_map before starting a worker); 2 only tees stderr.
 */
export async function torchrun(py: string, nproc: number, script: string, args: string[], timeoutMs = 400_000) {
  const port = await freePort();
  return python(py, ['-m', 'torch.distributed.run', '--redirects', '2', '--tee', '2', '--nnodes', '1', '--nproc_per_node', String(nproc),
    '--master_addr', '127.0.0.1', '--master_port', String(port), script, ...args], { timeoutMs });
}
