// toBytesLE: the little-endian bytes of every typed array the files (checkpoints, safetensors,
// ONNX initializers) store, checked against DataView's little-endian encoding of each value.
import { describe, expect, it } from 'vitest';
import { bytesLEToF32, toBytesLE } from './bytes.js';

function expected(n: number, width: number, put: (dv: DataView, i: number) => void): Uint8Array {
  const out = new Uint8Array(n * width);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < n; i++) put(dv, i);
  return out;
}

describe('toBytesLE', () => {
  it('float32, int32, int64 and bytes, in little-endian order (views at an offset too)', () => {
    const f = new Float32Array([1.5, -0, 3.4e38, 1e-45, -2.75, Number.NaN]);
    expect(toBytesLE(f)).toEqual(expected(f.length, 4, (dv, i) => dv.setFloat32(4 * i, f[i]!, true)));
    const fv = f.subarray(2, 5);
    expect(toBytesLE(fv)).toEqual(expected(fv.length, 4, (dv, i) => dv.setFloat32(4 * i, fv[i]!, true)));
    const n = new Int32Array([0, -1, 2 ** 31 - 1, -(2 ** 31), 258]);
    expect(toBytesLE(n)).toEqual(expected(n.length, 4, (dv, i) => dv.setInt32(4 * i, n[i]!, true)));
    const l = new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n), 258n]);
    expect(toBytesLE(l)).toEqual(expected(l.length, 8, (dv, i) => dv.setBigInt64(8 * i, l[i]!, true)));
    const b = new Uint8Array([7, 0, 255]);
    expect(toBytesLE(b)).toEqual(b);
  });

  it('float32 round trip through bytes at an odd offset keeps every bit', () => {
    const f = new Float32Array([1.5, -0, 3.4e38, 1e-45, -2.75]);
    const padded = new Uint8Array(1 + f.byteLength);
    padded.set(toBytesLE(f), 1);
    const back = bytesLEToF32(padded.subarray(1));
    expect(new Uint32Array(back.buffer)).toEqual(new Uint32Array(f.buffer));
  });
});
