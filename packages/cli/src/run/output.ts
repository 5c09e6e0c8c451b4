import { statSync } from 'node:fs';
import { unknownWarning, type UnknownReport } from '@weft/core';

/**
 * Where a command's words go. People at a terminal get a live progress bar and readable lines;
 * pipes get plain lines; `--json` gets one JSON object per event on stdout, the command's
 * result as the LAST line, and nothing else on stdout. `--quiet` keeps only the result (and the
 * errors, which go to stderr anyway): no lines for people, no progress, no events.
 *
 * stdout may go away while a command runs (`weft train | head -1`: the reader exits, the next
 * write fails with EPIPE). Every write goes through here, so that failure is recorded once
 * (`closed`) instead of crashing the process with an unhandled 'error' event, and later writes
 * are dropped; `weft train` checks `closed` between steps and stops with its checkpoint saved.
 */
import type { ProgressOutput } from '../report/index.js';

/** The first error of each watched stream (EPIPE when its reader went away). */
const failures = new WeakMap<NodeJS.WritableStream, NodeJS.ErrnoException>();
const watched = new WeakSet<NodeJS.WritableStream>();

/** Records the stream's first error instead of letting it crash the process; safe to call again. */
export function watchStream(stream: NodeJS.WritableStream): void {
  if (watched.has(stream)) return;
  watched.add(stream);
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (!failures.has(stream)) failures.set(stream, e);
  });
}

/** Why `stream` takes no more output (EPIPE: its reader went away), or undefined while it works. */
export function streamFailure(stream: NodeJS.WritableStream): NodeJS.ErrnoException | undefined {
  return failures.get(stream);
}

export class Output {
  constructor(readonly json: boolean, readonly quiet = false, readonly stream: NodeJS.WriteStream = process.stdout) {
    watchStream(stream);
  }

  get isTTY(): boolean {
    return !this.json && Boolean(this.stream.isTTY);
  }

  /** Whether to show training progress (a bar or plain lines): not with --json or --quiet. */
  get progress(): boolean {
    return !this.json && !this.quiet;
  }

  /** Set once the stream failed (EPIPE: nobody reads stdout any more): the error; nothing is written after it. */
  get closed(): NodeJS.ErrnoException | undefined {
    return streamFailure(this.stream);
  }

  /** Where a progress reporter draws: this stream, through the same guard as every other write. */
  get terminal(): ProgressOutput {
    const stream = this.stream;
    return { write: (s: string) => this.write(s), isTTY: stream.isTTY, get columns() { return stream.columns; } };
  }

  /** A line for people (suppressed in --json mode, where events carry the same facts, and by --quiet). */
  info(line: string): void {
    if (!this.json && !this.quiet) this.write(line + '\n');
  }

  /** A machine-readable event: a JSON line in --json mode (not with --quiet), nothing otherwise. */
  event(type: string, data: object): void {
    if (this.json && !this.quiet) this.write(JSON.stringify({ event: type, ...data }) + '\n');
  }

  /** A warning for people: `warning: ...` on stderr, in every mode (stdout stays clean for --json and pipes). */
  warn(line: string): void {
    process.stderr.write(`warning: ${line}\n`);
  }

  /**
   * A FIFO given as a file to read blocks until something writes to it: say so at once on stderr,
   * so a command that waits is not taken for a hang (eval and predict read a pipe once, as any
   * file; train refuses one).
   */
  noticeFifo(file: string | undefined, flag: string): void {
    try {
      if (file !== undefined && statSync(file).isFIFO()) this.warn(`${flag} ${file} is a FIFO (named pipe): waiting for something to write to it (Ctrl-C to stop)`);
    } catch {
      // A missing file is the loader's to report.
    }
  }

  /**
   * Inputs' symbols the model's vocabulary never saw (read as <unk>): one warning line for
   * people when there are any; the report itself goes into the command's --json result.
   */
  unknown(report: UnknownReport): UnknownReport {
    const line = unknownWarning(report);
    if (line !== undefined) this.warn(line);
    return report;
  }

  /** The command's result: the last JSON line in --json mode; in text mode, `text` if given. */
  result(data: object, text?: string): void {
    if (this.json) this.write(JSON.stringify(data) + '\n');
    else if (text !== undefined) this.write(text + (text.endsWith('\n') ? '' : '\n'));
  }

  private write(s: string): void {
    if (!this.closed) this.stream.write(s);
  }
}
