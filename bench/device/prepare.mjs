// Packs what bench/device/run.sh needs on a machine where Node is not installed (the `device`
// machine some sessions are lent: 16 cores; only the working tree and a few ignored paths travel,
// 64 MiB in all). Run it here, after `pnpm install` (which builds dist/, the WebAssembly module and
// the native addon):
//
//   node bench/device/prepare.mjs        → .device/node.xz, .device/bundle.tar.xz (git-ignored)
//
// then, on the device, with `carry: [".device"]`:  bash bench/device/run.sh
//
// The bundle is the two packages as npm would install them from their tarballs (`pnpm pack`, then
// `npm install` into a scratch folder: a flat node_modules with piscina, comlink, msgpackr and the
// rest, nothing else; the WebAssembly module comes in the core package's files), this machine's
// native build copied in (install scripts are not run: the device may have no compiler), and the
// benchmark scripts laid out as in the repository (bench/src, scripts/, the core package's
// bench/). Node is this one, xz-compressed.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, '.device');
const PNPM = ['--yes', 'pnpm@9.15.9'];
const run = (cmd, args, cwd = ROOT) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });

const addon = join(ROOT, 'packages/core/native/build/Release/weft_native.node');
for (const need of ['packages/core/dist/index.js', 'packages/workers/dist/index.js', 'packages/core/wasm/kernels.wasm']) {
  if (!existsSync(join(ROOT, need))) throw new Error(`${need} is missing: run pnpm install (it builds) first`);
}
if (!existsSync(addon)) throw new Error(`${addon} is missing: the device would run WebAssembly only; build the addon first (pnpm --filter @weft/core run build:native)`);

const work = mkdtempSync(join(tmpdir(), 'weft-device-'));
try {
  // The packages as published (workspace:* becomes the version), installed the way a user's npm would.
  for (const dir of ['packages/core', 'packages/workers']) run('npx', [...PNPM, 'pack', '--pack-destination', work], join(ROOT, dir));
  const tarballs = readdirSync(work).filter((f) => f.endsWith('.tgz'));
  const tarball = (name) => `file:${join(work, tarballs.find((f) => f.startsWith(name))) }`;
  const bundle = join(work, 'bundle');
  mkdirSync(bundle);
  const core = tarball('weft-core-');
  writeFileSync(join(bundle, 'package.json'), JSON.stringify({
    private: true, type: 'module',
    dependencies: { '@weft/core': core, '@weft/workers': tarball('weft-workers-') },
    overrides: { '@weft/core': core },
  }, null, 2));
  run('npm', ['install', '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], bundle);
  rmSync(join(bundle, 'package-lock.json'), { force: true });

  const coreDir = join(bundle, 'node_modules/@weft/core');
  mkdirSync(join(coreDir, 'native/build/Release'), { recursive: true });
  copyFileSync(addon, join(coreDir, 'native/build/Release/weft_native.node'));
  cpSync(join(ROOT, 'packages/core/bench'), join(coreDir, 'bench'), { recursive: true });
  for (const f of ['run.mjs', 'weft.mjs', 'pytorch.py', 'tfjs.mjs', 'tfjs-install.mjs']) {
    mkdirSync(join(bundle, 'bench/src'), { recursive: true });
    copyFileSync(join(ROOT, 'bench/src', f), join(bundle, 'bench/src', f));
  }
  cpSync(join(ROOT, 'scripts'), join(bundle, 'scripts'), { recursive: true });
  copyFileSync(join(ROOT, 'bench/device/check.mjs'), join(bundle, 'check.mjs'));

  mkdirSync(OUT, { recursive: true });
  run('tar', ['-C', work, '-cJf', join(OUT, 'bundle.tar.xz'), 'bundle']);
  if (!existsSync(join(OUT, 'node.xz')) || statSync(join(OUT, 'node.xz')).mtimeMs < statSync(process.execPath).mtimeMs) {
    // Through a temporary file: an interrupted xz must not leave a newer, truncated node.xz.
    execFileSync('sh', ['-c', `xz -T2 -c "${process.execPath}" > "${join(OUT, 'node.xz.part')}"`]);
    renameSync(join(OUT, 'node.xz.part'), join(OUT, 'node.xz'));
  }
  const mb = (f) => (statSync(join(OUT, f)).size / 2 ** 20).toFixed(1);
  console.log(`.device/bundle.tar.xz ${mb('bundle.tar.xz')} MiB, .device/node.xz ${mb('node.xz')} MiB (Node ${process.version}); on the device: bash bench/device/run.sh`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
