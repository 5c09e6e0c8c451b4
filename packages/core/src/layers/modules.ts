/**
 * Layers of the user's own: a module (an ES module, named by a file: URL or an absolute path)
 * whose `layers` export is an array of layer definitions (LayerDef, docs/layers.md). A spec
 * names its modules in `modules`; every thread that builds the model imports them first, the
 * way piscina imports a worker file: the main thread with `await loadLayerModules(spec)`, the
 * pool's workers by themselves before their loop starts. Importing registers the definitions in
 * the layer table (layers/table.ts); a module is imported once per thread.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OptionError } from '../options/errors.js';
import { registerLayers } from './table.js';
import type { LayerDef } from './types.js';

const loaded = new Map<string, Promise<void>>();
const done = new Set<string>();

/** A module's canonical name: its URL (an absolute path becomes a file: URL). */
export function layerModuleURL(m: string, where = 'modules'): string {
  if (typeof m !== 'string' || m === '') throw new OptionError(`${where} must hold module URLs (file:...) or absolute paths, got ${JSON.stringify(m)}`, where);
  if (isAbsolute(m)) return pathToFileURL(m).href;
  try {
    return new URL(m).href;
  } catch {
    throw new OptionError(`${where}: '${m}' is neither a URL (file:///...) nor an absolute path; a relative path would mean different files in different threads`, where);
  }
}

/** Whether this thread has imported the module (so its layer types are in the table). */
export function layerModuleLoaded(m: string): boolean {
  return done.has(layerModuleURL(m));
}

/**
 * Imports the layer modules of a spec (its `modules`), or the modules given, and registers their
 * layers in this thread's table. Call it before building a model that uses them.
 */
export async function loadLayerModules(what: { modules?: readonly string[] } | readonly string[] | object): Promise<void> {
  const given = Array.isArray(what) ? what : (what as { modules?: unknown } | null | undefined)?.modules;
  // Anything else (a model config, a malformed spec) has no modules to load: the model's own checks report it.
  const list: readonly string[] = Array.isArray(given) ? given : [];
  for (const m of list) {
    const url = layerModuleURL(m);
    let p = loaded.get(url);
    if (!p) {
      p = (async () => {
        const mod = (await import(url)) as { layers?: unknown };
        const defs = mod.layers;
        if (!Array.isArray(defs)) throw new TypeError(`${url}: a layer module must export \`layers\`, an array of layer definitions; it exports ${Object.keys(mod).join(', ') || 'nothing'}`);
        registerLayers(defs as LayerDef<any>[], url); // eslint-disable-line @typescript-eslint/no-explicit-any
        done.add(url);
      })();
      loaded.set(url, p);
      p.catch(() => loaded.delete(url));
    }
    await p;
  }
}
