/**
 * THE layer table: a spec's `type` is looked up here, nowhere else (no if/else over types).
 * Built-in types are entries from the start; a user's own come in through `registerLayers`
 * (from a module of layer definitions, see layers/modules.ts), in every thread that builds the
 * model, before it is built.
 */
import { OptionError, closest } from '../options/errors.js';
import { embedding } from './embedding.js';
import { recurrent } from './recurrent.js';
import { linear } from './linear.js';
import { dropout } from './dropout.js';
import { layerNorm } from './layer-norm.js';
import { pool } from './pool.js';
import type { LayerDef } from './types.js';

// The table holds defs of different option types; each is only ever called with its own options.
type AnyLayerDef = LayerDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const BUILT_IN: readonly AnyLayerDef[] = [embedding, recurrent, linear, dropout, layerNorm, pool];

const table = new Map<string, AnyLayerDef>(BUILT_IN.map((d) => [d.type, d]));

/** The built-in layer types. */
export const BUILT_IN_LAYERS: readonly string[] = BUILT_IN.map((d) => d.type);

/**
 * The first entry of a spec's `layers`, read as plain data (so a stored spec whose layer modules
 * are not loaded answers too), whose type is not one of `types`: its index in `layers`, its type
 * and its name (when a string); undefined when there is none. Entries without a string type are
 * passed over (building the spec names them). What an export that writes only some layer types
 * refuses (ONNX, PyTorch's weft_model.py), each with its own message.
 */
export function firstLayerNotIn(layers: unknown, types: readonly string[]): { index: number; type: string; name?: string } | undefined {
  if (!Array.isArray(layers)) return undefined;
  for (const [index, l] of layers.entries()) {
    const type = (l as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || types.includes(type)) continue;
    const name = (l as { name?: unknown }).name;
    return { index, type, ...(typeof name === 'string' ? { name } : {}) };
  }
  return undefined;
}

/** The def of a layer type; `where` names the spec entry in the message of an unknown type. */
export function layerDef(type: unknown, where: string): AnyLayerDef {
  const d = typeof type === 'string' ? table.get(type) : undefined;
  if (d) return d;
  const types = [...table.keys()];
  const s = typeof type === 'string' ? closest(type, types) : undefined;
  throw new OptionError(
    `${where}.type must be a layer type (${types.map((t) => `'${t}'`).join(', ')}), got ${JSON.stringify(type)}` +
      (s ? `; did you mean '${s}'?` : '; a layer of your own must be registered first (its module in the spec\'s `modules`, loaded with loadLayerModules)'),
    `${where}.type`, s,
  );
}

/** Whether a layer type is in the table. */
export function hasLayer(type: string): boolean {
  return table.has(type);
}

/**
 * Adds layer types to the table. A type already there is refused, unless it is the very same
 * definition object (a module loaded twice).
 */
export function registerLayers(defs: readonly AnyLayerDef[], from = 'registerLayers'): void {
  for (const d of defs) checkLayerDef(d, from);
  for (const d of defs) {
    const old = table.get(d.type);
    if (old && old !== d) throw new OptionError(`${from}: layer type '${d.type}' is already defined${BUILT_IN.includes(old) ? ' (built in)' : ''}`, 'type');
    table.set(d.type, d);
  }
}

/** The shape of a definition: what the model calls must be there. */
function checkLayerDef(d: AnyLayerDef, from: string): void {
  if (d === null || typeof d !== 'object') throw new TypeError(`${from}: a layer definition must be an object, got ${String(d)}`);
  if (typeof d.type !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(d.type)) throw new TypeError(`${from}: a layer definition needs a type (a name), got ${JSON.stringify(d.type)}`);
  for (const f of ['resolve', 'output', 'params', 'create'] as const) {
    if (typeof d[f] !== 'function') throw new TypeError(`${from}: layer '${d.type}' has no ${f}() function`);
  }
  if (!Array.isArray(d.keys)) throw new TypeError(`${from}: layer '${d.type}' needs keys (the list of its option names)`);
}
