/**
 * Finite-difference gradient checks for float32 code. The loss is a fixed random linear
 * functional of the outputs, summed in float64, so its gradient w.r.t. the outputs is known
 * and the check exercises only the code's own backward.
 */
import { assert } from 'vitest';
import { Rng, centralDifference } from '@weft/core';

/** Σ a[i]·b[i] in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`dot: lengths ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** n floats uniform in [-scale, scale). */
export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.range(-scale, scale);
  return a;
}

export interface GradCheckOptions {
  /** Name for failure messages. */
  name: string;
  /** Indices to check (default: all). */
  indices?: number[];
  eps?: number;
  /** Pass iff |fd - analytic| <= atol + rtol * max(|fd|, |analytic|). */
  atol?: number;
  rtol?: number;
}

/**
 * Check `analytic` (a copy of the gradient of f w.r.t. x) against central differences at the
 * given indices; the failure names the worst index.
 */
export function expectGradMatches(
  f: () => number, x: Float32Array, analytic: ArrayLike<number>, o: GradCheckOptions,
): void {
  const eps = o.eps ?? 5e-3;
  const atol = o.atol ?? 5e-4;
  const rtol = o.rtol ?? 1e-2;
  const idx = o.indices ?? Array.from({ length: x.length }, (_, i) => i);
  let worst = 0;
  let msg = '';
  for (const i of idx) {
    const fd = centralDifference(f, x, i, eps);
    const an = analytic[i]!;
    const r = Math.abs(fd - an) / (atol + rtol * Math.max(Math.abs(fd), Math.abs(an)));
    if (!(r <= worst)) {
      worst = Number.isNaN(r) ? Infinity : r;
      msg = `${o.name}[${i}]: analytic ${an}, finite difference ${fd} (${worst.toFixed(2)}x the tolerance)`;
    }
  }
  if (worst > 1) assert.fail(msg);
}

/** `k` distinct indices in [0, n) (all of them if n <= k), drawn from rng. */
export function sampleIndices(rng: Rng, n: number, k: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= k) return all;
  rng.shuffle(all);
  return all.slice(0, k).sort((a, b) => a - b);
}
