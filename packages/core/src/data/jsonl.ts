/**
 * JSON Lines: one JSON object per line. Blank lines are skipped (a trailing newline, or blank
 * lines a user left between records), everything else must parse and be an object; the line
 * number in every error is the physical line in the file.
 */
import { DataError, describeValue } from './errors.js';
import { splitLines } from './read.js';
import { nfc } from './text.js';

export interface JsonRecord {
  /** 1-based physical line. */
  line: number;
  value: Record<string, unknown>;
}

export function parseJsonLines(file: string, text: string): JsonRecord[] {
  const out: JsonRecord[] = [];
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const src = lines[i]!;
    if (src.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(src);
    } catch (e) {
      throw new DataError(`not valid JSON: ${(e as Error).message}`, { file, line: i + 1 }, { cause: e });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataError(`expected a JSON object like {"text": ..., "label": ...}, got ${describeValue(value)}`, { file, line: i + 1 });
    }
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  if (out.length === 0) throw new DataError('file has no records', { file });
  return out;
}

/** Field accessors (strings come back NFC-normalised) whose errors read `file:line: field "x" must be ..., got ...`. */
export class FieldReader {
  constructor(readonly file: string) {}

  fail(line: number, field: string, expected: string, got: unknown): never {
    const what = got === undefined ? 'it is missing' : `got ${describeValue(got)}`;
    throw new DataError(`field "${field}" must be ${expected}, ${what}`, { file: this.file, line, field });
  }

  string(r: JsonRecord, field: string, nonEmpty = true): string {
    const v = r.value[field];
    if (typeof v !== 'string' || (nonEmpty && v.length === 0)) this.fail(r.line, field, nonEmpty ? 'a non-empty string' : 'a string', v);
    return nfc(v); // a JSON escape (\u0308) can spell a decomposed letter that the file's NFC text did not
  }

  /** A non-empty array of non-empty strings. */
  strings(r: JsonRecord, field: string): string[] {
    const v = r.value[field];
    if (!Array.isArray(v) || v.length === 0) this.fail(r.line, field, 'a non-empty array of strings', v);
    for (let i = 0; i < v.length; i++) {
      const s = v[i];
      if (typeof s !== 'string' || s.length === 0) {
        throw new DataError(`field "${field}" entry ${i} must be a non-empty string, got ${describeValue(s)}`, { file: this.file, line: r.line, field });
      }
    }
    return (v as string[]).map(nfc);
  }

  /**
   * A non-empty array of steps, each an array of `width` finite numbers; `width` undefined
   * means "whatever the first step has" (returned so the caller can hold later lines to it).
   */
  matrix(r: JsonRecord, field: string, width: number | undefined, widthFrom: string): number[][] {
    const v = r.value[field];
    if (!Array.isArray(v) || v.length === 0) this.fail(r.line, field, 'a non-empty array of steps, each an array of numbers', v);
    for (let t = 0; t < v.length; t++) {
      const step = v[t];
      const where = { file: this.file, line: r.line, field };
      if (!Array.isArray(step)) throw new DataError(`field "${field}" step ${t} must be an array of numbers, got ${describeValue(step)}`, where);
      if (width === undefined) {
        width = step.length;
        widthFrom = 'as in step 0';
      }
      if (step.length === 0) throw new DataError(`field "${field}" step ${t} is empty, expected ${width || 'at least 1'} numbers`, where);
      if (step.length !== width) {
        throw new DataError(`field "${field}" step ${t} has ${step.length} numbers, expected ${width} (${widthFrom})`, where);
      }
      for (let j = 0; j < step.length; j++) {
        const x = step[j];
        if (typeof x !== 'number' || !Number.isFinite(x)) {
          throw new DataError(`field "${field}" step ${t} value ${j} must be a finite number, got ${describeValue(x)}`, where);
        }
      }
    }
    return v as number[][];
  }
}
