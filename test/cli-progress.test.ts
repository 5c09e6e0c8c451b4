/**
 * What a person sees while `weft train` runs: the real binary on a pseudo-terminal, its raw bytes
 * replayed on a screen model. The bar shows the epoch's running mean loss and accuracy, says
 * when it is validating, fits the terminal, and leaves nothing stale: at the end the screen holds
 * the start lines, one summary line per epoch and the result. In a pipe: plain lines, one per
 * epoch; with --quiet: the result only.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, tempDir, weft } from './helpers/cli.js';
import { ptyAvailable, replayTerminal, weftInPty } from './helpers/pty.js';

const dir = tempDir('weft-progress-');
const EPOCHS = 3;
// 180 training examples in batches of 16: 12 steps per epoch, the last one of 4.
const small = (epochs = EPOCHS) => ['train', '--task', 'classify', '--data', path.join(EXAMPLES, 'classify.jsonl'), '--hidden', '8', '--layers', '1', '--batch', '16', '--epochs', String(epochs), '--workers', '2'];

/** Every bar drawn: the text between a '\r' and the erase-to-end-of-line that follows it. */
function draws(raw: string): string[] {
  return [...raw.matchAll(/\r([^\r\n]*?)\x1b\[K/g)].map((m) => m[1]!).filter((s) => s.startsWith('epoch'));
}

interface Bar { epoch: number; step: number; loss: number; acc?: number; text: string }
function parseBar(text: string): Bar {
  const m = /^epoch +(\d+)\/\d+ (?:\[[= >]+\] +)?(\d+)\/\d+ · loss ([\d.]+)(?: · acc ([\d.]+)%)?/.exec(text);
  if (!m) throw new Error(`not a progress line: ${JSON.stringify(text)}`);
  return { epoch: Number(m[1]), step: Number(m[2]), loss: Number(m[3]), ...(m[4] ? { acc: Number(m[4]) } : {}), text };
}

describe('replayTerminal (the screen model of these tests)', () => {
  it('redraws in place, erases, moves up, and wraps at the margin', () => {
    expect(replayTerminal('abc\rx\x1b[K\r\nnext\r\n', 80)).toEqual(['x', 'next']);
    expect(replayTerminal('one\r\ntwo\x1b[1A\r\x1b[2Kuno\n', 80)).toEqual(['uno', 'two']);
    expect(replayTerminal('ab\ncd', 80)).toEqual(['ab', '  cd']); // a line feed alone keeps the column
    expect(replayTerminal('abcdef\r\ng', 4)).toEqual(['abcd', 'ef', 'g']);
    expect(replayTerminal('abcdef\r\ng', 4, { joinWrapped: true })).toEqual(['abcdef', 'g']);
    // A line too wide for the terminal, redrawn with \r: its first row stays (what a bar must avoid).
    expect(replayTerminal('abcdef\rxy\x1b[K', 4, { joinWrapped: true })).toEqual(['abcdxy']);
    expect(() => replayTerminal('\x1b]0;title\x07', 80)).toThrow(/escape/);
  });
});

describe.skipIf(!ptyAvailable)('weft train on a terminal (util-linux script pty)', () => {
  const cols = 78;
  const out = path.join(dir, 'tty');
  const r = ptyAvailable ? weftInPty([...small(), '--out', out], { cols }) : { code: -1, raw: '' };
  // Long summary lines wrap, as they would for anyone: read them as one line each.
  const screen = replayTerminal(r.raw, cols, { joinWrapped: true });

  it('ends with the start lines, one summary line per epoch and the result; no bar is left', () => {
    expect(r.code, r.raw).toBe(0);
    const summaries = screen.filter((l) => /^epoch \d+: /.test(l));
    expect(summaries.map((l) => /^epoch (\d+):/.exec(l)![1])).toEqual(['1', '2', '3']);
    // Nothing that looks like a bar, finished or not, anywhere on the final screen.
    for (const l of screen) expect(l, JSON.stringify(screen, null, 1)).not.toMatch(/ · loss |\[[= >]{5,}\]/);
    expect(screen.filter((l) => l === '').length).toBe(0); // no blank row where a bar was cleared
    // Each summary follows the previous one directly (the bar never sits between them), and the
    // result comes right after the last.
    const first = screen.indexOf(summaries[0]!);
    expect(screen.slice(first, first + EPOCHS)).toEqual(summaries);
    expect(screen[first + EPOCHS]).toMatch(/^weft train: /);
  });

  it('draws bars that fit the terminal, with labelled ETAs and a validating state per epoch', () => {
    const d = draws(r.raw);
    expect(d.length).toBeGreaterThanOrEqual(2 * EPOCHS);
    for (const text of d) expect(text.length, text).toBeLessThan(cols);
    for (let e = 1; e <= EPOCHS; e++) {
      expect(d.some((t) => t.startsWith(`epoch ${e}/${EPOCHS}`) && / 12\/12 .*validating…$/.test(t)), `epoch ${e} validating`).toBe(true);
    }
    expect(d.some((t) => /epoch ETA \d+s/.test(t))).toBe(true);
  });

  it('shows the running mean loss and accuracy of the epoch, which end at the epoch summary', () => {
    const recs = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { split: string; epoch: number; loss: number; accuracy: number });
    const bars = draws(r.raw).filter((t) => !t.endsWith('validating…')).map(parseBar);
    let differs = false;
    for (let e = 1; e <= EPOCHS; e++) {
      const batch = recs.filter((x) => x.split === 'train' && x.epoch === e);
      expect(batch.length).toBe(12);
      const mine = bars.filter((b) => b.epoch === e);
      expect(mine.map((b) => b.step)).toContain(1);
      differs ||= mine.some((b) => b.loss.toFixed(4) !== batch[b.step - 1]!.loss.toFixed(4));
      for (const b of mine.filter((x) => x.step < 12)) {
        // Steps before the last have full batches of 16: the running mean is the plain mean.
        const upTo = batch.slice(0, b.step);
        const mean = (f: (x: (typeof upTo)[0]) => number) => upTo.reduce((s, x) => s + f(x), 0) / upTo.length;
        expect(Math.abs(b.loss - mean((x) => x.loss)), b.text).toBeLessThanOrEqual(0.00005 + 1e-9);
        expect(Math.abs(b.acc! - 100 * mean((x) => x.accuracy)), b.text).toBeLessThanOrEqual(0.05 + 1e-9);
      }
      // The last bar of the epoch carries the epoch's mean, as its summary line says.
      const last = mine.find((b) => b.step === 12)!;
      const summary = /^epoch \d+: train loss ([\d.]+), train accuracy ([\d.]+)%/.exec(screen.find((l) => l.startsWith(`epoch ${e}: `))!)!;
      expect(last.loss.toFixed(4)).toBe(summary[1]);
      expect(Math.abs(last.acc! - Number(summary[2]))).toBeLessThanOrEqual(0.05 + 1e-9);
    }
    // Not the loss of the step's own batch: that differs from the running mean somewhere.
    expect(differs).toBe(true);
  });

  it('--quiet prints the result only', () => {
    const q = weftInPty([...small(1), '--out', path.join(dir, 'quiet'), '--quiet'], { cols });
    expect(q.code, q.raw).toBe(0);
    expect(q.raw).not.toMatch(/\x1b|\rep/);
    const lines = replayTerminal(q.raw, cols);
    expect(lines[0]).toMatch(/^weft train: /);
    expect(lines.join('\n')).not.toMatch(/^epoch|validation: |model: /m);
  });
});

describe('weft train in a pipe', () => {
  it('prints plain lines, one per epoch, with no control characters', () => {
    const r = weft([...small(), '--out', path.join(dir, 'pipe')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\r\x1b]/);
    const lines = r.stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('epoch')).map((l) => /^epoch (\d+): train loss [\d.]+, train accuracy [\d.]+%, valid loss/.exec(l)?.[1])).toEqual(['1', '2', '3']);
  });
  it('--quiet prints the result only, and --quiet --json only the result object', () => {
    const q = weft([...small(1), '--out', path.join(dir, 'pq'), '--quiet']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toMatch(/^weft train: /);
    expect(q.stdout).not.toMatch(/^epoch|validation: |model: /m);
    const j = weft([...small(1), '--out', path.join(dir, 'pqj'), '--quiet', '--json']);
    expect(j.code, j.stderr).toBe(0);
    expect(j.stdout.trim().split('\n')).toHaveLength(1);
    expect(j.json).toMatchObject({ command: 'train', step: 12 });
  });
});
