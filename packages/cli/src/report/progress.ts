/**
 * Training progress on the terminal. On a TTY: one line redrawn in place with '\r' (at most every
 * minIntervalMs, default 100 ms, so printing never costs measurable training time):
 *
 *   epoch 2/10  [########------------]  340/1000  loss 1.2345  12.3k tok/s  ETA 1m05s
 *
 * Elsewhere (a pipe, a log file, CI): plain lines, one every `everySteps` steps (default a tenth
 * of an epoch) and one at the end of each epoch, no control characters. The formatting is pure
 * functions, so it is tested without a terminal; the reporter takes its clock as an option.
 */

export interface ProgressInfo {
  /** 1-based epoch. */
  epoch: number;
  epochs: number;
  /** Steps done in this epoch, 1..stepsPerEpoch. */
  step: number;
  stepsPerEpoch: number;
  loss: number;
  /** Tokens (time steps of all sequences) per second, if known. */
  tokensPerSec?: number;
  /** Seconds left, if known. */
  etaSec?: number;
}

/** `45s`, `3m05s`, `2h07m`; `?` for unknown or non-finite values. */
export function formatDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `950`, `12.3k`, `4.56M`: three significant digits. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return '?';
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, suffix] of units) if (Math.abs(x) >= scale) return `${(x / scale).toPrecision(3)}${suffix}`;
  return Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3);
}

/** `[#####-----]` with `width` cells inside the brackets; `fraction` is clamped to [0, 1]. */
export function formatBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

function fields(p: ProgressInfo): { epoch: string; steps: string; loss: string; rate: string; eta: string } {
  const w = String(p.stepsPerEpoch).length;
  return {
    epoch: `epoch ${String(p.epoch).padStart(String(p.epochs).length)}/${p.epochs}`,
    steps: `${String(p.step).padStart(w)}/${p.stepsPerEpoch}`,
    loss: `loss ${formatLoss(p.loss)}`,
    rate: p.tokensPerSec === undefined ? '' : `${formatRate(p.tokensPerSec)} tok/s`,
    eta: p.etaSec === undefined ? '' : `ETA ${formatDuration(p.etaSec)}`,
  };
}

/**
 * The TTY line, at most `columns` characters: the bar shrinks first (down to 10 cells), then is
 * dropped, then the line is cut.
 */
export function formatProgressLine(p: ProgressInfo, columns = 80): string {
  const f = fields(p);
  const tail = [f.steps, f.loss, f.rate, f.eta].filter((s) => s !== '').join('  ');
  const fixed = `${f.epoch}  `.length + 2 + 2 + tail.length; // epoch, bar brackets, gap after the bar
  const barWidth = Math.min(30, columns - 1 - fixed);
  const line = barWidth >= 10 ? `${f.epoch}  ${formatBar(p.step / p.stepsPerEpoch, barWidth)}  ${tail}` : `${f.epoch}  ${tail}`;
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 1)) : line;
}

/** A plain log line: `epoch 2/10 step 340/1000 loss 1.2345 12.3k tok/s ETA 1m05s`. */
export function formatPlainLine(p: ProgressInfo): string {
  const f = fields(p);
  return [f.epoch, `step ${f.steps.trimStart()}`, f.loss, f.rate, f.eta].filter((s) => s !== '').join(' ').replace(/ {2,}/g, ' ');
}

/** Seconds left at the average pace so far; undefined before the first step. */
export function etaSeconds(doneSteps: number, totalSteps: number, elapsedSec: number): number | undefined {
  if (!(doneSteps > 0) || !(elapsedSec >= 0)) return undefined;
  return (elapsedSec / doneSteps) * Math.max(0, totalSteps - doneSteps);
}

/** Where the reporter writes: process.stdout, or anything with write (tests). */
export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  out: ProgressOutput;
  epochs: number;
  stepsPerEpoch: number;
  /** Plain mode: a line every this many steps (default ceil(stepsPerEpoch / 10)); epoch ends always print. */
  everySteps?: number;
  /** TTY mode: least time between redraws (default 100 ms). */
  minIntervalMs?: number;
  /** Force TTY or plain mode (default: out.isTTY). */
  tty?: boolean;
  /** Clock in milliseconds (default performance.now). */
  now?: () => number;
}

export interface StepUpdate {
  /** 1-based epoch. */
  epoch: number;
  /** Steps done in this epoch, 1..stepsPerEpoch. */
  step: number;
  loss: number;
  /** Tokens processed by this step (for tokens per second). */
  tokens?: number;
}

export class ProgressReporter {
  private readonly out: ProgressOutput;
  private readonly epochs: number;
  private readonly stepsPerEpoch: number;
  private readonly everySteps: number;
  private readonly minIntervalMs: number;
  private readonly tty: boolean;
  private readonly now: () => number;
  private first: { t: number; done: number } | undefined;
  private tokens = 0;
  private lastDraw = -Infinity;
  private current = '';

  constructor(o: ProgressOptions) {
    for (const k of ['epochs', 'stepsPerEpoch'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new TypeError(`progress options.${k} must be a positive integer, got ${JSON.stringify(o[k])}`);
    }
    this.out = o.out;
    this.epochs = o.epochs;
    this.stepsPerEpoch = o.stepsPerEpoch;
    this.everySteps = o.everySteps ?? Math.ceil(o.stepsPerEpoch / 10);
    if (!Number.isInteger(this.everySteps) || this.everySteps < 1) throw new TypeError(`progress options.everySteps must be a positive integer, got ${JSON.stringify(o.everySteps)}`);
    this.minIntervalMs = o.minIntervalMs ?? 100;
    this.tty = o.tty ?? o.out.isTTY === true;
    this.now = o.now ?? (() => performance.now());
  }

  /**
   * Call after every step; draws or prints only when due. Pace (tokens/s, ETA) is measured from
   * the first call on, so start-up time before the first step does not skew it; the first line
   * therefore shows no ETA.
   */
  step(u: StepUpdate): void {
    const t = this.now();
    const done = (u.epoch - 1) * this.stepsPerEpoch + u.step;
    if (this.first === undefined) this.first = { t, done };
    else this.tokens += u.tokens ?? 0;
    const elapsed = (t - this.first.t) / 1000;
    const info: ProgressInfo = { epoch: u.epoch, epochs: this.epochs, step: u.step, stepsPerEpoch: this.stepsPerEpoch, loss: u.loss };
    const eta = etaSeconds(done - this.first.done, this.epochs * this.stepsPerEpoch - this.first.done, elapsed);
    if (eta !== undefined) info.etaSec = eta;
    if (u.tokens !== undefined && elapsed > 0) info.tokensPerSec = this.tokens / elapsed;
    const epochEnd = u.step >= this.stepsPerEpoch;
    if (this.tty) {
      if (t - this.lastDraw < this.minIntervalMs && !epochEnd) return;
      this.lastDraw = t;
      this.current = formatProgressLine(info, this.out.columns ?? 80);
      this.out.write(`\r${this.current}\x1b[K`);
    } else if (epochEnd || u.step % this.everySteps === 0) {
      this.out.write(`${formatPlainLine(info)}\n`);
    }
  }

  /** Prints a line of its own (an epoch summary, a warning) without breaking the bar. */
  log(line: string): void {
    if (this.tty && this.current !== '') this.out.write(`\r\x1b[K${line}\n${this.current}`);
    else this.out.write(`${line}\n`);
  }

  /** Leaves the last bar on screen and moves to a fresh line. */
  end(): void {
    if (this.tty && this.current !== '') this.out.write('\n');
    this.current = '';
  }
}
