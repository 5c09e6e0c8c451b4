/**
 * Where the built worker entry files are. Node 20 cannot start a worker from a .ts file, so
 * threads always run the compiled JavaScript in dist/. Built, this module sits in dist/ beside
 * them; run from src/ (vitest imports the sources through the `source` condition) it points at
 * ../dist/, which `pnpm test` builds first.
 */
export function builtFile(name: string): URL {
  const fromSource = import.meta.url.endsWith('.ts');
  return new URL(fromSource ? `../dist/${name}` : `./${name}`, import.meta.url);
}

/**
 * The parent's execArgv without the `source` export condition. A thread inherits its parent's
 * flags, and under vitest (which runs the sources with `--conditions source`) a worker would
 * then resolve @weft/core to TypeScript it cannot load. Workers always run built JavaScript.
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === '--conditions' || a === '-C') && argv[i + 1] === 'source') { i++; continue; }
    if (a === '--conditions=source' || a === '-C=source') continue;
    out.push(a);
  }
  return out;
}
