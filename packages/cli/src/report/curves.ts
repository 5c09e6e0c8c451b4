/**
 * Learning curves: what a run's curves.html shows. Loss (and accuracy, when the records have it)
 * against epochs: the training loss smoothed over about an epoch (smoothSeries) with the
 * per-step values faint behind it, the validation line on top, the best validation epoch marked.
 * The y axes are scaled to the data (not from 0), so the part that matters fills the panel.
 *
 * The page is one self-contained file that works offline: the data as JSON and a few lines of
 * inline script that redraw the SVG at the window's width (on load and on resize) and show the
 * values under the pointer. The drawing is one pure function, `drawCurves`, that runs both here
 * (the static SVG in the page, for tests and for viewers without scripts) and in the page, which
 * embeds its source: one renderer, no charting library.
 *
 * Input: metrics records, one JSON object per line of a metrics file:
 *   {"step": 120, "epoch": 2, "split": "train", "loss": 0.83, "accuracy": 0.71}
 * `step` counts the steps done (1 after the first); `epoch` is 1-based. Other fields are ignored.
 * `loss`/`accuracy` may be null (JSON.stringify writes NaN as null); such points are left out of
 * the plot, as is anything not finite. Without epochs the x axis is in steps.
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
  /** Steps done at each point, ascending. */
  steps: number[];
  /** Where each point is on the x axis: epochs (steps / steps per epoch), or steps. */
  x: number[];
  values: number[];
  /** Training series: the values smoothed by smoothSeries (before any averaging into buckets). */
  smooth?: number[];
}

/** What the page draws; JSON, embedded in the page for the script. */
export interface CurvesModel {
  title: string;
  xUnit: 'epoch' | 'step';
  /** Steps per epoch, when the records have epochs. */
  stepsPerEpoch?: number;
  series: Series[];
  /** The validation point with the lowest loss (the first such). */
  best?: { x: number; step: number; epoch?: number; loss: number; accuracy?: number };
}

/**
 * Steps per epoch: the most distinct steps that any epoch's training records span (a partial
 * last epoch or a resumed one spans fewer); undefined when no training record has an epoch.
 */
export function stepsPerEpoch(records: readonly MetricRecord[]): number | undefined {
  const span = new Map<number, { lo: number; hi: number }>();
  for (const r of records) {
    if (r.split !== 'train' || r.epoch === undefined || !Number.isFinite(r.epoch)) continue;
    const s = span.get(r.epoch);
    if (s) {
      s.lo = Math.min(s.lo, r.step);
      s.hi = Math.max(s.hi, r.step);
    } else span.set(r.epoch, { lo: r.step, hi: r.step });
  }
  let best = 0;
  for (const s of span.values()) best = Math.max(best, s.hi - s.lo + 1);
  return best > 0 ? best : undefined;
}

/**
 * Each value replaced by a straight line fitted (least squares) to it and its `half` neighbours on
 * either side, read at its own position. Inside the series the window is centred and this is the
 * plain moving mean; near the ends the window is cut off, and the fitted slope keeps the result
 * true to the trend: a plain mean there would pull a falling loss curve's first point down to the
 * later, lower values, and a window shrunk to one point would end the curve on one noisy batch.
 * There the result is kept within the window's values, so the slope cannot carry a loss below 0
 * or an accuracy above 1.
 */
export function smoothSeries(values: readonly number[], half: number): number[] {
  const n = values.length;
  const sv = [0]; // prefix sums of v and of j·v
  const sjv = [0];
  values.forEach((v, j) => {
    sv.push(sv[j]! + v);
    sjv.push(sjv[j]! + j * v);
  });
  return values.map((_, i) => {
    const lo = Math.max(0, i - half);
    const hi = Math.min(n - 1, i + half);
    const m = hi - lo + 1;
    const mean = (sv[hi + 1]! - sv[lo]!) / m;
    if (m < 2) return mean;
    const xm = (lo + hi) / 2;
    const sxx = (m * (m * m - 1)) / 12;
    const slope = (sjv[hi + 1]! - sjv[lo]! - xm * (sv[hi + 1]! - sv[lo]!)) / sxx;
    const fit = mean + slope * (i - xm);
    if (i === xm) return fit; // a centred window: the mean, within its values
    let min = Infinity;
    let max = -Infinity;
    for (let j = lo; j <= hi; j++) {
      min = Math.min(min, values[j]!);
      max = Math.max(max, values[j]!);
    }
    return Math.min(max, Math.max(min, fit));
  });
}

/**
 * The plotted series: one per (split, metric) that has at least one finite value, sorted by step.
 * Training series are smoothed over `2 * smoothHalf + 1` steps (smoothSeries). A series longer than
 * maxPoints is then averaged over equal runs of consecutive points (mean step, mean value), which
 * keeps the shape of a noisy curve and the file small.
 */
export function curveSeries(records: readonly MetricRecord[], maxPoints = 2000, smoothHalf = 0, perEpoch?: number): Series[] {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new TypeError(`maxPoints must be an integer of at least 2, got ${JSON.stringify(maxPoints)}`);
  const out: Series[] = [];
  for (const metric of ['loss', 'accuracy'] as const) {
    for (const split of ['train', 'valid'] as const) {
      const pts = records
        .filter((r) => r.split === split && r[metric] !== undefined && Number.isFinite(r[metric]) && Number.isFinite(r.step))
        .map((r) => [r.step, r[metric]!] as const)
        .sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) continue;
      const smooth = split === 'train' ? smoothSeries(pts.map((p) => p[1]), smoothHalf) : undefined;
      const s: Series = { split, metric, steps: [], x: [], values: [], ...(smooth ? { smooth: [] } : {}) };
      const buckets = Math.min(pts.length, maxPoints);
      for (let b = 0; b < buckets; b++) {
        const lo = Math.floor((b * pts.length) / buckets);
        const hi = Math.floor(((b + 1) * pts.length) / buckets);
        let st = 0;
        let va = 0;
        let sm = 0;
        for (let i = lo; i < hi; i++) {
          st += pts[i]![0];
          va += pts[i]![1];
          if (smooth) sm += smooth[i]!;
        }
        const step = st / (hi - lo);
        s.steps.push(step);
        s.x.push(perEpoch ? step / perEpoch : step);
        s.values.push(va / (hi - lo));
        s.smooth?.push(sm / (hi - lo));
      }
      out.push(s);
    }
  }
  return out;
}

export interface CurvesOptions {
  title?: string;
  /** Width of the static image in pixels (default 800); the page redraws at the window's width. */
  width?: number;
  /** Height of each panel's plot area in pixels (default 240). */
  panelHeight?: number;
  /** Most points per series (default 2000); see curveSeries. */
  maxPoints?: number;
}

/** The model of the picture: series in epochs, smoothed, and the best validation point. */
export function curvesModel(records: readonly MetricRecord[], options: CurvesOptions = {}): CurvesModel {
  const perEpoch = stepsPerEpoch(records);
  const trainCount = records.filter((r) => r.split === 'train').length;
  // A smoothing window of about an epoch (what the epoch summaries average over), but at most
  // a tenth of the run, so a run of few epochs still shows its shape.
  const half = Math.max(0, Math.floor(Math.min(perEpoch ?? Infinity, trainCount / 10) / 2));
  const series = curveSeries(records, options.maxPoints ?? 2000, half, perEpoch);
  const model: CurvesModel = { title: options.title ?? 'weft learning curves', xUnit: perEpoch ? 'epoch' : 'step', series };
  if (perEpoch) model.stepsPerEpoch = perEpoch;
  let best: MetricRecord | undefined;
  for (const r of records) if (r.split === 'valid' && Number.isFinite(r.loss) && (best === undefined || r.loss < best.loss)) best = r;
  if (best) {
    model.best = { x: perEpoch ? best.step / perEpoch : best.step, step: best.step, loss: best.loss };
    if (best.epoch !== undefined) model.best.epoch = best.epoch;
    if (best.accuracy !== undefined && Number.isFinite(best.accuracy)) model.best.accuracy = best.accuracy;
  }
  return model;
}

// ---------------------------------------------------------------------------------------------
// Everything from here to drawCurves is also run in the page (embedded by its source text), so
// it uses nothing but its arguments, the functions listed in PAGE_FUNCTIONS and JavaScript itself.

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

/** Text made safe for XML content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * The SVG document (a string starting with `<svg`) of `model`, `width` pixels wide. Throws
 * RangeError when nothing is plottable. The svg's data-scale attribute gives the page's script
 * the mapping from pixels to values (left, plotW, x0, x1, and per panel top, bottom, y0, y1).
 */
export function drawCurves(model: CurvesModel, width: number, panelHeight = 240): string {
  const W = Math.max(320, Math.round(width));
  const M = { left: 58, right: 20, top: 0, bottom: 44, gap: 22 };
  const COLORS = { train: '#1f77b4', valid: '#d62728', best: '#2ca02c' };
  const r2 = (v: number): string => String(Math.round(v * 100) / 100);
  const series = model.series;
  if (series.length === 0) throw new RangeError('drawCurves: no finite loss or accuracy values to plot');
  const metrics = (['loss', 'accuracy'] as const).filter((m) => series.some((s) => s.metric === m));
  const plotW = W - M.left - M.right;
  // Text widths are estimated (about 6.6 pixels a character at 12 px) to lay out the legend and labels.
  const textW = (t: string): number => t.length * 6.6;

  // The legend, in rows under the title, wrapped at the right edge.
  const legend: string[] = [];
  let lx = M.left;
  let ly = 44;
  const item = (text: string, stroke: string, extra: string): void => {
    const w = 28 + textW(text);
    if (lx > M.left && lx + w > W - M.right) {
      lx = M.left;
      ly += 18;
    }
    legend.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${stroke}" ${extra}/><text x="${lx + 28}" y="${ly + 4}">${text}</text>`);
    lx += w + 18;
  };
  if (series.some((s) => s.split === 'train')) {
    item('train (smoothed)', COLORS.train, 'stroke-width="2"');
    item('train (per step)', COLORS.train, 'stroke-opacity="0.3" stroke-width="1"');
  }
  if (series.some((s) => s.split === 'valid')) item('valid', COLORS.valid, 'stroke-width="2"');
  if (model.best) item('best valid loss', COLORS.best, 'stroke-width="1.5" stroke-dasharray="5 4"');
  M.top = ly + 18;

  const H = M.top + metrics.length * panelHeight + (metrics.length - 1) * M.gap + M.bottom;
  const epochs = model.xUnit === 'epoch';
  const allX = series.flatMap((s) => s.x);
  const xMax = Math.max(...allX);
  const xMin = epochs ? 0 : Math.min(...allX);
  // Whole epochs as ticks once there are a few; about one tick per 90 pixels.
  const xTarget = Math.max(2, Math.floor(plotW / 90));
  const xTicks = niceTicks(xMin, xMax, epochs && xMax >= 2 ? Math.min(xTarget, Math.ceil(xMax)) : xTarget);
  const x0 = xTicks[0]!;
  const x1 = xTicks[xTicks.length - 1]!;
  const sx = (v: number): number => M.left + ((v - x0) / (x1 - x0)) * plotW;
  const scale: { left: number; plotW: number; x0: number; x1: number; panels: { metric: string; top: number; bottom: number; y0: number; y1: number }[] } = {
    left: M.left, plotW, x0, x1, panels: [],
  };
  const body: string[] = [];
  const defs: string[] = [];

  metrics.forEach((metric, p) => {
    const top = M.top + p * (panelHeight + M.gap);
    const bottom = top + panelHeight;
    const mine = series.filter((s) => s.metric === metric);
    // The range of what is drawn boldly (smoothed training, validation): per-step spikes would
    // squash the curves, so they are clipped instead.
    const vals = mine.flatMap((s) => s.smooth ?? s.values);
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    const pad = (hi - lo) * 0.06 || Math.abs(hi) * 0.05 || 0.05;
    lo -= pad;
    hi += pad;
    if (metric === 'accuracy') {
      lo = Math.max(0, lo);
      hi = Math.min(1, hi);
    } else if (Math.min(...vals) >= 0) lo = Math.max(0, lo);
    const yTicks = niceTicks(lo, hi, Math.max(3, Math.floor(panelHeight / 45)));
    const y0 = yTicks[0]!;
    const y1 = yTicks[yTicks.length - 1]!;
    const sy = (v: number): number => bottom - ((v - y0) / (y1 - y0)) * panelHeight;
    scale.panels.push({ metric, top, bottom, y0, y1 });
    const label = (v: number): string => (metric === 'accuracy' ? `${Number((v * 100).toPrecision(6))}%` : formatTick(v));
    const clip = `clip-${metric}`;
    // A little beyond the axes, so a line along an edge (100% accuracy) is drawn whole.
    defs.push(`<clipPath id="${clip}"><rect x="${M.left}" y="${top - 3}" width="${plotW + 3}" height="${panelHeight + 6}"/></clipPath>`);

    body.push(`<g class="panel" data-metric="${metric}">`);
    for (const t of yTicks) {
      body.push(`<line x1="${M.left}" y1="${r2(sy(t))}" x2="${M.left + plotW}" y2="${r2(sy(t))}" stroke="#e8e8e8"/>`);
      body.push(`<text x="${M.left - 6}" y="${r2(sy(t) + 4)}" text-anchor="end" fill="#444">${label(t)}</text>`);
    }
    for (const t of xTicks) {
      body.push(`<line x1="${r2(sx(t))}" y1="${top}" x2="${r2(sx(t))}" y2="${bottom}" stroke="#f0f0f0"/>`);
      body.push(`<line x1="${r2(sx(t))}" y1="${bottom}" x2="${r2(sx(t))}" y2="${bottom + 5}" stroke="#333"/>`);
      if (p === metrics.length - 1) body.push(`<text x="${r2(sx(t))}" y="${bottom + 18}" text-anchor="middle" fill="#444">${formatTick(t)}</text>`);
    }
    body.push(`<line x1="${M.left}" y1="${top}" x2="${M.left}" y2="${bottom}" stroke="#333"/>`);
    body.push(`<line x1="${M.left}" y1="${bottom}" x2="${M.left + plotW}" y2="${bottom}" stroke="#333"/>`);
    body.push(`<text transform="translate(14 ${r2(top + panelHeight / 2)}) rotate(-90)" text-anchor="middle">${metric}</text>`);
    if (p === metrics.length - 1) body.push(`<text x="${r2(M.left + plotW / 2)}" y="${bottom + 36}" text-anchor="middle">${epochs ? 'epoch' : 'step'}</text>`);

    body.push(`<g clip-path="url(#${clip})">`);
    const line = (xs: number[], ys: number[]): string => xs.map((x, i) => `${r2(sx(x))},${r2(sy(ys[i]!))}`).join(' ');
    // Training first (per step faint, then smoothed), validation on top.
    for (const s of mine.filter((x) => x.split === 'train')) {
      body.push(`<polyline class="series raw" data-series="train ${metric} per step" fill="none" stroke="${COLORS.train}" stroke-opacity="0.22" stroke-width="1" points="${line(s.x, s.values)}"/>`);
      body.push(`<polyline class="series" data-series="train ${metric}" fill="none" stroke="${COLORS.train}" stroke-width="2" stroke-linejoin="round" points="${line(s.x, s.smooth ?? s.values)}"/>`);
    }
    for (const s of mine.filter((x) => x.split === 'valid')) {
      body.push(`<polyline class="series" data-series="valid ${metric}" fill="none" stroke="${COLORS.valid}" stroke-width="2" stroke-linejoin="round" points="${line(s.x, s.values)}"/>`);
      if (s.x.length <= 60) for (let i = 0; i < s.x.length; i++) body.push(`<circle cx="${r2(sx(s.x[i]!))}" cy="${r2(sy(s.values[i]!))}" r="3" fill="${COLORS.valid}"/>`);
    }
    body.push('</g>');
    if (model.best) {
      const bx = r2(sx(model.best.x));
      body.push(`<line class="best" x1="${bx}" y1="${top}" x2="${bx}" y2="${bottom}" stroke="${COLORS.best}" stroke-width="1.5" stroke-dasharray="5 4"/>`);
      if (p === 0) {
        const lines = [`best: ${model.best.epoch !== undefined && epochs ? `epoch ${model.best.epoch}` : `step ${model.best.step}`}`, `valid loss ${model.best.loss.toFixed(4)}`];
        if (model.best.accuracy !== undefined) lines.push(`accuracy ${(model.best.accuracy * 100).toFixed(2)}%`);
        // Right of the line where it fits, else left; a white halo keeps it readable over the curves.
        const right = M.left + plotW - sx(model.best.x) >= Math.max(...lines.map(textW)) + 10;
        const tx = r2(right ? sx(model.best.x) + 6 : sx(model.best.x) - 6);
        lines.forEach((t, i) => body.push(`<text class="best-label" x="${tx}" y="${top + 16 + 15 * i}" text-anchor="${right ? 'start' : 'end'}" fill="${COLORS.best}"${i === 0 ? ' font-weight="bold"' : ''} stroke="#fff" stroke-width="3" paint-order="stroke">${t}</text>`));
      }
    }
    body.push('</g>');
  });

  // What the page's script moves under the pointer.
  const hover = [`<g class="hover" visibility="hidden" pointer-events="none">`,
    `<line class="hover-x" x1="0" y1="${M.top}" x2="0" y2="${H - M.bottom}" stroke="#888" stroke-width="1"/>`];
  for (const s of series) hover.push(`<circle data-hover="${s.split} ${s.metric}" r="4" fill="#fff" stroke="${COLORS[s.split]}" stroke-width="2"/>`);
  hover.push('</g>');

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12" data-scale="${escapeXml(JSON.stringify(scale))}">`,
    `<defs>${defs.join('')}</defs>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${escapeXml(model.title)}</text>`,
    ...legend, ...body, ...hover,
    `<rect class="hover-area" x="${M.left}" y="${M.top}" width="${plotW}" height="${H - M.top - M.bottom}" fill="transparent"/>`,
    '</svg>',
  ].join('\n');
}

/** The SVG of `records` (a string starting with `<svg`). Throws RangeError when nothing is plottable. */
export function renderCurvesSvg(records: readonly MetricRecord[], options: CurvesOptions = {}): string {
  return drawCurves(curvesModel(records, options), options.width ?? 800, options.panelHeight);
}

/** The functions the page runs, by their source text (see the note above niceTicks). */
const PAGE_FUNCTIONS = [niceTicks, formatTick, escapeXml, drawCurves];

/**
 * The page's own script: draws at the width of its box (again on every resize), and on hover
 * moves a vertical line and a dot per curve to the nearest point and lists the values there.
 */
const PAGE_SCRIPT = String.raw`
const model = JSON.parse(document.getElementById('weft-data').textContent);
const box = document.getElementById('weft-curves');
const tip = document.getElementById('weft-tip');
const panelHeight = Number(box.dataset.panelHeight);
const pct = (v) => (100 * v).toFixed(1) + '%';
const at = (v) => (model.xUnit === 'epoch' ? 'epoch ' + (Math.abs(v - Math.round(v)) < 1e-6 ? String(Math.round(v)) : v.toFixed(2)) : 'step ' + Math.round(v));
function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  while (hi - lo > 1) { const mid = (lo + hi) >> 1; if (xs[mid] <= x) lo = mid; else hi = mid; }
  return Math.abs(xs[hi] - x) < Math.abs(xs[lo] - x) ? hi : lo;
}
function render() {
  tip.style.display = 'none';
  box.innerHTML = drawCurves(model, box.clientWidth, panelHeight);
  const svg = box.querySelector('svg');
  const sc = JSON.parse(svg.dataset.scale);
  const g = svg.querySelector('.hover');
  const sx = (v) => sc.left + ((v - sc.x0) / (sc.x1 - sc.x0)) * sc.plotW;
  const hide = () => { g.setAttribute('visibility', 'hidden'); tip.style.display = 'none'; };
  svg.addEventListener('mouseleave', hide);
  svg.addEventListener('mousemove', (ev) => {
    const r = svg.getBoundingClientRect();
    const px = ev.clientX - r.left;
    if (px < sc.left || px > sc.left + sc.plotW) return hide();
    const x = sc.x0 + ((px - sc.left) / sc.plotW) * (sc.x1 - sc.x0);
    const rows = [];
    let head = null;
    for (const s of model.series) {
      const i = nearest(s.x, x);
      const v = s.smooth ? s.smooth[i] : s.values[i];
      const p = sc.panels.find((q) => q.metric === s.metric);
      const dot = g.querySelector('[data-hover="' + s.split + ' ' + s.metric + '"]');
      dot.setAttribute('cx', sx(s.x[i]));
      dot.setAttribute('cy', Math.max(p.top, Math.min(p.bottom, p.bottom - ((v - p.y0) / (p.y1 - p.y0)) * (p.bottom - p.top))));
      const f = s.metric === 'accuracy' ? pct : (u) => u.toFixed(4);
      if (s.split === 'train') {
        head = head || at(s.x[i]) + ' · step ' + Math.round(s.steps[i]);
        rows.push('train ' + s.metric + ' <b>' + f(v) + '</b> <span>(smoothed; per step ' + f(s.values[i]) + ')</span>');
      } else {
        rows.push('valid ' + s.metric + ' <b>' + f(v) + '</b> <span>(' + at(s.x[i]) + ')</span>');
      }
    }
    g.querySelector('.hover-x').setAttribute('x1', px);
    g.querySelector('.hover-x').setAttribute('x2', px);
    g.setAttribute('visibility', 'visible');
    tip.innerHTML = '<div class="head">' + (head || at(x)) + '</div>' + rows.join('<br>');
    tip.style.display = 'block';
    const left = ev.clientX + 16 + tip.offsetWidth > window.innerWidth ? ev.clientX - 16 - tip.offsetWidth : ev.clientX + 16;
    tip.style.left = (left + window.scrollX) + 'px';
    tip.style.top = (ev.clientY + window.scrollY + 12) + 'px';
  });
}
let frame = 0;
window.addEventListener('resize', () => { cancelAnimationFrame(frame); frame = requestAnimationFrame(render); });
render();
`;

/**
 * The page: the SVG drawn at options.width for viewers without scripts, the data, and the
 * script that redraws it at the window's width with values on hover. Works offline.
 */
export function renderCurvesHtml(records: readonly MetricRecord[], options: CurvesOptions = {}): string {
  const model = curvesModel(records, options);
  const panelHeight = options.panelHeight ?? 240;
  const svg = drawCurves(model, options.width ?? 800, panelHeight);
  // In a <script> element only '</' could end it early; \u003c reads back as '<'.
  const data = JSON.stringify(model, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v)).replace(/</g, '\\u003c');
  const code = PAGE_FUNCTIONS.map((f) => f.toString()).join('\n') + PAGE_SCRIPT;
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeXml(model.title)}</title>
<style>
body { margin: 16px; background: #fafafa; font: 13px system-ui, sans-serif; }
#weft-curves { width: 100%; }
#weft-curves svg { display: block; }
#weft-tip { position: absolute; display: none; pointer-events: none; background: rgba(255,255,255,0.96); border: 1px solid #bbb; border-radius: 4px; padding: 6px 8px; line-height: 1.5; box-shadow: 0 2px 6px rgba(0,0,0,0.15); white-space: nowrap; }
#weft-tip .head { font-weight: bold; }
#weft-tip span { color: #777; }
</style></head>
<body>
<div id="weft-curves" data-panel-height="${panelHeight}">
${svg}
</div>
<div id="weft-tip"></div>
<script type="application/json" id="weft-data">${data}</script>
<script>
${code}
</script>
</body>
</html>
`;
}
