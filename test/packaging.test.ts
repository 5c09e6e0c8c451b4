/**
 * The packages as a user gets them: `pnpm pack` of @weft/core, @weft/workers and @weft/cli (so
 * `workspace:*` becomes a version), the tarballs' contents checked (LICENSE, manifest fields,
 * every export and bin present, source maps that carry their sources, no global type
 * declarations), then installed with npm into a new app in a temporary folder where a script
 * trains a tiny classifier on texts, saves it, loads it and predicts labels with probabilities
 * (without calling close()), the installed `weft` reads the saved model, and `tsc --noEmit`
 * with `skipLibCheck: false` and the DOM library type-checks a file importing all three.
 *
 * Slow (packing, an npm install): one file, generous timeouts. It needs the built packages
 * (`pnpm test` builds first) and the npm registry or npm's cache for the third-party deps.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/compare.js';
import { tempDir } from './helpers/cli.js';

const PACKAGES = ['core', 'workers', 'cli'] as const;
const tmp = tempDir('weft-packaging-');
const app = path.join(tmp, 'app');
const tarballs: Record<string, string> = {};
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** pnpm as the README runs it (the version of the root package.json's packageManager). */
function pnpm(args: string[], cwd: string): string {
  const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
  return execFileSync('npx', ['--yes', version, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The files of a tarball (paths inside `package/`) and a reader for one of them. */
function tarball(file: string): { files: string[]; read(name: string): string } {
  const files = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
  return { files, read: (name) => execFileSync('tar', ['-xzOf', file, `package/${name}`], { encoding: 'utf8', maxBuffer: 64 << 20 }) };
}

beforeAll(() => {
  const packs = path.join(tmp, 'packs');
  mkdirSync(packs);
  for (const p of PACKAGES) {
    pnpm(['pack', '--pack-destination', packs], path.join(repoRoot, 'packages', p));
    const name = readdirSync(packs).find((f) => f.startsWith(`weft-${p}-`) && f.endsWith('.tgz'));
    if (!name) throw new Error(`pnpm pack wrote no tarball for @weft/${p} in ${packs}`);
    tarballs[p] = path.join(packs, name);
  }
}, 300_000);

describe('the tarballs', () => {
  it.each(PACKAGES)('@weft/%s: LICENSE, manifest, exports and bin present, source maps with their sources, no global declarations', (p) => {
    const t = tarball(tarballs[p]!);
    expect(t.read('LICENSE')).toBe(readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'));
    expect(t.files).toContain('README.md');
    const pkg = JSON.parse(t.read('package.json')) as Record<string, any>;
    expect(pkg.license).toBe('MIT');
    expect(pkg.engines?.node).toMatch(/^>=20/);
    expect(pkg.repository?.directory).toBe(`packages/${p}`);
    expect(pkg.keywords?.length).toBeGreaterThan(0);
    // pnpm rewrote the workspace links to versions.
    expect(JSON.stringify(pkg.dependencies ?? {})).not.toContain('workspace:');
    // Every target of exports and bin is in the tarball; the in-repository 'source' condition is not published.
    const targets = [...JSON.stringify(pkg.exports).matchAll(/"(\.\/[^"]+)"/g)].map((m) => m[1]!.slice(2));
    targets.push(...Object.values((pkg.bin ?? {}) as Record<string, string>).map((b) => b.replace(/^\.\//, '')));
    expect(JSON.stringify(pkg.exports)).not.toContain('source');
    for (const f of targets) expect(t.files, f).toContain(f);
    // No tests, no TypeScript sources (the maps carry them).
    expect(t.files.filter((f) => /\.test\.|testkit|(^|\/)src\//.test(f))).toEqual([]);
    const maps = t.files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    for (const m of maps) {
      const map = JSON.parse(t.read(m)) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, `${m} has no embedded sources`).toBe(map.sources.length);
      expect(map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0), m).toBe(true);
    }
    for (const d of t.files.filter((f) => f.endsWith('.d.ts'))) expect(t.read(d), d).not.toMatch(/declare global/);
  });
});

describe('installed in a new app', () => {
  beforeAll(() => {
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'weft-packaging-app', private: true, type: 'module' }, null, 2));
    const typesNode = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies['@types/node']!;
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...PACKAGES.map((p) => tarballs[p]!), `@types/node@${typesNode}`], {
      cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
  }, 600_000);

  it('trains, saves, loads and predicts labels with probabilities from texts, and exits without close()', () => {
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) lines.push(JSON.stringify({ text: (i % 2 ? 'x' : 'o').repeat(2 + (i % 4)), label: i % 2 ? 'ex' : 'oh' }));
    writeFileSync(path.join(app, 'data.jsonl'), lines.join('\n') + '\n');
    writeFileSync(path.join(app, 'train.mjs'), `
import { availableParallelism } from 'node:os';
import { loadClassify, loadModel, modelShape } from '@weft/core';
import { Trainer } from '@weft/workers';
const data = loadClassify('data.jsonl', { validFraction: 0 });
const trainer = new Trainer({
  model: { cell: 'lstm', hiddenSize: 8, ...modelShape(data.meta), seed: 1 },
  optimizer: { name: 'adam', lr: 0.05 }, batchSize: 8, workers: Math.min(2, availableParallelism()),
});
await trainer.fit(data.train, { epochs: 10 });
await trainer.save('model.weft', { meta: data.meta });
const model = await loadModel('model.weft', { task: 'classify' });
const same = model.params.every((v, i) => v === trainer.getParams()[i]);
console.log(JSON.stringify({ same, predictions: model.predict(['xxxx', 'ooo']) }));
`);
    const r = spawnSync(process.execPath, ['train.mjs'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0); // not killed by the timeout: the process ended by itself
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { same: boolean; predictions: { label: string; probability: number; probabilities: Record<string, number> }[] };
    expect(out.same).toBe(true);
    expect(out.predictions.map((p) => p.label)).toEqual(['ex', 'oh']);
    for (const p of out.predictions) {
      expect(Object.keys(p.probabilities).sort()).toEqual(['ex', 'oh']);
      expect(p.probabilities.ex! + p.probabilities.oh!).toBeCloseTo(1, 6);
      expect(p.probability).toBe(p.probabilities[p.label]);
    }

    // The installed CLI reads the model the library saved.
    const weft = spawnSync(path.join(app, 'node_modules', '.bin', 'weft'), ['predict', '--model', 'model.weft', '--text', 'xxxx', '--json'], { cwd: app, encoding: 'utf8' });
    expect(weft.status, weft.stderr).toBe(0);
    expect(JSON.parse(weft.stdout.trim().split('\n').pop()!).predictions[0].label).toBe('ex');
  }, 180_000);

  it('type-checks an app importing all three packages with skipLibCheck false and the DOM library', () => {
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', lib: ['ES2022', 'DOM'], module: 'NodeNext', moduleResolution: 'NodeNext',
        strict: true, skipLibCheck: false, noEmit: true, types: ['node'],
      },
      include: ['app.ts'],
    }, null, 2));
    writeFileSync(path.join(app, 'app.ts'), `
import { attachMemory, createSharedMemory, loadModel, type ClassPrediction, type WasmMemory } from '@weft/core';
import { Trainer, type TrainerOptions } from '@weft/workers';
import { main } from '@weft/cli';

export async function labels(file: string): Promise<string[]> {
  const model = await loadModel(file, { task: 'classify' });
  const known: string[] = model.meta.labels;
  const predictions: ClassPrediction[] = model.predict(['some text']);
  return [...known, ...predictions.map((p) => p.label)];
}
// The DOM's WebAssembly.Memory and weft's WasmMemory are one type to TypeScript.
const dom: WebAssembly.Memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
const mine: WasmMemory = createSharedMemory(1);
attachMemory(mine);
export const memories: WasmMemory[] = [dom, mine];
export const options: TrainerOptions = { model: { cell: 'gru', hiddenSize: 4, input: { kind: 'dense', size: 1 }, task: 'value-per-step', outputSize: 1 } };
export const trainer = (): Trainer => new Trainer(options);
export const cli: typeof main = main;
`);
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);
});
