/**
 * Typed arrays <-> little-endian bytes (float32 both ways; int32, int64 and bytes out, for ONNX), bit-exact (-0 and subnormals kept; NaN payloads too on a
 * little-endian host). Checkpoints and safetensors store little-endian data whatever the host;
 * on a little-endian host (all the usual ones) this is a plain byte copy, elsewhere a DataView
 * loop.
 */

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The bytes of `a` in little-endian order: a view (no copy) on little-endian hosts. */
export function toBytesLE(a: Float32Array | Int32Array | BigInt64Array | Uint8Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN || a instanceof Uint8Array) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  if (a instanceof Float32Array) for (let i = 0; i < a.length; i++) dv.setFloat32(4 * i, a[i]!, true);
  else if (a instanceof Int32Array) for (let i = 0; i < a.length; i++) dv.setInt32(4 * i, a[i]!, true);
  else for (let i = 0; i < a.length; i++) dv.setBigInt64(8 * i, a[i]!, true);
  return out;
}

/** A fresh Float32Array from little-endian bytes at any alignment (byteLength must be a multiple of 4). */
export function bytesLEToF32(bytes: Uint8Array): Float32Array {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`float32 data must be a multiple of 4 bytes, got ${bytes.byteLength}`);
  const out = new Float32Array(bytes.byteLength / 4);
  if (HOST_LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(4 * i, true);
  }
  return out;
}
