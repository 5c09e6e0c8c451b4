/**
 * The folders of `packages/core/src` read in dependency order (docs/DESIGN.md, "Layers"): a file
 * imports only from its own folder or from folders below it, so each can be read knowing only
 * what comes before. Across packages: core imports neither the pool nor the CLI, the pool not
 * the CLI. This test reads every import of the packages' sources and fails on one that runs
 * upward, naming the file, the import and the two folders; and on a folder the order does not
 * place, so a new folder gets a place in the order (and in DESIGN.md) when it is made.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORE = path.join(ROOT, 'packages/core/src');

/** Lowest first; DESIGN.md states the same order. `rng.ts` is a file at the root, a foundation. */
export const CORE_ORDER = ['options', 'rng.ts', 'kernels', 'optim', 'params', 'io', 'cells', 'stack', 'data', 'layers', 'losses', 'model', 'onnx', 'train', 'index.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sources(p);
    return /\.ts$/.test(name) && !/\.test\.ts$|testkit\.ts$|\.d\.ts$/.test(name) ? [p] : [];
  });
}

/** Every module specifier in a file: static imports and exports, and dynamic import('...'). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2])!);
}

/** The top-level place of a path inside core's src: its first folder, or the file's name at the root. */
const placeOf = (p: string): string => path.relative(CORE, p).split(path.sep)[0]!;

describe('packages/core/src reads in dependency order', () => {
  const files = sources(CORE);

  it('every folder and root file has a place in the order', () => {
    const places = new Set(files.map(placeOf));
    expect([...places].filter((p) => !CORE_ORDER.includes(p))).toEqual([]);
  });

  it('no import runs from a lower folder to a higher one', () => {
    const upward: string[] = [];
    for (const file of files) {
      const from = placeOf(file);
      for (const spec of specifiers(file)) {
        if (!spec.startsWith('.')) continue;
        const to = placeOf(path.resolve(path.dirname(file), spec));
        if (CORE_ORDER.indexOf(to) > CORE_ORDER.indexOf(from)) upward.push(`${path.relative(ROOT, file)} imports ${spec}: ${from} is below ${to}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('the check sees imports (a file that imports upward would be caught)', () => {
    // The step runner imports the model, the model the layers: the parser finds both, so an
    // empty list above means what it says.
    const step = specifiers(path.join(CORE, 'train/step.ts')).filter((s) => s.startsWith('.')).map((s) => placeOf(path.resolve(CORE, 'train', s)));
    expect(step).toContain('model');
    const model = specifiers(path.join(CORE, 'model/model.ts')).filter((s) => s.startsWith('.')).map((s) => placeOf(path.resolve(CORE, 'model', s)));
    expect(model).toContain('layers');
  });
});

describe('packages import downward only', () => {
  const rules: [string, RegExp][] = [
    ['packages/core/src', /^@weft\/(workers|cli)\b|packages\/(workers|cli)\//],
    ['packages/workers/src', /^@weft\/cli\b|packages\/cli\//],
  ];
  it.each(rules)('%s imports neither a package above it nor its files', (dir, above) => {
    const bad = sources(path.join(ROOT, dir)).flatMap((f) => specifiers(f).filter((s) => above.test(s) || (s.startsWith('.') && above.test(path.relative(ROOT, path.resolve(path.dirname(f), s))))).map((s) => `${path.relative(ROOT, f)}: ${s}`));
    expect(bad).toEqual([]);
  });
});
