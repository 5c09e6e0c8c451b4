import { describe, expect, it } from 'vitest';
import {
  etaSeconds, formatBar, formatDuration, formatPlainLine, formatProgressLine, formatRate, ProgressReporter, type ProgressInfo,
} from './progress.js';

const info: ProgressInfo = { epoch: 2, epochs: 10, step: 340, stepsPerEpoch: 1000, loss: 1.23456, tokensPerSec: 12345, etaSec: 65 };

describe('formatting', () => {
  it('durations, rates and bars', () => {
    expect([45, 185, 3600 * 2 + 7 * 60 + 20].map(formatDuration)).toEqual(['45s', '3m05s', '2h07m']);
    expect([undefined, NaN, -1].map(formatDuration)).toEqual(['?', '?', '?']);
    expect([950, 12345, 4_560_000, 3.14159].map(formatRate)).toEqual(['950', '12.3k', '4.56M', '3.14']);
    expect(formatBar(0.5, 10)).toBe('[#####-----]');
    expect(formatBar(2, 4)).toBe('[####]');
    expect(formatBar(NaN, 3)).toBe('[---]');
  });
  it('the TTY line has every field and fits the terminal', () => {
    const line = formatProgressLine(info, 100);
    expect(line).toMatch(/^epoch  2\/10  \[#+-+\]   340\/1000  loss 1\.2346  12\.3k tok\/s  ETA 1m05s$/);
    const bar = /\[(#*)(-*)\]/.exec(line)!;
    const width = bar[1]!.length + bar[2]!.length;
    expect(bar[1]!.length).toBe(Math.round(0.34 * width));
    for (let cols = 10; cols <= 200; cols += 7) expect(formatProgressLine(info, cols).length).toBeLessThanOrEqual(cols - 1);
    expect(formatProgressLine(info, 50)).not.toContain('['); // too narrow for a bar: dropped
  });
  it('the plain line has no control characters and leaves out what is unknown', () => {
    expect(formatPlainLine(info)).toBe('epoch 2/10 step 340/1000 loss 1.2346 12.3k tok/s ETA 1m05s');
    expect(formatPlainLine({ ...info, tokensPerSec: undefined, etaSec: undefined, loss: NaN })).toBe('epoch 2/10 step 340/1000 loss NaN');
  });
  it('ETA is the average pace times the steps left', () => {
    expect(etaSeconds(10, 100, 5)).toBe(45);
    expect(etaSeconds(0, 100, 5)).toBeUndefined();
  });
});

/** A fake terminal and clock: every step advances the clock by `dtMs`. */
function harness(tty: boolean, dtMs: number, extra: { everySteps?: number } = {}) {
  let now = 0;
  const writes: string[] = [];
  const rep = new ProgressReporter({
    out: { write: (s: string) => writes.push(s), isTTY: tty, columns: 120 }, epochs: 2, stepsPerEpoch: 50, now: () => now, ...extra,
  });
  const run = (): void => {
    for (let e = 1; e <= 2; e++) {
      for (let s = 1; s <= 50; s++) {
        rep.step({ epoch: e, step: s, loss: 1 / (e * s), tokens: 64 });
        now += dtMs;
      }
    }
    rep.end();
  };
  return { rep, writes, run };
}

describe('ProgressReporter', () => {
  it('on a TTY redraws in place at most every 100 ms, and always at the end of an epoch', () => {
    const { writes, run } = harness(true, 30);
    run();
    const draws = writes.filter((w) => w.startsWith('\r'));
    // Clock at step k (0-based) is 30k ms; a draw happens when 100 ms passed since the last one.
    let last = -Infinity;
    let expected = 0;
    for (let k = 0; k < 100; k++) {
      if (30 * k - last >= 100 || k % 50 === 49) {
        expected++;
        last = 30 * k;
      }
    }
    expect(draws.length).toBe(expected);
    expect(draws.every((d) => !d.includes('\n'))).toBe(true);
    expect(writes[writes.length - 1]).toBe('\n');
    expect(draws[draws.length - 1]).toContain('50/50');
  });
  it('reports tokens per second and ETA from the clock', () => {
    const { writes, run } = harness(false, 1000, { everySteps: 10 });
    run();
    // Line at step 10 of epoch 1: 9 steps of 64 tokens in 9 s since the first step, 90 steps left.
    expect(writes[0]).toBe('epoch 1/2 step 10/50 loss 0.1000 64.0 tok/s ETA 1m30s\n');
  });
  it('without a TTY prints one plain line every N steps and at each epoch end', () => {
    const { writes, run } = harness(false, 1, { everySteps: 20 });
    run();
    expect(writes.map((w) => /step (\d+)\/50/.exec(w)![1])).toEqual(['20', '40', '50', '20', '40', '50']);
    expect(writes.join('')).not.toMatch(/[\r\x1b]/);
  });
  it('log() puts a line above the bar and redraws it', () => {
    const { rep, writes } = harness(true, 200);
    rep.step({ epoch: 1, step: 1, loss: 2 });
    rep.log('epoch 1: valid loss 1.5');
    expect(writes[1]).toMatch(/^\r\x1b\[Kepoch 1: valid loss 1\.5\nepoch 1\/2/);
    const plain = harness(false, 1);
    plain.rep.log('hello');
    expect(plain.writes).toEqual(['hello\n']);
  });
  it('checks its options', () => {
    expect(() => new ProgressReporter({ out: { write: () => 0 }, epochs: 0, stepsPerEpoch: 1 })).toThrow(/options\.epochs must be a positive integer/);
  });
});
