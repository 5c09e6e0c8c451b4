/**
 * Comparison of float arrays against a reference, element by element, reporting the worst
 * element by tensor name; and loading of the PyTorch goldens in test/goldens/torch (made by test/goldens/generate.py).
 *
 * Closeness is numpy's: |actual - expected| <= atol + rtol * |expected|. The "worst" element is
 * the one with the largest ratio |actual - expected| / (atol + rtol * |expected|) (> 1 fails).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { assert } from 'vitest';

export interface CloseOptions {
  rtol: number;
  atol: number;
  /** Tensor name for the failure message. */
  name: string;
}

export interface CloseReport {
  name: string;
  ok: boolean;
  /** Largest error ratio (> 1 means outside tolerance); Infinity for a length mismatch or NaN. */
  worstRatio: number;
  worstIndex: number;
  actual: number;
  expected: number;
  message: string;
}

/** Compare without throwing: returns the worst element's report. */
export function compareClose(
  actual: ArrayLike<number>, expected: ArrayLike<number>, { rtol, atol, name }: CloseOptions,
): CloseReport {
  if (actual.length !== expected.length) {
    return {
      name, ok: false, worstRatio: Infinity, worstIndex: -1, actual: NaN, expected: NaN,
      message: `${name}: length ${actual.length}, expected ${expected.length}`,
    };
  }
  let worst = 0;
  let wi = -1;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const r = Number.isFinite(a) && Number.isFinite(e) ? Math.abs(a - e) / (atol + rtol * Math.abs(e)) : Infinity;
    if (r > worst || (wi < 0 && r === worst)) {
      worst = r;
      wi = i;
    }
  }
  const a = wi >= 0 ? actual[wi]! : NaN;
  const e = wi >= 0 ? expected[wi]! : NaN;
  return {
    name, ok: worst <= 1, worstRatio: worst, worstIndex: wi, actual: a, expected: e,
    message: `${name}[${wi}] = ${a}, expected ${e} (|diff| ${Math.abs(a - e).toExponential(3)}, ` +
      `${worst.toFixed(2)}x the tolerance atol ${atol} + rtol ${rtol}*|expected|; ${actual.length} elements)`,
  };
}

/** Assert every element is close; the failure names the tensor and its worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions): void {
  const r = compareClose(actual, expected, opts);
  if (!r.ok) assert.fail(r.message);
}

/**
 * Assert a list of comparisons at once; the failure names the worst tensor first, then every
 * other failing one.
 */
export function expectAllClose(reports: CloseReport[]): void {
  const bad = reports.filter((r) => !r.ok).sort((x, y) => y.worstRatio - x.worstRatio);
  if (bad.length > 0) {
    assert.fail(`worst: ${bad.map((r) => r.message).join('\n  also: ')}`);
  }
}

/** The repository root (this file is test/helpers/compare.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the PyTorch goldens are: test/goldens/torch in this repository, nothing outside it. */
export const goldensDir = path.resolve(repoRoot, 'test/goldens/torch');

/** Parsed JSON of one golden case, by file name with or without `.json`. */
export function loadGolden<T = any>(name: string): T {
  const file = path.join(goldensDir, name.endsWith('.json') ? name : `${name}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Names of the golden cases (without `.json`) whose names start with one of `prefixes`. */
export function listGoldens(...prefixes: string[]): string[] {
  return readdirSync(goldensDir)
    .filter((f) => f.endsWith('.json') && prefixes.some((p) => f.startsWith(p)))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}
