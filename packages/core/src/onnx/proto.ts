/**
 * The ONNX file format: a ModelProto in protobuf's wire format, written by hand. An inference
 * graph needs only a handful of onnx.proto's messages (ModelProto, OperatorSetIdProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto with its tensor
 * type and shape, StringStringEntryProto); their field numbers below are onnx.proto's. A
 * protobuf library would bring a schema compiler or a runtime reflection layer for these few
 * fields; this file is the whole encoder (varints, length-delimited fields, little-endian
 * fixed32 floats), with no reader: onnxruntime is the reader that matters, and the tests use it.
 *
 * Everything is plain data in, bytes out: graph.ts builds the data from a model.
 */
import { toBytesLE } from '../io/bytes.js';

/** TensorProto.DataType values used here. */
export const DataType = { float: 1, int32: 6, int64: 7, bool: 9 } as const;
export type ElemType = keyof typeof DataType;

/** A constant tensor (an initializer, or a Constant node's value). */
export interface TensorData {
  name: string;
  dims: readonly number[];
  type: ElemType;
  data: Float32Array | Int32Array | BigInt64Array | Uint8Array;
}

/** An attribute's value, tagged by its AttributeProto type. */
export type AttrValue =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { strings: readonly string[] }
  | { t: TensorData };

export interface NodeData {
  op: string;
  /** Input value names; '' for an optional input left out. */
  inputs: readonly string[];
  outputs: readonly string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

/** A graph input or output: a tensor of `type` whose dims are sizes or symbolic names ('batch'). */
export interface ValueInfo {
  name: string;
  type: ElemType;
  dims: readonly (number | string)[];
  doc?: string;
}

export interface GraphData {
  name: string;
  nodes: readonly NodeData[];
  initializers: readonly TensorData[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
  doc?: string;
}

export interface ModelData {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion?: string;
  graph: GraphData;
  doc?: string;
  metadata?: Record<string, string>;
}

/** Wire types. */
const VARINT = 0;
const FIXED32 = 5;
const LEN = 2;

/** An append-only byte buffer with protobuf's field encodings. */
class Writer {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flush();
    this.cur = new Uint8Array(Math.max(256, n));
  }

  /** Ends the current chunk; later bytes go to the rest of its buffer. */
  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.cur.subarray(0, this.pos));
    this.cur = this.cur.subarray(this.pos);
    this.pos = 0;
  }

  /** An unsigned varint of a value in [0, 2^53) or a negative int64 (ten bytes, two's complement). */
  varint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`protobuf varint: ${v} is not a safe integer`);
    this.room(10);
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(v));
      for (let k = 0; k < 10; k++) {
        const byte = Number(b & 0x7fn);
        b >>= 7n;
        this.cur[this.pos++] = b > 0n ? byte | 0x80 : byte;
        if (b === 0n) break;
      }
      return;
    }
    while (v >= 0x80) {
      this.cur[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.cur[this.pos++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  bytes(b: Uint8Array): void {
    this.flush();
    this.chunks.push(b);
  }

  fixed32Float(x: number): void {
    this.room(4);
    new DataView(this.cur.buffer, this.cur.byteOffset + this.pos, 4).setFloat32(0, x, true);
    this.pos += 4;
  }

  finish(): Uint8Array {
    this.flush();
    let n = 0;
    for (const c of this.chunks) n += c.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

const utf8 = new TextEncoder();

/** The fields of one message, each appended in field order as given. */
class Message {
  readonly w = new Writer();

  int(field: number, v: number | undefined): this {
    if (v === undefined) return this;
    this.w.tag(field, VARINT);
    this.w.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.w.tag(field, FIXED32);
    this.w.fixed32Float(v);
    return this;
  }

  bytes(field: number, b: Uint8Array | undefined): this {
    if (b === undefined) return this;
    this.w.tag(field, LEN);
    this.w.varint(b.length);
    this.w.bytes(b);
    return this;
  }

  string(field: number, s: string | undefined): this {
    return s === undefined ? this : this.bytes(field, utf8.encode(s));
  }

  /** A packed repeated varint field. */
  packedInts(field: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const p = new Writer();
    for (const v of vs) p.varint(v);
    return this.bytes(field, p.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, vs: readonly number[]): this {
    if (vs.length === 0) return this;
    const p = new Writer();
    for (const v of vs) p.fixed32Float(v);
    return this.bytes(field, p.finish());
  }

  done(): Uint8Array {
    return this.w.finish();
  }
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;
const ATTR_STRINGS = 8;

/** The bytes of a tensor's values, little-endian (what raw_data holds). */
function rawBytes(t: TensorData): Uint8Array {
  const d = t.data;
  const n = t.dims.reduce((a, b) => a * b, 1);
  if (d.length !== n) throw new RangeError(`ONNX tensor '${t.name}': ${d.length} values for dims [${t.dims.join(', ')}] (${n})`);
  return toBytesLE(d);
}

export function encodeTensor(t: TensorData): Uint8Array {
  const m = new Message();
  for (const d of t.dims) m.int(1, d); // dims (unpacked, as onnx writes them; both are valid)
  return m.int(2, DataType[t.type]).string(8, t.name).bytes(9, rawBytes(t)).done();
}

function encodeAttr(name: string, v: AttrValue): Uint8Array {
  const m = new Message().string(1, name);
  if ('i' in v) m.int(20, ATTR_INT).int(3, v.i);
  else if ('f' in v) m.int(20, ATTR_FLOAT).float(2, v.f);
  else if ('s' in v) m.int(20, ATTR_STRING).string(4, v.s);
  else if ('t' in v) m.int(20, ATTR_TENSOR).bytes(5, encodeTensor(v.t));
  else if ('ints' in v) m.int(20, ATTR_INTS).packedInts(8, v.ints);
  else if ('floats' in v) m.int(20, ATTR_FLOATS).packedFloats(7, v.floats);
  else {
    m.int(20, ATTR_STRINGS);
    for (const s of v.strings) m.string(9, s);
  }
  return m.done();
}

function encodeNode(n: NodeData): Uint8Array {
  const m = new Message();
  for (const i of n.inputs) m.string(1, i);
  for (const o of n.outputs) m.string(2, o);
  m.string(3, n.name).string(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) m.bytes(5, encodeAttr(k, v));
  return m.done();
}

function encodeValueInfo(v: ValueInfo): Uint8Array {
  const shape = new Message();
  for (const d of v.dims) shape.bytes(1, typeof d === 'number' ? new Message().int(1, d).done() : new Message().string(2, d).done());
  const tensorType = new Message().int(1, DataType[v.type]).bytes(2, shape.done()).done();
  const type = new Message().bytes(1, tensorType).done();
  return new Message().string(1, v.name).bytes(2, type).string(3, v.doc).done();
}

function encodeGraph(g: GraphData): Uint8Array {
  const m = new Message();
  for (const n of g.nodes) m.bytes(1, encodeNode(n));
  m.string(2, g.name);
  for (const t of g.initializers) m.bytes(5, encodeTensor(t));
  m.string(10, g.doc);
  for (const i of g.inputs) m.bytes(11, encodeValueInfo(i));
  for (const o of g.outputs) m.bytes(12, encodeValueInfo(o));
  return m.done();
}

/** A ModelProto's bytes: what an `.onnx` file holds. */
export function encodeModel(model: ModelData): Uint8Array {
  const m = new Message()
    .int(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion)
    .string(6, model.doc)
    .bytes(7, encodeGraph(model.graph))
    .bytes(8, new Message().string(1, '').int(2, model.opsetVersion).done());
  for (const [key, value] of Object.entries(model.metadata ?? {})) m.bytes(14, new Message().string(1, key).string(2, value).done());
  return m.done();
}
