/**
 * The safetensors format (Hugging Face), written and read by hand, float32 only:
 *
 *   8 bytes   u64 little-endian N: the header's length
 *   N bytes   UTF-8 JSON object, starting with '{', padded with spaces so that 8 + N is a
 *             multiple of 8: { "__metadata__"?: { string: string },
 *                              name: { "dtype": "F32", "shape": [...], "data_offsets": [begin, end] }, ... }
 *   the rest  the data section: each tensor's row-major little-endian values at [begin, end),
 *             relative to the start of the section; together they cover it exactly (no holes,
 *             no overlaps).
 *
 * With PyTorch's parameter names, a file written here loads with
 * `safetensors.torch.load_file` straight into a `state_dict`, and back.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-write.js';
import { bytesLEToF32, toBytesLE } from './bytes.js';
import type { Layout } from '../params/layout.js';
import { checkParamShapes, formatShape } from '../params/param-check.js';

export interface Tensor {
  shape: number[];
  data: Float32Array; // [product of shape]
}

/** Named tensors in file order; `data` may be a view (of a parameter buffer, say). */
export type TensorMap = ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;

/** A flat parameter buffer described by its layout: saved as one tensor per layout entry. */
export interface LayoutTensors {
  layout: Layout;
  params: Float32Array; // [layout.size]
}

export type SafetensorsMetadata = Record<string, string>;

/** The safetensors dtypes this reader recognises, to refuse them by name rather than as garbage. */
const KNOWN_DTYPES = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F4', 'F6_E2M3', 'F6_E3M2', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64', 'C64'];

/** The safetensors library refuses headers above 100 MB; so do we, before allocating anything. */
const MAX_HEADER_BYTES = 100_000_000;

/** Views (no copies) of `params` by layout, as a TensorMap. */
export function tensorsFromLayout(layout: Layout, params: Float32Array): Map<string, Tensor> {
  const views = layout.views(params);
  const out = new Map<string, Tensor>();
  for (const e of layout.entries) out.set(e.name, { shape: [...e.shape], data: views.get(e.name)! });
  return out;
}

export function encodeSafetensors(tensors: TensorMap | LayoutTensors, metadata?: SafetensorsMetadata): Uint8Array {
  const map: TensorMap = tensors instanceof Map ? tensors : tensorsFromLayout((tensors as LayoutTensors).layout, (tensors as LayoutTensors).params);
  // A null prototype, so that a tensor named '__proto__' is a key like any other.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new TypeError('safetensors metadata must be an object of strings');
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`safetensors metadata['${k}'] must be a string, got ${JSON.stringify(v)}`);
    }
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  for (const [name, t] of map) {
    if (name === '__metadata__') throw new TypeError(`tensor name '__metadata__' is reserved by the safetensors format`);
    if (!(t.data instanceof Float32Array)) throw new TypeError(`tensor '${name}': data must be a Float32Array`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new TypeError(`tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new RangeError(`tensor '${name}' has ${t.data.length} floats, its shape ${formatShape(t.shape)} needs ${size}`);
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.byteLength) / 8) * 8 - 8;
  if (padded !== json.byteLength) {
    const p = new Uint8Array(padded).fill(0x20); // spaces: still valid JSON
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const t of map.values()) {
    out.set(toBytesLE(t.data), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parse and validate a safetensors file's bytes; `file` names it in error messages. */
export function decodeSafetensors(bytes: Uint8Array, file = 'safetensors'): { tensors: Map<string, Tensor>; metadata: SafetensorsMetadata } {
  const fail = (what: string): Error => new Error(`${file}: ${what}`);
  const n = bytes.byteLength;
  if (n < 8) throw fail(`not a safetensors file (${n} bytes, too short for the 8-byte header length)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, n);
  const hlen = dv.getBigUint64(0, true);
  if (hlen > BigInt(n - 8)) throw fail(`truncated or not a safetensors file (header length ${hlen} exceeds the ${n - 8} bytes that follow)`);
  if (hlen > BigInt(MAX_HEADER_BYTES)) throw fail(`header of ${hlen} bytes is larger than the ${MAX_HEADER_BYTES} allowed`);
  const headerEnd = 8 + Number(hlen);
  const headerBytes = bytes.subarray(8, headerEnd);
  if (headerBytes[0] !== 0x7b) throw fail(`not a safetensors file (the header does not start with '{')`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw fail(`header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw fail('header is not a JSON object');
  const dataLen = n - headerEnd;

  let metadata: SafetensorsMetadata = {};
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw fail('__metadata__ must be an object of strings');
      }
      metadata = { ...(value as SafetensorsMetadata) };
      continue;
    }
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object' || Array.isArray(info)) throw fail(`tensor '${name}': header entry is not an object`);
    const { dtype, shape, data_offsets: offs } = info;
    if (typeof dtype !== 'string') throw fail(`tensor '${name}': dtype missing`);
    if (dtype !== 'F32') {
      throw fail(KNOWN_DTYPES.includes(dtype) ? `tensor '${name}': dtype ${dtype} not supported, expected F32` : `tensor '${name}': unknown dtype ${JSON.stringify(dtype)}, expected F32`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(`tensor '${name}': shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((d) => Number.isSafeInteger(d) && d >= 0) || offs[0] > offs[1]) {
      throw fail(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    if (end > dataLen) throw fail(`tensor '${name}': data_offsets [${begin},${end}] out of range (the data section has ${dataLen} bytes)`);
    const need = 4 * (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== need) {
      throw fail(`tensor '${name}': data_offsets [${begin},${end}] hold ${end - begin} bytes, shape ${formatShape(shape as number[])} in F32 needs ${need}`);
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }

  // The tensors must tile the data section exactly, as the format requires.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let prev = '';
  for (const e of entries) {
    if (e.begin < at) throw fail(`tensors '${prev}' and '${e.name}' overlap (data_offsets ${e.begin} < ${at})`);
    if (e.begin > at) throw fail(`${e.begin - at} bytes of the data section before tensor '${e.name}' belong to no tensor`);
    at = e.end;
    prev = e.name;
  }
  if (at !== dataLen) throw fail(`the last ${dataLen - at} bytes of the data section belong to no tensor`);

  const tensors = new Map<string, Tensor>();
  for (const e of entries) tensors.set(e.name, { shape: e.shape, data: bytesLEToF32(bytes.subarray(headerEnd + e.begin, headerEnd + e.end)) });
  return { tensors, metadata };
}

/** Write atomically (temporary file, fsync, rename); the bytes are encoded before anything is awaited. */
export async function saveSafetensors(path: string, tensors: TensorMap | LayoutTensors, metadata?: SafetensorsMetadata): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** The tensors of a safetensors file, in data order (the metadata: decodeSafetensors). */
export async function loadSafetensors(path: string): Promise<Map<string, Tensor>> {
  return decodeSafetensors(await readFile(path), path).tensors;
}

/** Check names and shapes against `layout`, then copy every tensor into `params` at the layout's offsets. */
export function tensorsIntoLayout(tensors: TensorMap, layout: Layout, params: Float32Array, file = 'safetensors'): void {
  const shapes = new Map<string, readonly number[]>();
  for (const [name, t] of tensors) shapes.set(name, t.shape);
  checkParamShapes(file, shapes, layout);
  if (params.length < layout.size) throw new RangeError(`parameter buffer has ${params.length} floats, the layout needs ${layout.size}`);
  for (const e of layout.entries) params.set(tensors.get(e.name)!.data, e.offset);
}
