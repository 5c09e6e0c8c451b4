/**
 * The one error type of the data layer. A user who mistyped a file name or has one bad line
 * among a million should get one paragraph that points at the spot, so every message starts
 * with `file:line:` (as compilers do, which editors and terminals turn into links) and then
 * names the field and what was expected:
 *
 *   names.jsonl:17: field "label" must be a string, got 3
 *   data.csv: no such file
 */
export interface DataErrorWhere {
  /** The file as the user named it. */
  file: string;
  /** 1-based physical line, when the problem is on one line. */
  line?: number;
  /** The JSON field or CSV column at fault. */
  field?: string;
}

export class DataError extends Error {
  readonly file: string;
  readonly line?: number;
  readonly field?: string;
  /** The message without the `file:line: ` prefix. */
  readonly detail: string;

  constructor(detail: string, where: DataErrorWhere, options?: { cause?: unknown }) {
    super(`${where.file}${where.line !== undefined ? `:${where.line}` : ''}: ${detail}`, options);
    this.name = 'DataError';
    this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
    if (where.field !== undefined) this.field = where.field;
    this.detail = detail;
  }
}

/** A short, unambiguous rendering of a bad value for an error message (`3`, `"abc"`, `null`, `array`). */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'an object';
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
