// The loss kernels: the WebAssembly path (asm/loss.ts) against the TypeScript reference
// (loss.ts) bit for bit (losses, counts and every gradient float), on 1..70 classes (partial
// vectors), ignored targets, huge logits, -Infinity and NaN; in place (dLogits = logits) and
// not; the fallback for arrays outside the arena; the target checks. The reference itself is
// checked against a plain float64 formula and the identity Σ_j dLogits = 0 per row.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { referenceKernels as R, setKernels } from './index.js';
import { allocF32In, createSharedMemory, detachMemory } from './memory.js';
import { loadWasmKernels } from './wasm.js';

// `pnpm test` builds the WebAssembly module first; without it this file fails rather than skipping.
const W: ReturnType<typeof loadWasmKernels> | null = loadWasmKernels(createSharedMemory(64));

afterAll(() => {
  setKernels(R);
  detachMemory();
});

/** Object.is on every element (NaN equal to NaN, +0 distinct from -0). */
function expectSameBits(a: Float32Array, b: Float32Array, name: string): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`${name}[${i}]: wasm ${a[i]} reference ${b[i]}`);
  }
}

/** Logits of one of several kinds: ordinary, huge (±3e4), near float32's limit, with -inf or NaN entries. */
function logits(rng: Rng, n: number, kind: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = rng.normal() * 3;
    if (kind === 1) v = rng.range(-3e4, 3e4);
    if (kind === 2) v = rng.range(-3e38, 3e38);
    if (kind === 3 && rng.uniform() < 0.2) v = -Infinity;
    if (kind === 4 && rng.uniform() < 0.1) v = NaN;
    if (kind === 5) v = Math.round(rng.normal()); // ties for the arg-max
    out.push(v);
  }
  return out;
}

describe('softmax cross-entropy reference', () => {
  it('matches log-sum-exp written out in float64, and each gradient row sums to 0', () => {
    const rng = new Rng(7);
    for (const classes of [1, 2, 5, 33]) {
      const rows = 6;
      const x = new Float32Array(logits(rng, rows * classes, 0));
      const targets = Int32Array.from({ length: rows }, (_, r) => (r === 2 ? -1 : rng.int(classes)));
      const d = new Float32Array(rows * classes);
      const res = R.softmaxCrossEntropy(d, x, targets, rows, classes, 0.25);
      let sum = 0;
      let correct = 0;
      for (let r = 0; r < rows; r++) {
        const row = Array.from(x.subarray(r * classes, (r + 1) * classes));
        if (targets[r]! < 0) {
          expect(row.map((_, j) => d[r * classes + j])).toEqual(row.map(() => 0));
          continue;
        }
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
        sum += lse - row[targets[r]!]!;
        if (row.indexOf(m) === targets[r]) correct++;
        let g = 0;
        for (let j = 0; j < classes; j++) {
          const want = 0.25 * (Math.exp(row[j]! - lse) - (j === targets[r] ? 1 : 0));
          expect(Math.abs(d[r * classes + j]! - want)).toBeLessThanOrEqual(1e-7 * (1 + Math.abs(want)));
          g += d[r * classes + j]!;
        }
        expect(Math.abs(g)).toBeLessThan(1e-6);
      }
      expect(res.count).toBe(rows - 1);
      expect(res.correct).toBe(correct);
      expect(Math.abs(res.sum - sum)).toBeLessThanOrEqual(1e-12 * (1 + sum));
    }
  });

  it('stays finite on huge logits (the max is subtracted first)', () => {
    const x = new Float32Array([3e38, -3e38, 1e38, 3e38 - 1e32]);
    const d = new Float32Array(4);
    const res = R.softmaxCrossEntropy(d, x, [1], 1, 4, 1);
    expect(Number.isFinite(res.sum)).toBe(true);
    expect(d.every(Number.isFinite)).toBe(true);
  });
});

describe('softmax cross-entropy: WebAssembly vs reference', () => {
  it('same loss, counts and gradient bits for 1..70 classes, ignored targets, huge / -inf / NaN logits', () => {
    const rng = new Rng(11);
    const mem = W!.memory;
    for (let classes = 1; classes <= 70; classes++) {
      for (const kind of [0, 1, 2, 3, 4, 5]) {
        const rows = 1 + rng.int(6);
        const n = rows * classes;
        const x = allocF32In(mem, n);
        x.set(logits(rng, n, kind));
        const targets = Int32Array.from({ length: rows }, () => (rng.uniform() < 0.2 ? -1 : rng.int(classes)));
        const scale = rng.uniform() < 0.5 ? 1 : rng.range(1e-4, 1);
        for (const inPlace of [false, true]) {
          const xw = allocF32In(mem, n);
          xw.set(x);
          const xr = x.slice();
          const dw = inPlace ? xw : allocF32In(mem, n);
          const dr = inPlace ? xr : new Float32Array(n);
          const before = W!.calls.wasm;
          const a = W!.softmaxCrossEntropy(dw, xw, targets, rows, classes, scale);
          expect(W!.calls.wasm).toBe(before + 1);
          const b = R.softmaxCrossEntropy(dr, xr, targets, rows, classes, scale);
          const name = `classes=${classes} kind=${kind} rows=${rows}${inPlace ? ' in place' : ''}`;
          expect(Object.is(a.sum, b.sum), `${name} sum ${a.sum} vs ${b.sum}`).toBe(true);
          expect([a.count, a.correct], name).toEqual([b.count, b.correct]);
          expectSameBits(dw, dr, `${name} dLogits`);
        }
      }
    }
  });

  it('arg-max edge rows: all NaN, all -inf, NaN and -inf mixed, signed-zero ties, the max last', () => {
    const rows: number[][] = [];
    for (const c of [1, 3, 4, 5, 9]) {
      rows.push(Array(c).fill(NaN), Array(c).fill(-Infinity), Array.from({ length: c }, (_, j) => (j % 2 ? NaN : -Infinity)));
      rows.push(Array.from({ length: c }, (_, j) => (j % 2 ? 0 : -0)), Array.from({ length: c }, (_, j) => (j === c - 1 ? 5 : j)));
      rows.push(Array.from({ length: c }, (_, j) => (j === 0 ? NaN : 2)));
    }
    for (const row of rows) {
      const c = row.length;
      for (let t = 0; t < c; t++) {
        const x = allocF32In(W!.memory, c);
        x.set(row);
        const xr = x.slice();
        const a = W!.softmaxCrossEntropy(x, x, [t], 1, c, 1);
        const b = R.softmaxCrossEntropy(xr, xr, [t], 1, c, 1);
        expect([a.correct, a.count], `row ${row} target ${t}`).toEqual([b.correct, b.count]);
        expect(Object.is(a.sum, b.sum), `row ${row} target ${t}: sum ${a.sum} vs ${b.sum}`).toBe(true);
        expectSameBits(x, xr, `row ${row} target ${t}`);
      }
    }
  });

  it('many rows of a language-model head (96 classes): the same bits', () => {
    const rng = new Rng(12);
    const rows = 500;
    const classes = 96;
    const x = allocF32In(W!.memory, rows * classes);
    x.set(logits(rng, rows * classes, 0));
    const xr = x.slice();
    const targets = Array.from({ length: rows }, () => rng.int(classes)); // a plain array is accepted too
    const a = W!.softmaxCrossEntropy(x, x, targets, rows, classes, 1 / rows);
    const b = R.softmaxCrossEntropy(xr, xr, targets, rows, classes, 1 / rows);
    expect(a).toEqual(b);
    expectSameBits(x, xr, 'dLogits');
  });

  it('runs the reference for arrays outside the arena', () => {
    const x = new Float32Array([1, 2, 3, 4]);
    const before = W!.calls.reference;
    const res = W!.softmaxCrossEntropy(x, x, [0, 1], 2, 2, 1);
    expect(W!.calls.reference).toBe(before + 1);
    expect(res.count).toBe(2);
  });

  it('refuses a target that is not a class index, on both paths', () => {
    const x = allocF32In(W!.memory, 6);
    for (const k of [W!, R]) {
      expect(() => k.softmaxCrossEntropy(x, x, [0, 3], 2, 3, 1)).toThrow('softmaxCrossEntropy: targets[1] = 3 is not a class index in 0..2');
      expect(() => k.softmaxCrossEntropy(x, x, [0.5, 1], 2, 3, 1)).toThrow(RangeError);
    }
    expect(() => W!.softmaxCrossEntropy(x, x, [0], 2, 3, 1)).toThrow('targets has 1 values, expected 2');
  });
});

describe('squared error: WebAssembly vs reference', () => {
  it('same sum, count and gradient bits, with and without a mask, targets in the arena or not', () => {
    const rng = new Rng(13);
    const mem = W!.memory;
    for (const size of [1, 2, 3, 4, 5, 9]) {
      for (const masked of [false, true]) {
        for (const arenaTargets of [false, true]) {
          const rows = 1 + rng.int(20);
          const n = rows * size;
          const p = allocF32In(mem, n);
          for (let i = 0; i < n; i++) p[i] = rng.normal() * 10;
          const tg = arenaTargets ? allocF32In(mem, n) : new Float32Array(n);
          for (let i = 0; i < n; i++) tg[i] = rng.normal();
          const mask = masked ? Uint8Array.from({ length: rows }, () => (rng.uniform() < 0.3 ? 0 : 1)) : undefined;
          const d = allocF32In(mem, n);
          const dr = new Float32Array(n);
          const before = W!.calls.wasm;
          const a = W!.meanSquaredError(d, p, tg, rows, size, 0.1, mask);
          expect(W!.calls.wasm).toBe(before + 1);
          const b = R.meanSquaredError(dr, p.slice(), tg, rows, size, 0.1, mask);
          expect(a).toEqual(b);
          expectSameBits(d, dr, `size=${size} masked=${masked}`);
        }
      }
    }
  });

  it('falls back to the reference for float64 targets (they would lose bits as float32)', () => {
    const p = allocF32In(W!.memory, 2);
    const before = W!.calls.reference;
    const res = W!.meanSquaredError(p, p, new Float64Array([0.1, 0.2]), 2, 1, 1);
    expect(W!.calls.reference).toBe(before + 1);
    expect(res.count).toBe(2);
  });
});
