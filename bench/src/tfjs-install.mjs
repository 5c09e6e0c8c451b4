// TensorFlow.js is the benchmark's comparison and nothing else uses it, so `pnpm install` does not
// bring its ~300 MB: it lives in bench/tfjs (its own package.json and lock file, outside the
// workspace) and is installed there with npm the first time a run asks for it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../tfjs/', import.meta.url));

/** A require() that resolves from bench/tfjs, where TensorFlow.js is installed. */
export const tfjsRequire = createRequire(`${DIR}package.json`);

export function tfjsInstalled() {
  return existsSync(`${DIR}node_modules/@tensorflow/tfjs/package.json`) &&
    existsSync(`${DIR}node_modules/@tensorflow/tfjs-backend-wasm/package.json`);
}

/** Installs bench/tfjs from its lock file unless it is there already; throws with npm's words if that fails. */
export function ensureTfjs(log = (line) => process.stderr.write(`${line}\n`)) {
  if (tfjsInstalled()) return;
  log('bench: installing TensorFlow.js 4.22 into bench/tfjs for the comparison (once; --tfjs none skips it)');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !tfjsInstalled()) {
    throw new Error(`bench: could not install TensorFlow.js in ${DIR} (npm ci exited ${r.status ?? r.error?.message}); run it there by hand, or pass --tfjs none`);
  }
}
