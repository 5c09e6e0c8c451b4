/**
 * Training progress on the terminal, read the way Keras and tqdm progress is read. On a TTY: one
 * line redrawn in place with '\r' (at most every minIntervalMs, default 100 ms, so printing never
 * costs measurable training time), never wider than the terminal:
 *
 *   epoch  3/14 [=====>        ] 120/249 · loss 0.4120 · acc 81.2% · 12 ms/step · 45.1k tok/s · epoch ETA 4s · run ETA 1m02s
 *
 * `loss` and `acc` are the running means of the epoch so far (the caller passes them), not the
 * last batch's. While validation runs the line says so (`· validating…`) instead of freezing; at
 * the end of an epoch the bar is cleared and replaced by the epoch's summary line, so no finished
 * bar is ever left under a summary or at the end.
 *
 * Elsewhere (a pipe, a log file, CI): no control characters; the epoch summary lines, and during
 * an epoch a plain progress line only when plainIntervalMs (default 60 s) has passed since the last
 * line, so a short epoch gives one line and a long one still shows signs of life.
 *
 * The formatting is pure functions, tested without a terminal; the reporter takes its clock as an
 * option. The real terminal behaviour is tested in a pseudo-terminal (test/cli-progress.test.ts).
 */

export interface ProgressInfo {
  /** 1-based epoch. */
  epoch: number;
  epochs: number;
  /** Steps done in this epoch, 1..stepsPerEpoch. */
  step: number;
  stepsPerEpoch: number;
  /** Running mean of the training loss over the epoch so far. */
  loss: number;
  /** Running training accuracy (0..1) over the epoch so far, where the task has one. */
  accuracy?: number;
  /** Mean time of a training step, milliseconds. */
  msPerStep?: number;
  /** Tokens (time steps of all sequences) per second, if known. */
  tokensPerSec?: number;
  /** Seconds left in this epoch, if known. */
  epochEtaSec?: number;
  /** Seconds left in the run (steps and the validations still to come), if known. */
  runEtaSec?: number;
  /** A state shown instead of the ETAs, e.g. `validating…`. */
  status?: string;
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

/** Step time as Keras writes it: `3.4 ms/step`, `120 ms/step`, `1.25 s/step`. */
export function formatStepTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '? ms/step';
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s/step`;
  return `${ms >= 10 ? ms.toFixed(0) : ms.toPrecision(2)} ms/step`;
}

/** `[=====>    ]` with `width` cells inside the brackets; `fraction` is clamped to [0, 1]. */
export function formatBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const full = Math.round(f * width);
  if (full >= width) return `[${'='.repeat(width)}]`;
  if (full === 0) return `[${' '.repeat(width)}]`;
  return `[${'='.repeat(full - 1)}>${' '.repeat(width - full)}]`;
}

function formatLoss(loss: number): string {
  return Number.isFinite(loss) ? loss.toFixed(4) : String(loss);
}

/** A fraction as a percentage with one decimal: `81.2%`. */
export function formatPercent(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : String(x);
}

const SEP = ' · ';

/**
 * The fields after the step count, each with the order it is dropped in when the line does not
 * fit (lower goes first; 0 = never dropped).
 */
function fields(p: ProgressInfo): { text: string; drop: number }[] {
  const f: { text: string; drop: number }[] = [{ text: `loss ${formatLoss(p.loss)}`, drop: 0 }];
  if (p.accuracy !== undefined) f.push({ text: `acc ${formatPercent(p.accuracy)}`, drop: 6 });
  if (p.status !== undefined) {
    f.push({ text: p.status, drop: 0 });
    return f;
  }
  if (p.msPerStep !== undefined) f.push({ text: formatStepTime(p.msPerStep), drop: 2 });
  if (p.tokensPerSec !== undefined) f.push({ text: `${formatRate(p.tokensPerSec)} tok/s`, drop: 1 });
  if (p.epochEtaSec !== undefined) f.push({ text: `epoch ETA ${formatDuration(p.epochEtaSec)}`, drop: 5 });
  if (p.runEtaSec !== undefined && p.epochs > 1) f.push({ text: `run ETA ${formatDuration(p.runEtaSec)}`, drop: 3 });
  return f;
}

function epochLabel(p: ProgressInfo): string {
  return `epoch ${String(p.epoch).padStart(String(p.epochs).length)}/${p.epochs}`;
}

/** Where the bar stands among the fields in the order they are dropped (see fields()). */
const BAR_DROP = 3.5;

/**
 * The TTY line, at most `columns - 1` characters (a line as wide as the terminal would wrap on
 * some terminals). The bar shrinks first (from 30 down to 10 cells), then parts go, least useful
 * first: tok/s, ms/step, run ETA, the bar, epoch ETA, accuracy; a line still too long is cut.
 */
export function formatProgressLine(p: ProgressInfo, columns = 80): string {
  const max = Math.max(0, columns - 1);
  const label = epochLabel(p);
  const steps = `${String(p.step).padStart(String(p.stepsPerEpoch).length)}/${p.stepsPerEpoch}`;
  let f = fields(p);
  let bar = true;
  const compose = (barWidth: number): string => {
    const head = barWidth > 0 ? `${label} ${formatBar(p.step / p.stepsPerEpoch, barWidth)} ${steps}` : `${label} ${steps}`;
    return [head, ...f.map((x) => x.text)].join(SEP);
  };
  for (;;) {
    const bare = compose(0);
    if (bar) {
      const barWidth = Math.min(30, max - bare.length - 3); // '[' + ']' + a space
      if (barWidth >= 10) return compose(barWidth);
    } else if (bare.length <= max) return bare;
    const droppable = f.filter((x) => x.drop > 0);
    const least = droppable.reduce<{ drop: number } | undefined>((a, b) => (a === undefined || b.drop < a.drop ? b : a), undefined);
    if (bar && (least === undefined || BAR_DROP < least.drop)) bar = false;
    else if (least !== undefined) f = f.filter((x) => x !== least);
    else break;
  }
  const line = compose(0);
  return line.length > max ? line.slice(0, max) : line;
}

/** A plain log line: `epoch 2/10 step 340/1000 · loss 1.2346 · acc 81.2% · 12 ms/step · ...`. */
export function formatPlainLine(p: ProgressInfo): string {
  return [`epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.stepsPerEpoch}`, ...fields(p).map((x) => x.text)].join(SEP);
}

/** Where the reporter writes: process.stdout, or anything with write (tests). */
export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
  /** Terminal width, read at every draw (a resized terminal is followed). */
  columns?: number;
}

export interface ProgressOptions {
  out: ProgressOutput;
  epochs: number;
  stepsPerEpoch: number;
  /** Steps of the whole run when it ends before its last epoch does (--steps); default epochs × stepsPerEpoch. */
  totalSteps?: number;
  /** TTY mode: least time between redraws (default 100 ms). */
  minIntervalMs?: number;
  /** Plain mode: least time between progress lines within an epoch (default 60 s). */
  plainIntervalMs?: number;
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
  /** Running mean of the training loss over the epoch so far. */
  loss: number;
  /** Running training accuracy over the epoch so far (0..1), where the task has one. */
  accuracy?: number;
  /** Tokens processed by this step (for tokens per second). */
  tokens?: number;
}

/** Clears the line the cursor is on and returns to its start. */
const CLEAR_LINE = '\r\x1b[2K';

export class ProgressReporter {
  private readonly out: ProgressOutput;
  private readonly epochs: number;
  private readonly stepsPerEpoch: number;
  private readonly totalSteps: number;
  private readonly minIntervalMs: number;
  private readonly plainIntervalMs: number;
  private readonly tty: boolean;
  private readonly now: () => number;
  /** The last step seen: its update, clock and place in the run. */
  private last: { u: StepUpdate; t: number; done: number } | undefined;
  /** Time and count of the intervals between consecutive steps of one epoch (pure step time). */
  private stepMs = 0;
  private stepCount = 0;
  /** Tokens of the measured steps; undefined while no step reported any. */
  private tokens: number | undefined;
  /** Time between epochs beyond one step (validation, checkpoints), and how many such gaps. */
  private gapMs = 0;
  private gaps = 0;
  private lastDraw = -Infinity;
  private lastPlain: number | undefined;
  /** The progress line on screen (TTY), '' when there is none. */
  private current = '';

  constructor(o: ProgressOptions) {
    for (const k of ['epochs', 'stepsPerEpoch'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new TypeError(`progress options.${k} must be a positive integer, got ${JSON.stringify(o[k])}`);
    }
    this.out = o.out;
    this.epochs = o.epochs;
    this.stepsPerEpoch = o.stepsPerEpoch;
    this.totalSteps = Math.min(o.totalSteps ?? Infinity, o.epochs * o.stepsPerEpoch);
    this.minIntervalMs = o.minIntervalMs ?? 100;
    this.plainIntervalMs = o.plainIntervalMs ?? 60_000;
    this.tty = o.tty ?? o.out.isTTY === true;
    this.now = o.now ?? (() => performance.now());
  }

  private columns(): number {
    return this.out.columns || 80;
  }

  /** The line's facts at the last step: pace and ETAs from the steps measured so far. */
  private info(): ProgressInfo {
    const { u, done } = this.last!;
    const info: ProgressInfo = { epoch: u.epoch, epochs: this.epochs, step: u.step, stepsPerEpoch: this.stepsPerEpoch, loss: u.loss };
    if (u.accuracy !== undefined) info.accuracy = u.accuracy;
    if (this.stepCount > 0) {
      const ms = this.stepMs / this.stepCount;
      info.msPerStep = ms;
      if (this.tokens !== undefined && this.stepMs > 0) info.tokensPerSec = (this.tokens / this.stepMs) * 1000;
      const epochLeft = Math.max(0, Math.min(this.stepsPerEpoch - u.step, this.totalSteps - done));
      info.epochEtaSec = (epochLeft * ms) / 1000;
      const epochEndsLeft = Math.ceil(this.totalSteps / this.stepsPerEpoch) - u.epoch + 1;
      const gap = this.gaps > 0 ? this.gapMs / this.gaps : 0;
      info.runEtaSec = (Math.max(0, this.totalSteps - done) * ms + Math.max(0, epochEndsLeft) * gap) / 1000;
    }
    return info;
  }

  private draw(line: string): void {
    this.current = line;
    this.out.write(`\r${line}\x1b[K`);
  }

  /**
   * Call after every step; draws or prints only when due. Pace (ms/step, tokens/s, ETAs) is
   * measured between consecutive steps of an epoch, so start-up, validation and checkpoints do
   * not count as step time; they are measured apart and added to the run's ETA.
   */
  step(u: StepUpdate): void {
    const t = this.now();
    const done = (u.epoch - 1) * this.stepsPerEpoch + u.step;
    const prev = this.last;
    if (prev && prev.u.epoch === u.epoch && done === prev.done + 1) {
      this.stepMs += t - prev.t;
      this.stepCount++;
      if (u.tokens !== undefined) this.tokens = (this.tokens ?? 0) + u.tokens;
    } else if (prev && done === prev.done + 1 && this.stepCount > 0) {
      this.gapMs += Math.max(0, t - prev.t - this.stepMs / this.stepCount);
      this.gaps++;
    }
    this.last = { u, t, done };
    this.lastPlain ??= t;
    const epochEnd = u.step >= this.stepsPerEpoch || done >= this.totalSteps;
    if (this.tty) {
      // Drawn when due, at the end of an epoch, and at once when no bar is on screen (a new epoch).
      if (t - this.lastDraw < this.minIntervalMs && !epochEnd && this.current !== '') return;
      this.lastDraw = t;
      this.draw(formatProgressLine(this.info(), this.columns()));
    } else if (!epochEnd && t - this.lastPlain >= this.plainIntervalMs) {
      this.lastPlain = t;
      this.out.write(`${formatPlainLine(this.info())}\n`);
    }
  }

  /** Says on the bar that validation is running (a TTY only; a log gets the summary line after). */
  validating(): void {
    if (!this.tty || this.last === undefined) return;
    this.draw(formatProgressLine({ ...this.info(), status: 'validating…' }, this.columns()));
  }

  /** Prints a line of its own (a warning) above the bar, and redraws the bar under it. */
  log(line: string): void {
    if (this.tty && this.current !== '') {
      this.out.write(`${CLEAR_LINE}${line}\n`);
      this.draw(this.current);
    } else this.out.write(`${line}\n`);
    this.lastPlain = this.now();
  }

  /** The epoch's summary line: it replaces the bar, which is drawn again by the next step. */
  epochEnd(line: string): void {
    this.out.write(this.tty && this.current !== '' ? `${CLEAR_LINE}${line}\n` : `${line}\n`);
    this.current = '';
    this.lastPlain = this.now();
  }

  /** Clears any bar still on screen, leaving the cursor at the start of an empty line. */
  end(): void {
    if (this.tty && this.current !== '') this.out.write(CLEAR_LINE);
    this.current = '';
  }
}
