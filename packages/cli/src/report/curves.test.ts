import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '@weft/core';
import { curveSeries, niceTicks, parseMetrics, readMetrics, renderCurvesHtml, renderCurvesSvg, type MetricRecord } from './curves.js';

/** Tags in document order; throws unless every opened tag is closed in order (XML well-nestedness). */
function checkBalanced(xml: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else {
      names.push(name!);
      if (!selfClose) stack.push(name!);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
  return names;
}

function polylines(svg: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const m of svg.matchAll(/<polyline [^>]*data-series="([^"]+)"[^>]*points="([^"]*)"/g)) {
    out.set(m[1]!, m[2]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]));
  }
  return out;
}

const records: MetricRecord[] = [];
for (let step = 1; step <= 120; step++) records.push({ step, split: 'train', loss: 2 / Math.sqrt(step), accuracy: 1 - 1 / (1 + step / 10) });
for (let e = 1; e <= 4; e++) records.push({ step: e * 30, epoch: e, split: 'valid', loss: 1 / e + 0.2, accuracy: 0.5 + e / 10 });

describe('renderCurvesSvg', () => {
  const svg = renderCurvesSvg(records, { title: 'run <1> & "friends"' });
  it('is well nested and escapes text', () => {
    const tags = checkBalanced(svg);
    expect(tags[0]).toBe('svg');
    expect(svg).toContain('run &lt;1&gt; &amp; &quot;friends&quot;');
    checkBalanced(renderCurvesHtml(records).replace('<!DOCTYPE html>', '').replace(/<meta [^>]*>/, ''));
  });
  it('has one polyline per series with one point per record', () => {
    const lines = polylines(svg);
    expect([...lines.keys()].sort()).toEqual(['train accuracy', 'train loss', 'valid accuracy', 'valid loss']);
    expect(lines.get('train loss')!.length).toBe(120);
    expect(lines.get('valid loss')!.length).toBe(4);
  });
  it('maps steps and values monotonically: x grows with step, y falls as the value rises', () => {
    const lines = polylines(svg);
    for (const [name, pts] of lines) {
      const recs = records.filter((r) => `${r.split} ${name.split(' ')[1]}` === name).sort((a, b) => a.step - b.step);
      const vals = recs.map((r) => (name.endsWith('loss') ? r.loss : r.accuracy!));
      for (let i = 1; i < pts.length; i++) {
        expect(Math.sign(pts[i]![0] - pts[i - 1]![0])).toBe(Math.sign(recs[i]!.step - recs[i - 1]!.step));
        const dv = vals[i]! - vals[i - 1]!;
        if (Math.abs(dv) > 1e-3) expect(Math.sign(pts[i]![1] - pts[i - 1]![1])).toBe(-Math.sign(dv));
      }
    }
    // The same step is at the same x in both series.
    const tl = lines.get('train loss')!;
    const vl = lines.get('valid loss')!;
    expect(vl[0]![0]).toBeCloseTo(tl[29]![0], 1);
  });
  it('has axes with ticks and labels, and a legend', () => {
    expect(svg).toMatch(/>step</);
    expect(svg).toMatch(/>loss</);
    expect(svg).toMatch(/>accuracy</);
    expect(svg).toMatch(/>valid loss</);
    expect((svg.match(/<text /g) ?? []).length).toBeGreaterThan(20);
  });
  it('leaves out the accuracy panel when no record has accuracy, and non-finite losses', () => {
    const s = renderCurvesSvg([{ step: 1, split: 'train', loss: 1 }, { step: 2, split: 'train', loss: NaN }, { step: 3, split: 'train', loss: 0.5 }]);
    checkBalanced(s);
    expect([...polylines(s).keys()]).toEqual(['train loss']);
    expect(polylines(s).get('train loss')!.length).toBe(2);
    expect(s).not.toContain('accuracy');
    expect(() => renderCurvesSvg([])).toThrow(RangeError);
  });
});

describe('curveSeries', () => {
  it('averages long series into maxPoints buckets, preserving the mean', () => {
    const s = curveSeries(records, 10).find((x) => x.split === 'train' && x.metric === 'loss')!;
    expect(s.steps.length).toBe(10);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(s.values)).toBeCloseTo(mean(records.filter((r) => r.split === 'train').map((r) => r.loss)), 10);
    expect(s.steps[0]).toBe(6.5); // mean of steps 1..12
  });
});

describe('niceTicks', () => {
  it('covers the range with round, evenly spaced values', () => {
    for (const [lo, hi] of [[0, 1], [0.13, 2.71], [1, 120], [-5, 5], [1000, 250000], [3, 3]] as const) {
      const t = niceTicks(lo, hi, 5);
      expect(t[0]!).toBeLessThanOrEqual(lo);
      expect(t[t.length - 1]!).toBeGreaterThanOrEqual(hi);
      const step = t[1]! - t[0]!;
      const mant = step / 10 ** Math.floor(Math.log10(step));
      expect([1, 2, 2.5, 5].some((m) => Math.abs(m - mant) < 1e-9)).toBe(true);
      for (let i = 2; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBeCloseTo(step, 9);
      expect(t.length).toBeLessThanOrEqual(12);
    }
  });
});

describe('parseMetrics', () => {
  it('reads records, nulls as NaN, and names bad lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-metrics-'));
    const f = join(dir, 'metrics.jsonl');
    writeFileSync(f, '{"step": 1, "split": "train", "loss": 2.5, "lr": 0.1}\n{"step": 2, "epoch": 1, "split": "valid", "loss": null, "accuracy": 0.5}\n');
    const recs = readMetrics(f);
    expect(recs[0]).toEqual({ step: 1, split: 'train', loss: 2.5 });
    expect(recs[1]!.loss).toBeNaN();
    expect(recs[1]).toMatchObject({ epoch: 1, accuracy: 0.5 });
    const bad = (text: string): DataError => {
      try {
        parseMetrics(text, 'm.jsonl');
      } catch (e) {
        expect(e).toBeInstanceOf(DataError);
        return e as DataError;
      }
      throw new Error('no error');
    };
    expect(bad('{"step": 1, "split": "test", "loss": 1}').message).toBe('m.jsonl:1: field "split" must be "train" or "valid", got "test"');
    expect(bad('{"step": 1, "split": "train", "loss": 1}\n{"step": "2", "split": "train", "loss": 1}').message).toBe('m.jsonl:2: field "step" must be a number, got "2"');
    expect(bad('{"step": 1, "split": "train"}').message).toBe('m.jsonl:1: field "loss" must be a number (or null), it is missing');
  });
});
