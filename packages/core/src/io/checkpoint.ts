/**
 * Checkpoints: everything needed to resume a run bit-exactly (parameters, optimizer state and
 * step, generator state, model config) in one file that is never half-written and whose
 * corruption is detected.
 *
 * File layout (little-endian; the first 56 bytes keep this layout in every version):
 *
 *   0   8 bytes  magic "WEFTCKPT"
 *   8  32 bytes  SHA-256 of bytes [40, end): the rest of the header and the payload
 *   40  4 bytes  u32 format version (1)
 *   44  4 bytes  u32 reserved (0)
 *   48  8 bytes  u64 payload length
 *   56  payload: one MessagePack map (readable by any msgpack library):
 *       { format: 'weft-checkpoint', version: 1, step, config, rng?, extra?,
 *         params: [{ name, shape, data: bin (float32 LE) }, ...]  (layout order),
 *         optimizer?: { name, options, step, states: [bin (float32 LE), ...] } }
 *
 * The checksum covers the version, so a flipped version byte reads as corruption, not as a
 * newer format. `config` and `extra` are plain data (objects, arrays, strings, numbers,
 * booleans, null, typed arrays); Maps come back as plain objects.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';
import { bytesLEToF32, toBytesLE } from './bytes.js';
import type { Layout } from '../params/layout.js';
import { checkParamShapes, formatShape } from '../params/param-check.js';
import { keysOf, knownKeys, objectOption } from '../options/validate.js';

export const CHECKPOINT_FORMAT = 'weft-checkpoint';
/** The newest format version this weft reads and the one it writes. */
export const CHECKPOINT_VERSION = 1;
const MAGIC = new TextEncoder().encode('WEFTCKPT'); // 8 bytes
const HEADER_BYTES = 56;
const HASHED_FROM = 40;

/** An optimizer's state as stored: OptimizerState.toJSON() fits this. */
export interface CheckpointOptimizer {
  name: string;
  /** The resolved options, plain data. */
  options: object;
  /** Completed updates. */
  step: number;
  states: Float32Array[]; // stateCount × [layout.size]
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** The model config, plain data. */
  config: unknown;
  /** Parameter values by PyTorch name, in layout order. */
  params: Record<string, Float32Array>;
  /** The shape of every parameter in `params`. */
  shapes: Record<string, number[]>;
  optimizer?: CheckpointOptimizer;
  /** Generator state (Rng.getState()). */
  rng?: number[];
  /** Training step (completed updates) when saved. */
  step: number;
  /** Anything else: vocabulary, metrics, ... (plain data). */
  extra?: unknown;
}

/** What save accepts: a Checkpoint whose format and version may be left out. */
export type CheckpointData = Omit<Checkpoint, 'format' | 'version'> & { format?: typeof CHECKPOINT_FORMAT; version?: typeof CHECKPOINT_VERSION };

/** What load can check the file against. */
export interface CheckpointExpect {
  /** The model's layout: parameter names and shapes must match, optimizer states must have layout.size floats. */
  layout?: Layout;
}

const EXPECT_KEYS = keysOf<CheckpointExpect>({ layout: true });

// Buffers encode as msgpack bin (portable); moreTypes lets typed arrays in config/extra round-trip.
const packr = new Packr({ useRecords: false, moreTypes: true });

/** The file's bytes. Throws TypeError/RangeError naming the field if `ckpt` is malformed. */
export function encodeCheckpoint(ckpt: CheckpointData): Uint8Array {
  checkInput(ckpt);
  const params = Object.entries(ckpt.params).map(([name, data]) => ({ name, shape: [...ckpt.shapes[name]!], data: asBin(data) }));
  const payloadObj: Record<string, unknown> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    step: ckpt.step,
    config: ckpt.config,
    params,
  };
  if (ckpt.optimizer !== undefined) {
    const o = ckpt.optimizer;
    payloadObj.optimizer = { name: o.name, options: o.options, step: o.step, states: o.states.map(asBin) };
  }
  if (ckpt.rng !== undefined) payloadObj.rng = [...ckpt.rng];
  if (ckpt.extra !== undefined) payloadObj.extra = ckpt.extra;
  const payload = packr.pack(payloadObj);

  const out = new Uint8Array(HEADER_BYTES + payload.byteLength);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(40, CHECKPOINT_VERSION, true);
  dv.setUint32(44, 0, true);
  dv.setBigUint64(48, BigInt(payload.byteLength), true);
  out.set(payload, HEADER_BYTES);
  out.set(sha256(out.subarray(HASHED_FROM)), 8);
  return out;
}

/** Parse a checkpoint's bytes; `file` names it in error messages. */
export function decodeCheckpoint(bytes: Uint8Array, file = 'checkpoint', expect: CheckpointExpect = {}): Checkpoint {
  objectOption(expect, 'expect');
  knownKeys(expect, EXPECT_KEYS, 'expect', 'a checkpoint load');
  const n = bytes.byteLength;
  if (!MAGIC.every((b, i) => i >= n || bytes[i] === b)) throw new Error(`${file}: not a weft checkpoint`);
  if (n < HEADER_BYTES) throw new Error(`${file}: truncated or corrupted (${n} bytes, shorter than the ${HEADER_BYTES}-byte header)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = dv.getBigUint64(48, true);
  const actual = BigInt(n - HEADER_BYTES);
  const stored = bytes.subarray(8, 40);
  const computed = sha256(bytes.subarray(HASHED_FROM));
  if (!stored.every((b, i) => b === computed[i])) {
    const size = declared !== actual ? `; the header announces ${declared} payload bytes, the file has ${actual}` : '';
    throw new Error(`${file}: truncated or corrupted (checksum mismatch${size})`);
  }
  const version = dv.getUint32(40, true);
  if (version > CHECKPOINT_VERSION) {
    throw new Error(`${file}: format version ${version} is newer than this weft supports (${CHECKPOINT_VERSION})`);
  }
  if (version < 1 || declared !== actual) throw new Error(`${file}: corrupted header (version ${version}, payload length ${declared} of ${actual} bytes)`);

  let p: unknown;
  try {
    p = packr.unpack(bytes.subarray(HEADER_BYTES));
  } catch (err) {
    // msgpackr's messages can carry what it decoded (`... not reached {"format":...}`): the cause, not the contents.
    const why = (err as Error).message.replace(/\s*[{[][\s\S]*$/, '');
    throw new Error(`${file}: corrupted payload (${why.length > 120 ? `${why.slice(0, 120)}...` : why})`, { cause: err });
  }
  const ckpt = parsePayload(p, file, version);
  if (expect.layout !== undefined) checkAgainstLayout(ckpt, expect.layout, file);
  return ckpt;
}

/** Write atomically (temporary file, fsync, rename). The bytes are encoded before anything is awaited, so buffers may change afterwards. */
export async function saveCheckpoint(path: string, ckpt: CheckpointData): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(ckpt));
}

export function saveCheckpointSync(path: string, ckpt: CheckpointData): void {
  writeFileAtomicSync(path, encodeCheckpoint(ckpt));
}

export async function loadCheckpoint(path: string, expect: CheckpointExpect = {}): Promise<Checkpoint> {
  return decodeCheckpoint(await readFile(path), path, expect);
}

export function loadCheckpointSync(path: string, expect: CheckpointExpect = {}): Checkpoint {
  return decodeCheckpoint(readFileSync(path), path, expect);
}

/** Copies of the parameters of `buf` by layout, with their shapes: the `params` and `shapes` of a checkpoint. */
export function paramsFromLayout(layout: Layout, buf: Float32Array): { params: Record<string, Float32Array>; shapes: Record<string, number[]> } {
  const views = layout.views(buf);
  const params: Record<string, Float32Array> = {};
  const shapes: Record<string, number[]> = {};
  for (const e of layout.entries) {
    params[e.name] = views.get(e.name)!.slice();
    shapes[e.name] = [...e.shape];
  }
  return { params, shapes };
}

/**
 * Checks a loaded checkpoint against the model's layout: the same parameter names and shapes
 * (`model.weft: parameter 'weight_ih_l0' has shape [8,3], the model expects [16,3]`), and
 * optimizer states of layout.size floats.
 */
export function checkAgainstLayout(ckpt: Pick<Checkpoint, 'shapes' | 'optimizer'>, layout: Layout, file = 'checkpoint'): void {
  checkParamShapes(file, ckpt.shapes, layout);
  ckpt.optimizer?.states.forEach((s, k) => {
    if (s.length !== layout.size) {
      throw new Error(`${file}: optimizer state ${k} has ${s.length} floats, the model has ${layout.size} parameters`);
    }
  });
}

/** Check the checkpoint's parameters against `layout`, then copy them into `buf` at the layout's offsets. */
export function paramsIntoLayout(ckpt: Pick<Checkpoint, 'params' | 'shapes' | 'optimizer'>, layout: Layout, buf: Float32Array, file = 'checkpoint'): void {
  checkAgainstLayout(ckpt, layout, file);
  if (buf.length < layout.size) throw new RangeError(`parameter buffer has ${buf.length} floats, the layout needs ${layout.size}`);
  for (const e of layout.entries) buf.set(ckpt.params[e.name]!, e.offset);
}

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** A Buffer view (msgpackr encodes Buffers as bin) of the float32 little-endian bytes. */
function asBin(a: Float32Array): Buffer {
  const b = toBytesLE(a);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function isUint32Array(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff);
}

function checkInput(ckpt: CheckpointData): void {
  if (ckpt === null || typeof ckpt !== 'object') throw new TypeError('checkpoint must be an object');
  if (ckpt.format !== undefined && ckpt.format !== CHECKPOINT_FORMAT) {
    throw new TypeError(`checkpoint.format must be '${CHECKPOINT_FORMAT}', got ${JSON.stringify(ckpt.format)}`);
  }
  if (ckpt.version !== undefined && ckpt.version !== CHECKPOINT_VERSION) {
    throw new RangeError(`checkpoint.version must be ${CHECKPOINT_VERSION} (this weft writes only that version), got ${JSON.stringify(ckpt.version)}`);
  }
  if (!Number.isInteger(ckpt.step) || ckpt.step < 0) throw new TypeError(`checkpoint.step must be a non-negative integer, got ${JSON.stringify(ckpt.step)}`);
  if (ckpt.params === null || typeof ckpt.params !== 'object') throw new TypeError('checkpoint.params must be an object of Float32Arrays');
  if (ckpt.shapes === null || typeof ckpt.shapes !== 'object') throw new TypeError('checkpoint.shapes must be an object of shapes');
  for (const [name, data] of Object.entries(ckpt.params)) {
    if (!(data instanceof Float32Array)) throw new TypeError(`checkpoint.params['${name}'] must be a Float32Array`);
    const shape = ckpt.shapes[name];
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new TypeError(`checkpoint.shapes['${name}'] must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new RangeError(`checkpoint.params['${name}'] has ${data.length} floats, its shape ${formatShape(shape)} needs ${size}`);
  }
  for (const name of Object.keys(ckpt.shapes)) {
    if (!(name in ckpt.params)) throw new TypeError(`checkpoint.shapes['${name}'] has no parameter in checkpoint.params`);
  }
  if (ckpt.rng !== undefined && !isUint32Array(ckpt.rng)) throw new TypeError(`checkpoint.rng must be an array of uint32 words, got ${JSON.stringify(ckpt.rng)}`);
  const o = ckpt.optimizer;
  if (o !== undefined) {
    if (o === null || typeof o !== 'object') throw new TypeError('checkpoint.optimizer must be an object');
    if (typeof o.name !== 'string') throw new TypeError(`checkpoint.optimizer.name must be a string, got ${JSON.stringify(o.name)}`);
    if (o.options === null || typeof o.options !== 'object') throw new TypeError('checkpoint.optimizer.options must be an object');
    if (!Number.isInteger(o.step) || o.step < 0) throw new TypeError(`checkpoint.optimizer.step must be a non-negative integer, got ${JSON.stringify(o.step)}`);
    if (!Array.isArray(o.states) || !o.states.every((s) => s instanceof Float32Array)) {
      throw new TypeError('checkpoint.optimizer.states must be an array of Float32Arrays');
    }
  }
}

/** Checks the decoded payload field by field; any surprise is reported as corruption of `file`. */
function parsePayload(p: unknown, file: string, version: number): Checkpoint {
  const bad = (what: string): Error => new Error(`${file}: corrupted checkpoint (${what})`);
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new Error(`${file}: not a weft checkpoint`);
  const o = p as Record<string, unknown>;
  if (o.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: not a weft checkpoint`);
  if (o.version !== version) throw bad(`payload version ${JSON.stringify(o.version)} differs from the header's ${version}`);
  if (!Number.isInteger(o.step) || (o.step as number) < 0) throw bad(`step is ${JSON.stringify(o.step)}`);
  if (!Array.isArray(o.params)) throw bad('params is not a list');
  // Null prototypes: a parameter named '__proto__' in a hostile file stays a plain key.
  const params: Record<string, Float32Array> = Object.create(null) as Record<string, Float32Array>;
  const shapes: Record<string, number[]> = Object.create(null) as Record<string, number[]>;
  for (const [i, entry] of (o.params as unknown[]).entries()) {
    const e = entry as { name?: unknown; shape?: unknown; data?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.name !== 'string') throw bad(`params[${i}] has no name`);
    const name = e.name;
    if (name in params) throw bad(`parameter '${name}' appears twice`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`parameter '${name}' has no valid shape`);
    if (!(e.data instanceof Uint8Array)) throw bad(`parameter '${name}' has no data`);
    const shape = e.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    if (e.data.byteLength !== 4 * size) throw bad(`parameter '${name}' has ${e.data.byteLength} bytes of data, its shape ${formatShape(shape)} needs ${4 * size}`);
    params[name] = bytesLEToF32(e.data);
    shapes[name] = shape;
  }
  const ckpt: Checkpoint = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: o.config, params, shapes, step: o.step as number };
  if (o.optimizer !== undefined) {
    const opt = o.optimizer as { name?: unknown; options?: unknown; step?: unknown; states?: unknown } | null;
    if (opt === null || typeof opt !== 'object') throw bad('optimizer is not a map');
    if (typeof opt.name !== 'string') throw bad('optimizer has no name');
    if (opt.options === null || typeof opt.options !== 'object') throw bad('optimizer has no options');
    if (!Number.isInteger(opt.step) || (opt.step as number) < 0) throw bad(`optimizer step is ${JSON.stringify(opt.step)}`);
    if (!Array.isArray(opt.states) || !opt.states.every((s) => s instanceof Uint8Array && s.byteLength % 4 === 0)) {
      throw bad('optimizer states are not float32 data');
    }
    ckpt.optimizer = { name: opt.name, options: opt.options, step: opt.step as number, states: (opt.states as Uint8Array[]).map(bytesLEToF32) };
  }
  if (o.rng !== undefined) {
    if (!isUint32Array(o.rng)) throw bad('rng is not a list of uint32 words');
    ckpt.rng = o.rng;
  }
  if (o.extra !== undefined) ckpt.extra = o.extra;
  return ckpt;
}
