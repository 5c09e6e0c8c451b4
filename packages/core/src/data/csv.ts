/**
 * CSV (RFC 4180): a header row of column names, then rows of the same width. Fields may be
 * quoted ("a, b"), with "" for a quote inside and line breaks inside quotes; blank lines are
 * skipped. Each row remembers the physical line it starts on, for error messages.
 *
 * The delimiter is given (--delimiter) or guessed from the header line: the most frequent of
 * `,` `;` tab `|` outside quotes, the file's default (tab for .tsv, else comma) when none occurs
 * or on a tie. When the header did not split (one column that holds another delimiter), the
 * errors that follow say which delimiter was used and which one the file seems to have, so a
 * semicolon file read with commas is told apart from a misspelt column name.
 */
import { DataError } from './errors.js';

export interface CsvRow {
  /** 1-based physical line where the row starts. */
  line: number;
  cells: string[];
}

export interface CsvTable {
  file: string;
  /** The character the fields were split on. */
  delimiter: string;
  /** Column names, trimmed. */
  header: string[];
  /** Physical line of the header. */
  headerLine: number;
  rows: CsvRow[];
}

/** The delimiters a header line is searched for when none is given. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

/** How a delimiter is written in messages: `','`, `tab`. */
export function delimiterName(d: string): string {
  return d === '\t' ? 'tab' : `'${d}'`;
}

/** The delimiter of a header line: the most frequent of DELIMITERS outside quotes; `fallback` if none occurs or on a tie with it. */
export function guessDelimiter(text: string, fallback = ','): string {
  const counts = new Map<string, number>();
  let quoted = false;
  let blank = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) {
      if (!blank) break; // the end of the first non-blank line: the header
    } else if (!quoted && (DELIMITERS as readonly string[]).includes(c)) counts.set(c, (counts.get(c) ?? 0) + 1);
    if (c.trim() !== '') blank = false;
  }
  let best = fallback;
  for (const [d, n] of counts) if (n > (counts.get(best) ?? 0)) best = d;
  return best;
}

/** Parses CSV text; `delimiter` undefined: guessed from the header (see guessDelimiter), `fallback` otherwise. */
export function parseCsv(file: string, text: string, delimiter?: string, fallback = ','): CsvTable {
  delimiter ??= guessDelimiter(text, fallback);
  const records: CsvRow[] = [];
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    let wasQuoted = false;
    // One record: runs until an unquoted newline or the end of the text.
    for (;;) {
      if (i >= n) {
        if (quoted) throw new DataError(`a quoted field opened on this line is never closed`, { file, line: start });
        break;
      }
      const c = text[i]!;
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
          quoted = false; i++; continue;
        }
        if (c === '\n') line++;
        cell += c; i++; continue;
      }
      if (c === '"' && cell.trim() === '' && !wasQuoted) { quoted = true; wasQuoted = true; cell = ''; i++; continue; }
      if (c === delimiter) { cells.push(wasQuoted ? cell : cell.trim()); cell = ''; wasQuoted = false; i++; continue; }
      if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i++;
        i++;
        line++;
        break;
      }
      if (wasQuoted && c.trim() !== '') {
        const hint = records.length ? delimiterHint(records[0]!.cells, delimiter) : '';
        throw new DataError(`unexpected ${JSON.stringify(c)} after a closing quote in field ${cells.length + 1}${hint}`, { file, line: start });
      }
      if (!wasQuoted) cell += c;
      i++;
    }
    cells.push(wasQuoted ? cell : cell.trim());
    if (cells.length === 1 && cells[0] === '' && !wasQuoted) continue; // a blank line
    records.push({ line: start, cells });
  }
  if (records.length === 0) throw new DataError('file is empty', { file });
  const [head, ...rows] = records as [CsvRow, ...CsvRow[]];
  const header = head.cells;
  const seen = new Map<string, number>();
  header.forEach((name, k) => {
    if (name === '') throw new DataError(`header column ${k + 1} has no name`, { file, line: head.line });
    if (seen.has(name)) throw new DataError(`header names column "${name}" twice (columns ${seen.get(name)! + 1} and ${k + 1})`, { file, line: head.line, field: name });
    seen.set(name, k);
  });
  if (rows.length === 0) throw new DataError(`has a header (line ${head.line}) but no rows`, { file });
  for (const r of rows) {
    if (r.cells.length !== header.length) {
      throw new DataError(`row has ${r.cells.length} cells, expected ${header.length} as in the header (${header.join(', ')})${delimiterHint(header, delimiter)}`, { file, line: r.line });
    }
  }
  return { file, delimiter, header, headerLine: head.line, rows };
}

/** The index of a named column, or DataError listing the columns there are. */
export function columnIndex(t: CsvTable, name: string, option: string): number {
  const k = t.header.indexOf(name);
  if (k < 0) {
    throw new DataError(`no column "${name}" (${option}); the header has: ${t.header.join(', ')}${delimiterHint(t.header, t.delimiter)}`, { file: t.file, line: t.headerLine, field: name });
  }
  return k;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number cell; empty cells, `NaN`, hex and the like are refused with the line and column. */
export function numberCell(t: CsvTable, row: CsvRow, k: number): number {
  const s = row.cells[k]!;
  const x = DECIMAL.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(x)) {
    const column = t.header[k]!;
    throw new DataError(`column "${column}" must be a number, got ${s === '' ? 'an empty cell' : JSON.stringify(s)}${delimiterHint(t.header, t.delimiter)}`, { file: t.file, line: row.line, field: column });
  }
  return x;
}

/** When a header did not split (one column holding another delimiter), what to give --delimiter. */
function delimiterHint(header: readonly string[], delimiter: string): string {
  const other = header.length === 1 ? DELIMITERS.find((d) => d !== delimiter && header[0]!.includes(d)) : undefined;
  return other === undefined ? ''
    : `. Split on ${delimiterName(delimiter)} the header is one column: is the file ${delimiterName(other)}-separated? Give --delimiter ${other === '\t' ? 'tab' : `'${other}'`}`;
}
