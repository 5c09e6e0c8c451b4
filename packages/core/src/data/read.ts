/**
 * Reading a data file as text, with the failures a user meets (wrong path, a directory, a binary
 * or empty file) turned into a DataError that names the file.
 */
import { readFileSync } from 'node:fs';
import { DataError } from './errors.js';
import { nfc } from './text.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The file's text (UTF-8, a leading byte-order mark removed, NFC-normalised: see text.ts).
 * Throws DataError if missing, unreadable or empty.
 */
export function readTextFile(file: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file'
      : code === 'EISDIR' ? 'is a directory, expected a file'
      : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : `cannot be read (${(e as Error).message})`;
    throw new DataError(why, { file }, { cause: e });
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch (e) {
    throw new DataError('is not UTF-8 text (is it a binary file?)', { file }, { cause: e });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DataError('file is empty', { file });
  return nfc(text);
}

/** Splits text into lines, accepting \n and \r\n endings; line i of the result is physical line i + 1. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** 'jsonl' or 'csv'/'tsv' from the file's extension, or DataError naming what is accepted. */
export function formatOf(file: string, accepted: readonly ('jsonl' | 'csv' | 'tsv')[]): 'jsonl' | 'csv' | 'tsv' {
  const lower = file.toLowerCase();
  const fmt = lower.endsWith('.jsonl') || lower.endsWith('.ndjson') ? 'jsonl'
    : lower.endsWith('.csv') ? 'csv'
    : lower.endsWith('.tsv') ? 'tsv'
    : undefined;
  if (fmt === undefined || !accepted.includes(fmt)) {
    const names = accepted.map((a) => (a === 'jsonl' ? '.jsonl (or .ndjson)' : `.${a}`)).join(' or ');
    throw new DataError(`cannot tell the format from the file name; expected ${names}`, { file });
  }
  return fmt;
}
