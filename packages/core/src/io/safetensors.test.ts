import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { Layout } from '../params/layout.js';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors, tensorsIntoLayout, type Tensor } from './safetensors.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/**
 * A safetensors file built byte by byte from the format description, independently of the
 * writer: u64 LE header length, the JSON header as given, then the data section.
 */
function buildFile(header: string, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

function f32le(values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => dv.setFloat32(4 * i, v, true));
  return out;
}

const layout = new Layout([
  { name: 'rnn.weight_ih_l0', shape: [8, 3], init: { kind: 'uniform', bound: 1 } },
  { name: 'rnn.bias_ih_l0', shape: [8], init: { kind: 'uniform', bound: 1 } },
  { name: 'head.weight', shape: [2, 2], init: { kind: 'uniform', bound: 1 } },
]);

describe('safetensors round trip', () => {
  it('is bit-exact, keeps order, shapes and metadata', async () => {
    const rng = new Rng(7);
    const tensors = new Map<string, Tensor>([
      ['b', { shape: [3, 1], data: new Float32Array([-0, 1e-45, -1.5e-40]) }],
      ['a', { shape: [2, 2, 2], data: Float32Array.from({ length: 8 }, () => rng.normal() * 1e10) }],
      ['scalar', { shape: [], data: new Float32Array([Infinity]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
    ]);
    const path = join(dir, 'rt.safetensors');
    await saveSafetensors(path, tensors, { format: 'pt', note: 'ünïcode' });
    const back = await loadSafetensors(path);
    expect([...back.keys()]).toEqual(['b', 'a', 'scalar', 'empty']);
    for (const [k, t] of tensors) {
      expect(back.get(k)!.shape).toEqual(t.shape);
      expect(bits(back.get(k)!.data)).toEqual(bits(t.data));
    }
    expect(decodeSafetensors(readFileSync(path), path).metadata).toEqual({ format: 'pt', note: 'ünïcode' });
  });

  it('writes what the format description says (checked by an independent parser)', () => {
    const params = Float32Array.from({ length: layout.size }, (_, i) => i * 0.25 - 3);
    const file = encodeSafetensors({ layout, params }, { a: 'b' });
    const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
    const n = Number(dv.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const text = new TextDecoder().decode(file.subarray(8, 8 + n));
    expect(text[0]).toBe('{');
    expect(text.slice(text.lastIndexOf('}') + 1)).toMatch(/^ *$/); // padding is spaces only
    const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    expect(header.__metadata__).toEqual({ a: 'b' });
    let expectBegin = 0;
    for (const e of layout.entries) {
      const h = header[e.name]!;
      expect(h.dtype).toBe('F32');
      expect(h.shape).toEqual([...e.shape]);
      expect(h.data_offsets).toEqual([expectBegin, expectBegin + 4 * e.size]);
      for (let i = 0; i < e.size; i++) expect(dv.getFloat32(8 + n + h.data_offsets[0] + 4 * i, true)).toBe(params[e.offset + i]);
      expectBegin += 4 * e.size;
    }
    expect(file.byteLength).toBe(8 + n + expectBegin);
  });

  it('loads a file built by hand from the specification, header unpadded, keys in any order', () => {
    const data = new Uint8Array([...f32le([1, 2, 3]), ...f32le([-1, 0.5, 0.25, 8])]);
    const header = '{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[12,28]},"__metadata__":{"format":"pt"},"v":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}';
    const { tensors, metadata } = decodeSafetensors(buildFile(header, data), 'hand.safetensors');
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()]).toEqual(['v', 'w']); // data order
    expect(Array.from(tensors.get('v')!.data)).toEqual([1, 2, 3]);
    expect(tensors.get('w')!.shape).toEqual([2, 2]);
    expect(Array.from(tensors.get('w')!.data)).toEqual([-1, 0.5, 0.25, 8]);
  });

  it('moves parameters by layout, checking names and shapes', async () => {
    const params = Float32Array.from({ length: layout.size }, (_, i) => Math.sin(i));
    const path = join(dir, 'model.safetensors');
    await saveSafetensors(path, { layout, params });
    const into = new Float32Array(layout.size);
    tensorsIntoLayout(await loadSafetensors(path), layout, into, path);
    expect(bits(into)).toEqual(bits(params));
    const wrong = new Layout([
      { name: 'rnn.weight_ih_l0', shape: [16, 3], init: { kind: 'constant', value: 0 } },
      { name: 'rnn.bias_ih_l0', shape: [8], init: { kind: 'constant', value: 0 } },
      { name: 'head.weight', shape: [2, 2], init: { kind: 'constant', value: 0 } },
    ]);
    expect(() => tensorsIntoLayout(decodeSafetensors(readFileSync(path), path).tensors, wrong, new Float32Array(wrong.size), path)).toThrow(
      `${path}: parameter 'rnn.weight_ih_l0' has shape [8,3], the model expects [16,3]`,
    );
  });
});

describe('damaged or unsupported safetensors files are refused with a reason', () => {
  const t = (dtype: string, offs: string, shape = '[2]'): string => `{"x":{"dtype":"${dtype}","shape":${shape},"data_offsets":${offs}}}`;
  const eight = f32le([1, 2]);
  const cases: [string, Uint8Array, string][] = [
    ['too short', new Uint8Array(5), 'f: not a safetensors file (5 bytes, too short for the 8-byte header length)'],
    ['header longer than the file', buildFile(t('F32', '[0,8]'), eight).subarray(0, 20), 'f: truncated or not a safetensors file (header length'],
    ['bad JSON', buildFile('{"x": [1, 2', eight), 'f: header is not valid JSON'],
    ['not an object', buildFile('[1]', eight), "f: not a safetensors file (the header does not start with '{')"],
    ['F64', buildFile(t('F64', '[0,16]'), new Uint8Array(16)), "f: tensor 'x': dtype F64 not supported, expected F32"],
    ['F16', buildFile(t('F16', '[0,4]'), new Uint8Array(4)), "f: tensor 'x': dtype F16 not supported, expected F32"],
    ['BF16', buildFile(t('BF16', '[0,4]'), new Uint8Array(4)), "f: tensor 'x': dtype BF16 not supported, expected F32"],
    ['unknown dtype', buildFile(t('F33', '[0,8]'), eight), `f: tensor 'x': unknown dtype "F33", expected F32`],
    ['offsets out of range', buildFile(t('F32', '[0,12]', '[3]'), eight), "f: tensor 'x': data_offsets [0,12] out of range (the data section has 8 bytes)"],
    ['offsets reversed', buildFile(t('F32', '[8,0]'), eight), "f: tensor 'x': data_offsets must be [begin, end] with 0 <= begin <= end, got [8,0]"],
    ['size disagrees with shape', buildFile(t('F32', '[0,8]', '[3]'), eight), "f: tensor 'x': data_offsets [0,8] hold 8 bytes, shape [3] in F32 needs 12"],
    ['trailing bytes', buildFile(t('F32', '[0,8]'), f32le([1, 2, 3])), 'f: the last 4 bytes of the data section belong to no tensor'],
    [
      'overlap',
      buildFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', f32le([1, 2, 3])),
      "f: tensors 'a' and 'b' overlap",
    ],
    [
      'hole',
      buildFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', f32le([1, 2, 3])),
      "f: 4 bytes of the data section before tensor 'b' belong to no tensor",
    ],
    ['bad metadata', buildFile('{"__metadata__":{"n":1}}', new Uint8Array(0)), 'f: __metadata__ must be an object of strings'],
  ];
  it.each(cases)('%s', (_, bytes, message) => {
    expect(() => decodeSafetensors(bytes, 'f')).toThrow(message);
  });

  it('a file cut short on disk', async () => {
    const path = join(dir, 'cut.safetensors');
    const whole = encodeSafetensors(new Map([['w', { shape: [4], data: new Float32Array([1, 2, 3, 4]) }]]));
    writeFileSync(path, whole.subarray(0, whole.byteLength - 3));
    await expect(loadSafetensors(path)).rejects.toThrow(`${path}: tensor 'w': data_offsets [0,16] out of range (the data section has 13 bytes)`);
  });

  it('refuses to write what it could not read back', () => {
    expect(() => encodeSafetensors(new Map([['__metadata__', { shape: [1], data: new Float32Array(1) }]]))).toThrow("tensor name '__metadata__' is reserved");
    expect(() => encodeSafetensors(new Map([['w', { shape: [3], data: new Float32Array(2) }]]))).toThrow("tensor 'w' has 2 floats, its shape [3] needs 3");
    expect(() => encodeSafetensors(new Map(), { n: 1 as never })).toThrow("safetensors metadata['n'] must be a string, got 1");
  });
});
