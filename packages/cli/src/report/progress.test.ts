import { describe, expect, it } from 'vitest';
import {
  formatBar, formatDuration, formatPercent, formatPlainLine, formatProgressLine, formatRate, formatStepTime, ProgressReporter, type ProgressInfo,
} from './progress.js';

const info: ProgressInfo = {
  epoch: 3, epochs: 14, step: 120, stepsPerEpoch: 249, loss: 0.41234, accuracy: 0.8123, msPerStep: 12.3, tokensPerSec: 45100, epochEtaSec: 4.2, runEtaSec: 62,
};

describe('formatting', () => {
  it('durations, rates, step times, percentages and bars', () => {
    expect([45, 185, 3600 * 2 + 7 * 60 + 20].map(formatDuration)).toEqual(['45s', '3m05s', '2h07m']);
    expect([undefined, NaN, -1].map(formatDuration)).toEqual(['?', '?', '?']);
    expect([950, 12345, 4_560_000, 3.14159].map(formatRate)).toEqual(['950', '12.3k', '4.56M', '3.14']);
    expect([3.41, 12.3, 999, 1250].map(formatStepTime)).toEqual(['3.4 ms/step', '12 ms/step', '999 ms/step', '1.25 s/step']);
    expect(formatPercent(0.8123)).toBe('81.2%');
    expect(formatBar(0.5, 10)).toBe('[====>     ]');
    expect(formatBar(2, 4)).toBe('[====]');
    expect(formatBar(0, 3)).toBe('[   ]');
    expect(formatBar(NaN, 3)).toBe('[   ]');
  });
  it('the TTY line has every field, labelled, when the terminal is wide enough', () => {
    const line = formatProgressLine(info, 140);
    expect(line).toMatch(/^epoch  3\/14 \[=+> *\] 120\/249 · loss 0\.4123 · acc 81\.2% · 12 ms\/step · 45\.1k tok\/s · epoch ETA 4s · run ETA 1m02s$/);
    const bar = /\[(=*>?)( *)\]/.exec(line)!;
    const width = bar[1]!.length + bar[2]!.length;
    expect(width).toBe(30);
    expect(bar[1]!.length).toBe(Math.round((120 / 249) * width));
  });
  it('fits any terminal: the bar shrinks, then the least useful fields go, then the bar', () => {
    const seen = new Set<string>();
    for (let cols = 10; cols <= 200; cols++) {
      const line = formatProgressLine(info, cols);
      expect(line.length, `${cols} columns`).toBeLessThanOrEqual(cols - 1);
      seen.add(line.replace(/\[[^\]]*\]/, '[]'));
    }
    const at = (cols: number) => formatProgressLine(info, cols);
    // 80 columns: the bar stays, with the loss, accuracy and this epoch's ETA.
    expect(at(80)).toMatch(/^epoch  3\/14 \[[=> ]{10,}\] 120\/249 · loss 0\.4123 · acc 81\.2% · epoch ETA 4s$/);
    expect(at(61)).toBe('epoch  3/14 120/249 · loss 0.4123 · acc 81.2% · epoch ETA 4s');
    expect(at(60)).toBe('epoch  3/14 120/249 · loss 0.4123 · acc 81.2%');
    expect(at(30)).toMatch(/^epoch  3\/14 120\/249 · loss/); // too narrow for anything else: cut
    // Dropping goes in one order: tok/s before ms/step before the run ETA.
    expect(at(100)).not.toContain('tok/s');
    expect(at(100)).toContain('run ETA');
    expect(seen.size).toBeGreaterThan(5);
  });
  it('says what it is doing instead of the ETAs while validating', () => {
    expect(formatProgressLine({ ...info, step: 249, status: 'validating…' }, 120)).toMatch(/^epoch  3\/14 \[=+\] 249\/249 · loss 0\.4123 · acc 81\.2% · validating…$/);
  });
  it('the plain line has no control characters and leaves out what is unknown', () => {
    expect(formatPlainLine(info)).toBe('epoch 3/14 step 120/249 · loss 0.4123 · acc 81.2% · 12 ms/step · 45.1k tok/s · epoch ETA 4s · run ETA 1m02s');
    expect(formatPlainLine({ epoch: 1, epochs: 1, step: 2, stepsPerEpoch: 5, loss: NaN, runEtaSec: 3 })).toBe('epoch 1/1 step 2/5 · loss NaN');
  });
});

/**
 * A fake terminal and clock. `run` steps through epochs, each step advancing the clock by
 * `stepMs`, and validates after each epoch (advancing it by `validMs`).
 */
function harness(tty: boolean, o: { epochs?: number; steps?: number; stepMs?: number; validMs?: number; totalSteps?: number; plainIntervalMs?: number } = {}) {
  let now = 0;
  const writes: string[] = [];
  const epochs = o.epochs ?? 2;
  const spe = o.steps ?? 50;
  const rep = new ProgressReporter({
    out: { write: (s: string) => writes.push(s), isTTY: tty, columns: 160 }, epochs, stepsPerEpoch: spe, now: () => now,
    ...(o.totalSteps ? { totalSteps: o.totalSteps } : {}), ...(o.plainIntervalMs ? { plainIntervalMs: o.plainIntervalMs } : {}),
  });
  const run = (): void => {
    for (let e = 1; e <= epochs; e++) {
      for (let s = 1; s <= spe; s++) {
        now += o.stepMs ?? 30;
        rep.step({ epoch: e, step: s, loss: 1 / (e * s), accuracy: s / spe, tokens: 64 });
      }
      rep.validating();
      now += o.validMs ?? 0;
      rep.epochEnd(`epoch ${e}: done`);
    }
    rep.end();
  };
  return { rep, writes, run, clock: { advance: (ms: number) => { now += ms; } } };
}

describe('ProgressReporter', () => {
  it('on a TTY redraws in place at most every 100 ms, always at the end and start of an epoch', () => {
    const { writes, run } = harness(true, { stepMs: 30 });
    run();
    const draws = writes.filter((w) => w.startsWith('\r') && !w.startsWith('\r\x1b[2K'));
    // Clock at step k (1-based over the run) is 30k ms; drawn when 100 ms passed since the last
    // step drawn, at an epoch's last step, and at an epoch's first (no bar on screen).
    let last = -Infinity;
    let expected = 0;
    for (let k = 1; k <= 100; k++) {
      if (30 * k - last >= 100 || k % 50 === 0 || k % 50 === 1) {
        expected++;
        last = 30 * k;
      }
    }
    expect(draws.filter((d) => !d.includes('validating')).length).toBe(expected);
    expect(draws.filter((d) => d.includes('validating…')).length).toBe(2);
    expect(draws.every((d) => !d.includes('\n') && d.endsWith('\x1b[K'))).toBe(true);
  });
  it('replaces the finished bar with the epoch summary and clears what is left at the end', () => {
    const { rep, writes, run } = harness(true, { stepMs: 30 });
    run();
    const text = writes.join('');
    // Each summary: clear the line, the summary, a new line; the next write starts a new bar.
    expect(text.match(/\r\x1b\[2Kepoch \d: done\n/g)).toHaveLength(2);
    expect(text).toMatch(/validating…\x1b\[K\r\x1b\[2Kepoch 2: done\n$/);
    // end() with a bar on screen (an interrupted run) clears it.
    writes.length = 0;
    rep.step({ epoch: 1, step: 3, loss: 1 });
    rep.end();
    expect(writes[writes.length - 1]).toBe('\r\x1b[2K');
  });
  it('measures pace between steps of an epoch, and adds validation time to the run ETA', () => {
    const { rep, writes, clock } = harness(true, { epochs: 3, steps: 10 });
    const bar = () => writes.filter((w) => w.startsWith('\repoch')).pop()!.replace('\x1b[K', '');
    rep.step({ epoch: 1, step: 1, loss: 1 });
    expect(bar()).not.toContain('ETA'); // one step: no pace yet
    for (let s = 2; s <= 10; s++) {
      clock.advance(200);
      rep.step({ epoch: 1, step: s, loss: 1, tokens: 100 });
    }
    // 200 ms a step, 20 steps left and no validation measured yet.
    expect(bar()).toMatch(/ · 200 ms\/step · 500 tok\/s · epoch ETA 0s · run ETA 4s$/);
    rep.validating();
    clock.advance(3000); // validation and checkpoints: 3 s, then the next epoch's first step
    rep.epochEnd('epoch 1: done');
    clock.advance(200);
    rep.step({ epoch: 2, step: 1, loss: 1 });
    // Still 200 ms a step (the 3.2 s gap is not step time); 19 steps and two epoch ends to come.
    expect(bar()).toMatch(/ · 200 ms\/step · 500 tok\/s · epoch ETA 2s · run ETA 10s$/); // 1.8 s; 3.8 + 2 × 3 = 9.8 s
  });
  it('without a TTY prints the summaries and, within a long epoch, a plain line every minute', () => {
    const short = harness(false, { stepMs: 100 });
    short.run();
    expect(short.writes).toEqual(['epoch 1: done\n', 'epoch 2: done\n']);
    const long = harness(false, { stepMs: 1000, steps: 130, epochs: 1 });
    long.run();
    expect(long.writes.map((w) => /^epoch 1\/1 step (\d+)\/130 · /.exec(w)?.[1] ?? w)).toEqual(['61', '121', 'epoch 1: done\n']);
    expect(long.writes.join('')).not.toMatch(/[\r\x1b]/);
  });
  it('ends the run ETA where --steps ends the run', () => {
    const { rep, writes, clock } = harness(false, { epochs: 3, steps: 10, totalSteps: 15, plainIntervalMs: 1 });
    rep.step({ epoch: 1, step: 1, loss: 1 });
    clock.advance(1000);
    rep.step({ epoch: 1, step: 2, loss: 1 });
    expect(writes[0]).toBe('epoch 1/3 step 2/10 · loss 1.0000 · 1.00 s/step · epoch ETA 8s · run ETA 13s\n');
  });
  it('log() puts a line above the bar and redraws it', () => {
    const { rep, writes } = harness(true, { stepMs: 200 });
    rep.step({ epoch: 1, step: 1, loss: 2 });
    rep.log('a warning');
    expect(writes.slice(1).join('')).toMatch(/^\r\x1b\[2Ka warning\n\repoch 1\/2 /);
    const plain = harness(false);
    plain.rep.log('hello');
    expect(plain.writes).toEqual(['hello\n']);
  });
  it('checks its options', () => {
    expect(() => new ProgressReporter({ out: { write: () => 0 }, epochs: 0, stepsPerEpoch: 1 })).toThrow(/options\.epochs must be a positive integer/);
  });
});
