/**
 * Learning curves as a self-contained SVG (no dependencies, no scripts): loss against step for
 * the training and validation splits, and a second panel for accuracy when the records have it.
 *
 * Input: metrics records, one JSON object per line of a metrics file:
 *   {"step": 120, "epoch": 2, "split": "train", "loss": 0.83, "accuracy": 0.71}
 * Other fields are ignored. `loss`/`accuracy` may be null (JSON.stringify writes NaN as null);
 * such points are left out of the plot, as is anything not finite.
 */

import { FieldReader, parseJsonLines } from '@weft/core';
import { readTextFile } from '@weft/core';

export type MetricSplit = 'train' | 'valid';

export interface MetricRecord {
  step: number;
  epoch?: number;
  split: MetricSplit;
  loss: number;
  accuracy?: number;
}

/** Parses metrics JSONL text; errors name the file, line and field. */
export function parseMetrics(text: string, file: string): MetricRecord[] {
  const f: FieldReader = new FieldReader(file);
  return parseJsonLines(file, text).map((r) => {
    const v = r.value;
    if (typeof v.step !== 'number' || !Number.isFinite(v.step)) f.fail(r.line, 'step', 'a number', v.step);
    if (v.split !== 'train' && v.split !== 'valid') f.fail(r.line, 'split', '"train" or "valid"', v.split);
    const num = (field: 'loss' | 'accuracy' | 'epoch'): number | undefined => {
      const x = v[field];
      if (x === undefined) return undefined;
      if (x === null) return NaN;
      if (typeof x !== 'number') f.fail(r.line, field, 'a number (or null)', x);
      return x;
    };
    const loss = num('loss');
    if (loss === undefined) f.fail(r.line, 'loss', 'a number (or null)', undefined);
    const rec: MetricRecord = { step: v.step, split: v.split, loss };
    const epoch = num('epoch');
    if (epoch !== undefined) rec.epoch = epoch;
    const accuracy = num('accuracy');
    if (accuracy !== undefined) rec.accuracy = accuracy;
    return rec;
  });
}

/** Reads and parses a metrics file. */
export function readMetrics(file: string): MetricRecord[] {
  return parseMetrics(readTextFile(file), file);
}

export type Metric = 'loss' | 'accuracy';

export interface Series {
  split: MetricSplit;
  metric: Metric;
  /** (step, value) pairs sorted by step. */
  steps: number[];
  values: number[];
}

/**
 * The plotted series: one per (split, metric) that has at least one finite value, sorted by step.
 * A series longer than maxPoints is averaged over equal runs of consecutive points (mean step,
 * mean value), which keeps the shape of a noisy training curve and the file small.
 */
export function curveSeries(records: readonly MetricRecord[], maxPoints = 2000): Series[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new TypeError(`maxPoints must be an integer of at least 2, got ${JSON.stringify(maxPoints)}`);
  const out: Series[] = [];
  for (const metric of ['loss', 'accuracy'] as const) {
    for (const split of ['train', 'valid'] as const) {
      const pts = records
        .filter((r) => r.split === split && r[metric] !== undefined && Number.isFinite(r[metric]) && Number.isFinite(r.step))
        .map((r) => [r.step, r[metric]!] as const)
        .sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) continue;
      const s: Series = { split, metric, steps: [], values: [] };
      const buckets = Math.min(pts.length, maxPoints);
      for (let b = 0; b < buckets; b++) {
        const lo = Math.floor((b * pts.length) / buckets);
        const hi = Math.floor(((b + 1) * pts.length) / buckets);
        let st = 0;
        let va = 0;
        for (let i = lo; i < hi; i++) {
          st += pts[i]![0];
          va += pts[i]![1];
        }
        s.steps.push(st / (hi - lo));
        s.values.push(va / (hi - lo));
      }
      out.push(s);
    }
  }
  return out;
}

/** About `target` round tick values (1, 2, 2.5 or 5 × 10^k apart) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new RangeError(`niceTicks: bounds must be finite, got ${lo}, ${hi}`);
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, target);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v < hi + step * (1 - 1e-9); v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Tick labels: `0.25`, `1500`, `12k`, `1.5M`. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(6)));
}

export interface CurvesOptions {
  title?: string;
  /** Width of the image in pixels (default 800). */
  width?: number;
  /** Height of each panel in pixels (default 280). */
  panelHeight?: number;
  /** Most points per series (default 2000); see curveSeries. */
  maxPoints?: number;
}

const COLORS: Record<MetricSplit, string> = { train: '#1f77b4', valid: '#d62728' };
const MARGIN = { left: 64, right: 150, top: 36, bottom: 44, gap: 28 };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (x: number): string => String(Math.round(x * 100) / 100);

/** The SVG document (a string starting with `<svg`). Throws RangeError when nothing is plottable. */
export function renderCurvesSvg(records: readonly MetricRecord[], options: CurvesOptions = {}): string {
  const width = options.width ?? 800;
  const panelH = options.panelHeight ?? 280;
  const series = curveSeries(records, options.maxPoints ?? 2000);
  if (series.length === 0) throw new RangeError('renderCurvesSvg: no finite loss or accuracy values to plot');
  const metrics = (['loss', 'accuracy'] as const).filter((m) => series.some((s) => s.metric === m));
  const allSteps = series.flatMap((s) => s.steps);
  const xTicks = niceTicks(Math.min(...allSteps), Math.max(...allSteps), 8);
  const x0 = xTicks[0]!;
  const x1 = xTicks[xTicks.length - 1]!;
  const plotW = width - MARGIN.left - MARGIN.right;
  const height = MARGIN.top + metrics.length * panelH + (metrics.length - 1) * MARGIN.gap + MARGIN.bottom;
  const sx = (v: number): number => MARGIN.left + ((v - x0) / (x1 - x0)) * plotW;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (options.title) parts.push(`<text x="${fmt(MARGIN.left + plotW / 2)}" y="22" text-anchor="middle" font-size="15">${esc(options.title)}</text>`);

  metrics.forEach((metric, p) => {
    const top = MARGIN.top + p * (panelH + MARGIN.gap);
    const plotH = panelH - 12;
    const bottom = top + plotH;
    const mine = series.filter((s) => s.metric === metric);
    const vals = mine.flatMap((s) => s.values);
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (metric === 'accuracy' && lo >= 0 && hi <= 1) [lo, hi] = [0, 1];
    else if (metric === 'loss' && lo >= 0) lo = 0;
    const yTicks = niceTicks(lo, hi, 5);
    const y0 = yTicks[0]!;
    const y1 = yTicks[yTicks.length - 1]!;
    const sy = (v: number): number => bottom - ((v - y0) / (y1 - y0)) * plotH;

    parts.push(`<g class="panel" data-metric="${metric}">`);
    // Grid and y ticks.
    for (const t of yTicks) {
      parts.push(`<line x1="${MARGIN.left}" y1="${fmt(sy(t))}" x2="${MARGIN.left + plotW}" y2="${fmt(sy(t))}" stroke="#e5e5e5"/>`);
      parts.push(`<text x="${MARGIN.left - 6}" y="${fmt(sy(t) + 4)}" text-anchor="end">${formatTick(t)}</text>`);
    }
    for (const t of xTicks) {
      parts.push(`<line x1="${fmt(sx(t))}" y1="${bottom}" x2="${fmt(sx(t))}" y2="${bottom + 5}" stroke="#333333"/>`);
      parts.push(`<text x="${fmt(sx(t))}" y="${bottom + 18}" text-anchor="middle">${formatTick(t)}</text>`);
    }
    // Axes.
    parts.push(`<line x1="${MARGIN.left}" y1="${top}" x2="${MARGIN.left}" y2="${bottom}" stroke="#333333"/>`);
    parts.push(`<line x1="${MARGIN.left}" y1="${bottom}" x2="${MARGIN.left + plotW}" y2="${bottom}" stroke="#333333"/>`);
    parts.push(`<text transform="translate(16 ${fmt(top + plotH / 2)}) rotate(-90)" text-anchor="middle">${metric}</text>`);
    if (p === metrics.length - 1) parts.push(`<text x="${fmt(MARGIN.left + plotW / 2)}" y="${bottom + 36}" text-anchor="middle">step</text>`);

    mine.forEach((s, k) => {
      const pts = s.steps.map((st, i) => `${fmt(sx(st))},${fmt(sy(s.values[i]!))}`).join(' ');
      const color = COLORS[s.split];
      parts.push(`<polyline class="series" data-series="${s.split} ${metric}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round" points="${pts}"/>`);
      // Validation curves have few points (one per epoch): mark them so a single one shows.
      if (s.steps.length <= 60) {
        for (let i = 0; i < s.steps.length; i++) parts.push(`<circle cx="${fmt(sx(s.steps[i]!))}" cy="${fmt(sy(s.values[i]!))}" r="2.5" fill="${color}"/>`);
      }
      const ly = top + 14 + k * 18;
      const lx = MARGIN.left + plotW + 14;
      parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
      parts.push(`<text x="${lx + 28}" y="${ly}">${s.split} ${metric}</text>`);
    });
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** An HTML page holding the SVG inline, for opening in a browser. */
export function renderCurvesHtml(records: readonly MetricRecord[], options: CurvesOptions = {}): string {
  const title = esc(options.title ?? 'weft learning curves');
  return `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${title}</title></head>\n<body style="margin:16px;background:#fafafa">\n${renderCurvesSvg(records, options)}\n</body>\n</html>\n`;
}

