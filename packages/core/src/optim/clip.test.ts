import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { clipChunkCount, clipCoefficient, clipGradNorm, clipGradValue, normFromChunks, scaleGrads, sumSquaresChunks } from './clip.js';

function randomArray(rng: Rng, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * rng.normal();
  return a;
}

const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** sqrt(Σ g²) by pairwise summation: a different order than the chunked sum, exact to ~1e-15. */
function referenceNorm(g: Float32Array): number {
  const sq = Array.from(g, (x) => x * x);
  while (sq.length > 1) {
    const next: number[] = [];
    for (let i = 0; i < sq.length; i += 2) next.push(sq[i]! + (sq[i + 1] ?? 0));
    sq.splice(0, sq.length, ...next);
  }
  return Math.sqrt(sq[0] ?? 0);
}

describe('clipGradNorm (torch clip_grad_norm_)', () => {
  it('returns the pre-clip norm and scales by max_norm / (norm + 1e-6)', () => {
    const g = randomArray(new Rng(1), 5000, 0.3);
    const before = g.slice();
    const ref = referenceNorm(before);
    const norm = clipGradNorm(g, 1.0, 256);
    expect(Math.abs(norm - ref) / ref).toBeLessThan(1e-12);
    expect(norm).toBeGreaterThan(1); // the test data does get clipped
    const coef = 1.0 / (ref + 1e-6);
    for (let i = 0; i < g.length; i++) expect(Math.abs(g[i]! - before[i]! * coef)).toBeLessThanOrEqual(Math.abs(before[i]! * coef) * 3e-7);
    // And the clipped gradient has norm max_norm (to float32 precision).
    expect(Math.abs(referenceNorm(g) - 1)).toBeLessThan(1e-6);
  });

  it('leaves a gradient below the threshold untouched, bit for bit', () => {
    const g = randomArray(new Rng(2), 300, 0.01);
    const before = g.slice();
    const norm = clipGradNorm(g, 10);
    expect(norm).toBeLessThan(10);
    expect(bits(g)).toEqual(bits(before));
  });

  it('returns a NaN norm and leaves the gradient alone; an infinite norm is returned as is', () => {
    const g = new Float32Array([1, Number.NaN, 2]);
    expect(clipGradNorm(g, 1)).toBeNaN();
    expect(g[0]).toBe(1);
    expect(clipGradNorm(new Float32Array([1, Number.POSITIVE_INFINITY]), 1)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('chunked sums: the same bits however the chunks are shared out', () => {
  it('any chunk-aligned partition, in any order, matches clipGradNorm exactly', () => {
    const rng = new Rng(3);
    const n = 10_007;
    const chunk = 64;
    const g = randomArray(rng, n, 1);
    const C = clipChunkCount(n, chunk);
    expect(C).toBe(Math.ceil(n / chunk));
    const single = clipGradNorm(g.slice(), 1e9, chunk);
    for (let trial = 0; trial < 5; trial++) {
      // Random chunk-aligned cut points, slices computed in random order.
      const cuts = new Set<number>([0, n]);
      for (let k = 0; k < 1 + trial * 3; k++) cuts.add(Math.min(n, rng.int(C) * chunk));
      const sorted = [...cuts].sort((a, b) => a - b);
      const slices = sorted.slice(1).map((b, i) => [sorted[i]!, b] as const);
      rng.shuffle(slices);
      const out = new Float64Array(C).fill(Number.NaN);
      for (const [a, b] of slices) sumSquaresChunks(g, a, b, chunk, out);
      expect(out.every((x) => !Number.isNaN(x))).toBe(true);
      expect(Object.is(normFromChunks(out), single)).toBe(true);
    }
  });

  it('refuses a slice that would split a chunk', () => {
    const g = new Float32Array(100);
    const out = new Float64Array(4);
    expect(() => sumSquaresChunks(g, 10, 64, 32, out)).toThrow('start and end must lie on chunk boundaries (multiples of 32, or end = 100), got start 10, end 64');
    expect(() => sumSquaresChunks(g, 0, 50, 32, out)).toThrow(RangeError);
    expect(() => sumSquaresChunks(g, 64, 100, 32, out)).not.toThrow();
    expect(() => sumSquaresChunks(g, 0, 100, 32, new Float64Array(3))).toThrow('out has 3 partials');
  });

  it('clipCoefficient and scaleGrads reproduce the single-threaded clip', () => {
    const g = randomArray(new Rng(4), 1000, 1);
    const a = g.slice();
    const b = g.slice();
    const norm = clipGradNorm(a, 2, 128);
    const coef = clipCoefficient(norm, 2);
    expect(coef).toBeLessThan(1);
    scaleGrads(b, coef, 0, 512);
    scaleGrads(b, coef, 512, 1000);
    expect(bits(b)).toEqual(bits(a));
    expect(clipCoefficient(0.5, 2)).toBe(1);
    expect(clipCoefficient(Number.NaN, 2)).toBeNaN();
    expect(() => clipCoefficient(1, 0)).toThrow('maxNorm must be a positive number, got 0');
  });
});

describe('clipGradValue (torch clip_grad_value_)', () => {
  it('clamps the slice to [-v, v], keeps NaN, leaves the rest', () => {
    const g = new Float32Array([-3, -0.5, 0.25, 2, Number.NaN, 7, -7]);
    clipGradValue(g, 1, 0, 6);
    expect(Array.from(g)).toEqual([-1, -0.5, 0.25, 1, Number.NaN, 1, -7]);
    expect(() => clipGradValue(g, -1)).toThrow('clipValue must be a positive number, got -1');
  });
});
