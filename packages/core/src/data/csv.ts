/**
 * CSV (RFC 4180): a header row of column names, then rows of the same width. Fields may be
 * quoted ("a, b"), with "" for a quote inside and line breaks inside quotes; blank lines are
 * skipped. Each row remembers the physical line it starts on, for error messages.
 */
import { DataError } from './errors.js';

export interface CsvRow {
  /** 1-based physical line where the row starts. */
  line: number;
  cells: string[];
}

export interface CsvTable {
  file: string;
  /** Column names, trimmed. */
  header: string[];
  /** Physical line of the header. */
  headerLine: number;
  rows: CsvRow[];
}

export function parseCsv(file: string, text: string, delimiter = ','): CsvTable {
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
        throw new DataError(`unexpected ${JSON.stringify(c)} after a closing quote in field ${cells.length + 1}`, { file, line: start });
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
      throw new DataError(`row has ${r.cells.length} cells, expected ${header.length} as in the header (${header.join(', ')})`, { file, line: r.line });
    }
  }
  return { file, header, headerLine: head.line, rows };
}

/** The index of a named column, or DataError listing the columns there are. */
export function columnIndex(t: CsvTable, name: string, option: string): number {
  const k = t.header.indexOf(name);
  if (k < 0) {
    throw new DataError(`no column "${name}" (${option}); the header has: ${t.header.join(', ')}`, { file: t.file, line: t.headerLine, field: name });
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
    throw new DataError(`column "${column}" must be a number, got ${s === '' ? 'an empty cell' : JSON.stringify(s)}`, { file: t.file, line: row.line, field: column });
  }
  return x;
}
