/**
 * The real `weft` binary in a pseudo-terminal, and a tiny terminal screen to replay what it wrote.
 *
 * Progress bars are only drawn on a TTY, so testing them needs one: util-linux `script` (in every
 * Debian/Ubuntu base system as bsdutils) runs the command on a pty of a chosen size and copies the
 * raw bytes to its stdout. node-pty would need a native build. Where `script` is not util-linux's,
 * `ptyAvailable` is false and the pty tests are skipped.
 *
 * `replayTerminal` plays the bytes onto a screen model that knows what weft's reporter and a line
 * printer use: printable characters with automatic wrap at the right margin, \r, \n, \b, and the
 * CSI sequences K (erase in line), A/B (cursor up/down), G (column) and m (colours, ignored). Any
 * other control sequence throws, so output the model cannot judge fails the test instead of
 * passing unseen.
 */
import { spawnSync } from 'node:child_process';
import { BIN } from './cli.js';
import { repoRoot } from './compare.js';

export const ptyAvailable: boolean = (() => {
  if (process.platform !== 'linux') return false;
  const r = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /util-linux/.test(r.stdout);
})();

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyResult {
  code: number;
  /** Everything the program wrote to the terminal (stdout and stderr), as raw text. */
  raw: string;
}

/** Runs `weft args` on a pty of `cols` × `rows` characters and returns the raw output. */
export function weftInPty(args: string[], opts: { cols?: number; rows?: number; timeoutMs?: number } = {}): PtyResult {
  const cmd = `stty cols ${opts.cols ?? 100} rows ${opts.rows ?? 40} && exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`;
  const r = spawnSync('script', ['--quiet', '--return', '--command', cmd, '/dev/null'], {
    cwd: repoRoot, encoding: 'utf8', timeout: opts.timeoutMs ?? 240_000, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHELL: '/bin/sh', TERM: 'xterm', NO_COLOR: '1' },
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, raw: r.stdout };
}

/**
 * The screen after playing `raw` on a terminal `cols` wide (unbounded height, no scrolling off):
 * one string per row, trailing blanks removed, trailing empty rows dropped. With `joinWrapped`,
 * a row that the terminal continued onto the next by wrapping at the margin is joined with it, so
 * a long line reads as one.
 */
export function replayTerminal(raw: string, cols: number, opts: { joinWrapped?: boolean } = {}): string[] {
  const rows: string[][] = [[]];
  /** wrapped[r]: row r continues row r - 1 (the terminal wrapped onto it). */
  const wrapped: boolean[] = [false];
  let row = 0;
  let col = 0;
  const line = (): string[] => (rows[row] ??= []);
  const down = (): void => {
    row++;
    while (rows.length <= row) {
      rows.push([]);
      wrapped.push(false);
    }
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\r') col = 0;
    else if (ch === '\n') down();
    else if (ch === '\b') col = Math.max(0, col - 1);
    else if (ch === '\x1b') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i, i + 16));
      if (!m) throw new Error(`replayTerminal: unknown escape sequence at ${i}: ${JSON.stringify(raw.slice(i, i + 8))}`);
      i += m[0].length - 1;
      const n = m[1] === '' ? undefined : Number(m[1]);
      const l = line();
      switch (m[2]) {
        case 'K': // 0: cursor to end, 1: start to cursor, 2: whole line
          if ((n ?? 0) === 0) l.length = Math.min(l.length, col);
          else if (n === 1) for (let c = 0; c <= col && c < l.length; c++) l[c] = ' ';
          else if (n === 2) l.length = 0;
          break;
        case 'A': row = Math.max(0, row - (n ?? 1)); break;
        case 'B': for (let k = 0; k < (n ?? 1); k++) down(); break;
        case 'G': col = Math.max(0, (n ?? 1) - 1); break;
        case 'm': break;
        default: throw new Error(`replayTerminal: unsupported sequence ${JSON.stringify(m[0])}`);
      }
    } else if (ch < ' ' || ch === '\x7f') {
      throw new Error(`replayTerminal: unexpected control character ${JSON.stringify(ch)} at ${i}`);
    } else {
      if (col >= cols) { // the terminal wraps a character written past the right margin
        down();
        wrapped[row] = true;
        col = 0;
      }
      const l = line();
      while (l.length < col) l.push(' ');
      l[col++] = ch;
    }
  }
  let out: string[] = [];
  rows.forEach((r, i) => {
    const text = r.join('');
    if (opts.joinWrapped && wrapped[i] && out.length > 0) out[out.length - 1] += text;
    else out.push(text);
  });
  out = out.map((l) => l.trimEnd());
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}
