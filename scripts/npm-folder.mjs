// Some tools only a benchmark or one test uses (TensorFlow.js for the comparison, onnxruntime-node
// for the ONNX export's check) are hundreds of MB that a user who trains models never runs, so
// `pnpm install` does not bring them: each lives in a folder of its own (its package.json and
// lock file, outside the workspace) and is installed there with `npm ci` the first time it is
// needed. This is that one installer.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * A folder installed on demand. `probes` are paths under its node_modules that must exist once
 * it is installed; `ignoreScripts` skips the packages' install scripts (onnxruntime-node's tries to
 * download CUDA files, which it does not need on a CPU).
 */
export function npmFolder({ dir, what, probes, ignoreScripts = false, hint = '' }) {
  const installed = () => probes.every((p) => existsSync(path.join(dir, 'node_modules', p)));
  return {
    dir,
    installed,
    /** require() resolving from the folder. */
    require: createRequire(path.join(dir, 'package.json')),
    /** Installs the folder from its lock file unless it is there already; throws with npm's words if that fails. */
    ensure(log = (line) => process.stderr.write(`${line}\n`)) {
      if (installed()) return;
      log(`installing ${what} into ${dir} (once${hint ? `; ${hint}` : ''})`);
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const args = ['ci', '--no-audit', '--no-fund', '--loglevel=error', ...(ignoreScripts ? ['--ignore-scripts'] : [])];
      const r = spawnSync(npm, args, { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0 || !installed()) {
        throw new Error(`could not install ${what} in ${dir} (npm ${args.join(' ')} exited ${r.status ?? r.error?.message}); run it there by hand${hint ? `, or ${hint}` : ''}`);
      }
    },
  };
}
