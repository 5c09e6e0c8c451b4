import { unknownWarning, type UnknownReport } from '@weft/core';

/**
 * Where a command's words go. People at a terminal get a live progress bar and readable lines;
 * pipes get plain lines; `--json` gets one JSON object per event on stdout, the command's
 * result as the LAST line, and nothing else on stdout. `--quiet` keeps only the result (and the
 * errors, which go to stderr anyway): no lines for people, no progress, no events.
 */
export class Output {
  constructor(readonly json: boolean, readonly quiet = false, readonly stream: NodeJS.WriteStream = process.stdout) {}

  get isTTY(): boolean {
    return !this.json && Boolean(this.stream.isTTY);
  }

  /** Whether to show training progress (a bar or plain lines): not with --json or --quiet. */
  get progress(): boolean {
    return !this.json && !this.quiet;
  }

  /** A line for people (suppressed in --json mode, where events carry the same facts, and by --quiet). */
  info(line: string): void {
    if (!this.json && !this.quiet) this.stream.write(line + '\n');
  }

  /** A machine-readable event: a JSON line in --json mode (not with --quiet), nothing otherwise. */
  event(type: string, data: object): void {
    if (this.json && !this.quiet) this.stream.write(JSON.stringify({ event: type, ...data }) + '\n');
  }

  /** A warning for people: `warning: ...` on stderr, in every mode (stdout stays clean for --json and pipes). */
  warn(line: string): void {
    process.stderr.write(`warning: ${line}\n`);
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
    if (this.json) this.stream.write(JSON.stringify(data) + '\n');
    else if (text !== undefined) this.stream.write(text + (text.endsWith('\n') ? '' : '\n'));
  }
}
