import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '@weft/core';
import {
  curveSeries, curvesModel, drawCurves, niceTicks, parseMetrics, readMetrics, renderCurvesHtml, renderCurvesSvg, smoothSeries, stepsPerEpoch, type CurvesModel, type MetricRecord,
} from './curves.js';

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

// Four epochs of 30 steps; the validation loss is best after epoch 3.
const records: MetricRecord[] = [];
for (let step = 1; step <= 120; step++) records.push({ step, epoch: Math.ceil(step / 30), split: 'train', loss: 2 / Math.sqrt(step), accuracy: 1 - 1 / (1 + step / 10) });
const validLoss = [1.0, 0.6, 0.5, 0.7];
for (let e = 1; e <= 4; e++) records.push({ step: e * 30, epoch: e, split: 'valid', loss: validLoss[e - 1]!, accuracy: 0.5 + e / 10 });

interface Scale { left: number; plotW: number; x0: number; x1: number; panels: { metric: string; top: number; bottom: number; y0: number; y1: number }[] }
const scaleOf = (svg: string): Scale => JSON.parse(/data-scale="([^"]*)"/.exec(svg)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as Scale;
const attr = (svg: string, re: RegExp): string[] => [...svg.matchAll(re)].map((m) => m[1]!);

describe('renderCurvesSvg', () => {
  const svg = renderCurvesSvg(records, { title: 'run <1> & "friends"' });
  it('is well nested and escapes text', () => {
    const tags = checkBalanced(svg);
    expect(tags[0]).toBe('svg');
    expect(svg).toContain('run &lt;1&gt; &amp; &quot;friends&quot;');
    const html = renderCurvesHtml(records);
    const body = html.slice(html.indexOf('<div id="weft-curves"'), html.indexOf('<div id="weft-tip"'));
    checkBalanced(body);
  });
  it('has per-step and smoothed training lines, a validation line drawn last, one point per record', () => {
    const lines = polylines(svg);
    expect([...lines.keys()].sort()).toEqual([
      'train accuracy', 'train accuracy per step', 'train loss', 'train loss per step', 'valid accuracy', 'valid loss',
    ]);
    expect(lines.get('train loss per step')!.length).toBe(120);
    expect(lines.get('train loss')!.length).toBe(120);
    expect(lines.get('valid loss')!.length).toBe(4);
    // Within each panel the validation line comes after (on top of) the training lines.
    const order = attr(svg, /data-series="([^"]+)"/g);
    expect(order.indexOf('valid loss')).toBeGreaterThan(order.indexOf('train loss'));
    expect(order.indexOf('valid loss')).toBeGreaterThan(order.indexOf('train loss per step'));
  });
  it('puts epochs on the x axis: step / steps per epoch, the validation of epoch e at x = e', () => {
    expect(svg).toMatch(/>epoch</);
    expect(svg).not.toMatch(/>step</);
    const lines = polylines(svg);
    const raw = lines.get('train loss per step')!;
    const valid = lines.get('valid loss')!;
    for (let e = 1; e <= 4; e++) expect(valid[e - 1]![0]).toBeCloseTo(raw[30 * e - 1]![0], 1);
    const sc = scaleOf(svg);
    expect(sc.x0).toBe(0);
    expect(sc.x1).toBe(4);
    // Evenly spaced in steps: x grows by the same amount each step.
    const dx = raw[1]![0] - raw[0]![0];
    for (let i = 1; i < raw.length; i++) expect(raw[i]![0] - raw[i - 1]![0]).toBeCloseTo(dx, 1);
    expect(raw[29]![0]).toBeCloseTo(sc.left + sc.plotW / 4, 1);
  });
  it('maps values monotonically: y falls as the value rises', () => {
    const lines = polylines(svg);
    const check = (name: string, vals: number[]) => {
      const pts = lines.get(name)!;
      for (let i = 1; i < pts.length; i++) {
        const dv = vals[i]! - vals[i - 1]!;
        if (Math.abs(dv) > 1e-3) expect(Math.sign(pts[i]![1] - pts[i - 1]![1])).toBe(-Math.sign(dv));
      }
    };
    check('train loss per step', records.filter((r) => r.split === 'train').map((r) => r.loss));
    check('train accuracy per step', records.filter((r) => r.split === 'train').map((r) => r.accuracy!));
    check('valid loss', validLoss);
  });
  it('smooths the training line: much calmer than the steps, a moving mean inside, true to the trend at the ends', () => {
    const noisy = records.map((r, i) => (r.split === 'train' ? { ...r, loss: r.loss + (i % 2 ? 0.3 : -0.3) } : r));
    const model = curvesModel(noisy);
    const s = model.series.find((x) => x.split === 'train' && x.metric === 'loss')!;
    const variation = (v: number[]) => v.slice(1).reduce((t, x, i) => t + Math.abs(x - v[i]!), 0);
    expect(variation(s.smooth!)).toBeLessThan(variation(s.values) / 10);
    // The window is about an epoch (at most a tenth of the run): here 12 steps, 6 each side; where
    // it is whole the result is the window's mean.
    for (const i of [6, 50, 113]) {
      const win = s.values.slice(i - 6, i + 7);
      expect(s.smooth![i]).toBeCloseTo(win.reduce((a, b) => a + b, 0) / win.length, 10);
    }
    // A straight line comes through unchanged, ends included; a noisy one ends near its trend.
    const line = Array.from({ length: 40 }, (_, i) => 3 - 0.05 * i);
    smoothSeries(line, 6).forEach((v, i) => expect(v).toBeCloseTo(line[i]!, 10));
    const wobbly = smoothSeries(line.map((v, i) => v + (i % 2 ? 0.2 : -0.2)), 6);
    expect(Math.abs(wobbly[0]! - line[0]!)).toBeLessThan(0.1);
    expect(Math.abs(wobbly[39]! - line[39]!)).toBeLessThan(0.1);
    // ...but never beyond the values it has: a loss falling towards 0 does not end below it.
    const toZero = [0.5, 0.4, 0.3, 0.2, 0.1, 0.01, 0, 0];
    expect(Math.min(...smoothSeries(toZero, 3))).toBe(0);
  });
  it('marks the best validation epoch with a line and a label', () => {
    const best = attr(svg, /<line class="best" x1="([\d.]+)"/g).map(Number);
    expect(best.length).toBe(2); // through both panels
    const valid = polylines(svg).get('valid loss')!;
    for (const x of best) expect(x).toBeCloseTo(valid[2]![0], 1); // epoch 3
    expect(svg).toMatch(/>best: epoch 3</);
    expect(svg).toMatch(/>valid loss 0\.5000</);
    expect(svg).toMatch(/>accuracy 80\.00%</);
  });
  it('scales the y axes to the data, not from 0', () => {
    const sc = scaleOf(svg);
    const acc = sc.panels.find((p) => p.metric === 'accuracy')!;
    // Accuracy: smoothed train from about 0.2 to 0.9, validation 0.6 to 0.9: ticks inside [0, 1] around that.
    const drawn = curvesModel(records).series.filter((s) => s.metric === 'accuracy').flatMap((s) => s.smooth ?? s.values);
    expect(acc.y0).toBeLessThanOrEqual(Math.min(...drawn));
    expect(acc.y1).toBeGreaterThanOrEqual(Math.max(...drawn));
    expect(acc.y1).toBeLessThanOrEqual(1);
    const high = renderCurvesSvg(records.map((r) => ({ ...r, accuracy: 0.9 + r.accuracy! / 20 })));
    const hacc = scaleOf(high).panels.find((p) => p.metric === 'accuracy')!;
    expect(hacc.y0).toBeGreaterThan(0.8);
    expect(hacc.y1).toBeLessThanOrEqual(1);
    expect(high).toMatch(/>9\d(\.\d+)?%</); // percent tick labels
  });
  it('is as wide as asked, with every point inside', () => {
    for (const width of [400, 600, 1400]) {
      const s = renderCurvesSvg(records, { width });
      expect(s).toMatch(new RegExp(`^<svg [^>]*width="${width}"`));
      for (const pts of polylines(s).values()) for (const [x] of pts) expect(x).toBeGreaterThan(0), expect(x).toBeLessThan(width);
    }
  });
  it('leaves out the accuracy panel when no record has accuracy, and non-finite losses; steps on x without epochs', () => {
    const s = renderCurvesSvg([{ step: 1, split: 'train', loss: 1 }, { step: 2, split: 'train', loss: NaN }, { step: 3, split: 'train', loss: 0.5 }]);
    checkBalanced(s);
    expect([...polylines(s).keys()]).toEqual(['train loss per step', 'train loss']);
    expect(polylines(s).get('train loss')!.length).toBe(2);
    expect(s).not.toContain('accuracy');
    expect(s).toMatch(/>step</);
    expect(s).not.toContain('class="best"');
    expect(() => renderCurvesSvg([])).toThrow(RangeError);
  });
});

describe('renderCurvesHtml', () => {
  it('is one offline page: the data, and a script that embeds the same drawing function', () => {
    const html = renderCurvesHtml(records, { title: '</script><b>' });
    expect(html).not.toMatch(/<script [^>]*src=|<link |(src|href)="https?:|@import|fetch\(/); // nothing fetched
    expect(html).not.toContain('</script><b>'); // the title cannot end the data's script element
    const data = /<script type="application\/json" id="weft-data">(.*?)<\/script>/s.exec(html)![1]!;
    const model = JSON.parse(data) as CurvesModel;
    expect(model.title).toBe('</script><b>');
    expect(model.best).toMatchObject({ epoch: 3, loss: 0.5 });
    const script = html.slice(html.lastIndexOf('<script>') + 8, html.lastIndexOf('</script>'));
    // The page's drawCurves, run here, draws what this module draws.
    const pageDraw = new Function(`${script.slice(0, script.indexOf('const model = JSON.parse'))}; return drawCurves;`)() as typeof drawCurves;
    expect(pageDraw(model, 640)).toBe(drawCurves(model, 640));
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
  it('finds the steps of an epoch from the records, a partial last epoch or not', () => {
    expect(stepsPerEpoch(records)).toBe(30);
    expect(stepsPerEpoch(records.filter((r) => r.step <= 100))).toBe(30);
    expect(stepsPerEpoch(records.map(({ epoch: _e, ...r }) => r))).toBeUndefined();
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
