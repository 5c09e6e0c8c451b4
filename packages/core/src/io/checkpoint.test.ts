import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpack } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { createOptimizer, OptimizerState } from '../optim/optimizer.js';
import { Rng } from '../rng.js';
import {
  checkAgainstLayout, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, loadCheckpointSync, paramsFromLayout,
  paramsIntoLayout, saveCheckpoint, saveCheckpointSync, type CheckpointData,
} from './checkpoint.js';
import { Layout } from '../params/layout.js';

const dir = mkdtempSync(join(tmpdir(), 'weft-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Random floats plus the awkward ones: ±0, subnormals, extremes, infinities. */
function awkward(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * 10 ** rng.range(-30, 30);
  const special = [-0, 0, 1e-45, -1e-45, 1.1754942e-38, 3.4028235e38, -3.4028235e38, Infinity, -Infinity, 1e-40];
  special.forEach((v, i) => { if (i < n) a[i] = v; });
  return a;
}

const layout = new Layout([
  { name: 'weight_ih_l0', shape: [16, 3], init: { kind: 'uniform', bound: 0.5 } },
  { name: 'weight_hh_l0', shape: [16, 4], init: { kind: 'uniform', bound: 0.5 } },
  { name: 'bias_ih_l0', shape: [16], init: { kind: 'uniform', bound: 0.5 } },
  { name: 'head.weight', shape: [5, 4], init: { kind: 'uniform', bound: 0.5 } },
]);

function sample(seed = 1): CheckpointData {
  const rng = new Rng(seed);
  const buf = awkward(rng, layout.size);
  const { params, shapes } = paramsFromLayout(layout, buf);
  const st = new OptimizerState(createOptimizer({ name: 'adam', lr: 0.01 }), layout.size, [awkward(rng, layout.size), awkward(rng, layout.size)], 17);
  return {
    config: { cell: 'lstm', hiddenSize: 4, nested: { list: [1, 'two', null, true], lr: 0.1 } },
    params, shapes, optimizer: st.toJSON(), rng: rng.getState(), step: 17,
    extra: { vocab: ['<pad>', 'a', 'é', '🙂'], metrics: { loss: [2.5, 1.25] }, curve: new Float32Array([1, -0, 3]) },
  };
}

describe('checkpoint round trip', () => {
  it('is bit-exact for parameters and optimizer state, keeps order, shapes and plain data', async () => {
    const path = join(dir, 'model.weft');
    const ckpt = sample();
    await saveCheckpoint(path, ckpt);
    const back = await loadCheckpoint(path, { layout });
    expect(back.format).toBe('weft-checkpoint');
    expect(back.version).toBe(1);
    expect(Object.keys(back.params)).toEqual(layout.names());
    for (const name of layout.names()) {
      expect(bits(back.params[name]!)).toEqual(bits(ckpt.params[name]!));
      expect(back.shapes[name]).toEqual([...layout.get(name).shape]);
    }
    expect(back.optimizer!.name).toBe('adam');
    expect(back.optimizer!.step).toBe(17);
    expect(back.optimizer!.options).toEqual(ckpt.optimizer!.options);
    back.optimizer!.states.forEach((s, k) => expect(bits(s)).toEqual(bits(ckpt.optimizer!.states[k]!)));
    expect(back.rng).toEqual(ckpt.rng);
    expect(back.step).toBe(17);
    expect(back.config).toEqual(ckpt.config);
    expect(back.extra).toEqual(ckpt.extra);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('sync variants read what the async ones write, and optional fields stay absent', () => {
    const path = join(dir, 'small.weft');
    const { params, shapes } = paramsFromLayout(layout, new Float32Array(layout.size).fill(0.5));
    saveCheckpointSync(path, { config: null, params, shapes, step: 0 });
    const back = loadCheckpointSync(path);
    expect(back.optimizer).toBeUndefined();
    expect(back.rng).toBeUndefined();
    expect(back.extra).toBeUndefined();
    const buf = new Float32Array(layout.size);
    paramsIntoLayout(back, layout, buf, path);
    expect(buf.every((x) => x === 0.5)).toBe(true);
  });

  it('resuming from a checkpoint continues training bit for bit', async () => {
    const n = layout.size;
    const rng = new Rng(5);
    const grads = Array.from({ length: 6 }, () => Float32Array.from({ length: n }, () => rng.normal()));
    const p0 = Float32Array.from({ length: n }, () => rng.normal());
    const spec = { name: 'rmsprop', lr: 0.01, momentum: 0.9, centered: true } as const;

    const straight = new OptimizerState(createOptimizer(spec), n);
    const pS = p0.slice();
    grads.forEach((g) => straight.apply(pS, g));

    const first = new OptimizerState(createOptimizer(spec), n);
    const pR = p0.slice();
    grads.slice(0, 3).forEach((g) => first.apply(pR, g));
    const path = join(dir, 'resume.weft');
    await saveCheckpoint(path, { config: {}, ...paramsFromLayout(layout, pR), optimizer: first.toJSON(), step: first.step });

    const back = await loadCheckpoint(path, { layout });
    const pL = new Float32Array(n);
    paramsIntoLayout(back, layout, pL);
    const resumed = OptimizerState.fromSnapshot(back.optimizer!, n);
    grads.slice(3).forEach((g) => resumed.apply(pL, g));
    expect(bits(pL)).toEqual(bits(pS));
  });

  it('follows the documented layout: magic, SHA-256 of bytes 40.., version, length, plain msgpack payload', () => {
    const file = encodeCheckpoint(sample(2));
    const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
    expect(new TextDecoder().decode(file.subarray(0, 8))).toBe('WEFTCKPT');
    expect(Buffer.from(file.subarray(8, 40)).equals(createHash('sha256').update(file.subarray(40)).digest())).toBe(true);
    expect(dv.getUint32(40, true)).toBe(1);
    expect(Number(dv.getBigUint64(48, true))).toBe(file.byteLength - 56);
    // Any msgpack reader (here msgpackr with default options) sees the parameters as name/shape/bin.
    const payload = unpack(file.subarray(56)) as { format: string; params: { name: string; shape: number[]; data: Uint8Array }[] };
    expect(payload.format).toBe('weft-checkpoint');
    const p0 = payload.params[0]!;
    expect(p0.name).toBe('weight_ih_l0');
    expect(p0.shape).toEqual([16, 3]);
    const pd = new DataView(p0.data.buffer, p0.data.byteOffset, p0.data.byteLength);
    const want = sample(2).params.weight_ih_l0!;
    for (let i = 0; i < want.length; i++) expect(Object.is(pd.getFloat32(4 * i, true), want[i])).toBe(true);
  });
});

describe('damaged checkpoints are refused with the file name and the reason', () => {
  const good = encodeCheckpoint(sample(3));

  function fileWith(bytes: Uint8Array, name: string): string {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  it('a flipped byte anywhere after the magic', async () => {
    for (const at of [8, 41, 60, good.byteLength - 1, Math.floor(good.byteLength / 2)]) {
      const bad = good.slice();
      bad[at]! ^= 0x10;
      const path = fileWith(bad, 'flipped.weft');
      await expect(loadCheckpoint(path)).rejects.toThrow(`${path}: truncated or corrupted (checksum mismatch)`);
    }
  });

  it('a truncated file', async () => {
    const path = fileWith(good.subarray(0, good.byteLength - 100), 'cut.weft');
    await expect(loadCheckpoint(path)).rejects.toThrow(`${path}: truncated or corrupted (checksum mismatch; the header announces ${good.byteLength - 56} payload bytes, the file has ${good.byteLength - 156})`);
    const tiny = fileWith(good.subarray(0, 20), 'tiny.weft');
    await expect(loadCheckpoint(tiny)).rejects.toThrow(`${tiny}: truncated or corrupted (20 bytes, shorter than the 56-byte header)`);
    const empty = fileWith(new Uint8Array(0), 'empty.weft');
    await expect(loadCheckpoint(empty)).rejects.toThrow(`${empty}: truncated or corrupted (0 bytes`);
  });

  it('something else entirely', async () => {
    const path = fileWith(new TextEncoder().encode('{"weights": [1, 2, 3]} and more text to pass the header size....'), 'model.weft');
    await expect(loadCheckpoint(path)).rejects.toThrow(`${path}: not a weft checkpoint`);
  });

  it('a newer format version (with a valid checksum)', () => {
    const newer = good.slice();
    new DataView(newer.buffer).setUint32(40, 7, true);
    newer.set(createHash('sha256').update(newer.subarray(40)).digest(), 8);
    expect(() => decodeCheckpoint(newer, 'model.weft')).toThrow('model.weft: format version 7 is newer than this weft supports (1)');
  });

  it('a payload that is not a weft checkpoint despite a valid envelope', () => {
    const bad = good.slice();
    // Overwrite "weft-checkpoint" in the payload with another string of the same length, re-sign.
    const at = Buffer.from(bad).indexOf('weft-checkpoint');
    bad.set(new TextEncoder().encode('safe-checkpoint'), at);
    bad.set(createHash('sha256').update(bad.subarray(40)).digest(), 8);
    expect(() => decodeCheckpoint(bad, 'x.weft')).toThrow('x.weft: not a weft checkpoint');
  });
});

describe('checking a checkpoint against the model layout', () => {
  const other = new Layout([
    { name: 'weight_ih_l0', shape: [8, 3], init: { kind: 'constant', value: 0 } },
    { name: 'weight_hh_l0', shape: [16, 4], init: { kind: 'constant', value: 0 } },
    { name: 'bias_ih_l0', shape: [16], init: { kind: 'constant', value: 0 } },
    { name: 'head.weight', shape: [5, 4], init: { kind: 'constant', value: 0 } },
  ]);

  it('names the parameter and both shapes', async () => {
    const path = join(dir, 'shapes.weft');
    const ckpt = paramsFromLayout(other, new Float32Array(other.size));
    await saveCheckpoint(path, { config: {}, ...ckpt, step: 0 });
    await expect(loadCheckpoint(path, { layout })).rejects.toThrow(`${path}: parameter 'weight_ih_l0' has shape [8,3], the model expects [16,3]`);
  });

  it('missing and unexpected parameters, and optimizer states of the wrong length', () => {
    const small = new Layout([{ name: 'weight_ih_l0', shape: [16, 3], init: { kind: 'constant', value: 0 } }]);
    const { params, shapes } = paramsFromLayout(small, new Float32Array(small.size));
    expect(() => checkAgainstLayout({ shapes }, layout, 'm.weft')).toThrow(
      "m.weft: parameter 'weight_hh_l0' is missing; the model expects it with shape [16,4] (and 2 more problems)",
    );
    const all = paramsFromLayout(layout, new Float32Array(layout.size));
    const extra = { ...all.shapes, 'rnn.extra': [2] };
    expect(() => checkAgainstLayout({ shapes: extra }, layout, 'm.weft')).toThrow("m.weft: unexpected parameter 'rnn.extra' (shape [2]); the model has no such parameter");
    const optimizer = { name: 'adam', options: {}, step: 1, states: [new Float32Array(3)] };
    expect(() => checkAgainstLayout({ shapes: all.shapes, optimizer }, layout, 'm.weft')).toThrow(`m.weft: optimizer state 0 has 3 floats, the model has ${layout.size} parameters`);
    expect(params.weight_ih_l0!.length).toBe(48);
  });

  it('refuses to save inconsistent data, naming the field', () => {
    const { params, shapes } = paramsFromLayout(layout, new Float32Array(layout.size));
    expect(() => encodeCheckpoint({ config: {}, params, shapes: { ...shapes, bias_ih_l0: [15] }, step: 0 })).toThrow(
      "checkpoint.params['bias_ih_l0'] has 16 floats, its shape [15] needs 15",
    );
    expect(() => encodeCheckpoint({ config: {}, params, shapes, step: -1 })).toThrow('checkpoint.step must be a non-negative integer, got -1');
    expect(() => encodeCheckpoint({ config: {}, params: { ...params, x: [1, 2] as never }, shapes, step: 0 })).toThrow("checkpoint.params['x'] must be a Float32Array");
    expect(() => encodeCheckpoint({ config: {}, params, shapes, step: 0, rng: [1, -2] })).toThrow('checkpoint.rng must be an array of uint32 words');
  });
});
