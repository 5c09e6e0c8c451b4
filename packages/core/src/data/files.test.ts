import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { columnIndex, guessDelimiter, numberCell, parseCsv } from './csv.js';
import { DataError } from './errors.js';
import { FieldReader, parseJsonLines } from './jsonl.js';
import { formatOf, readTextFile } from './read.js';
import { tempFiles, dataError } from './testkit.js';

const { dir, file } = tempFiles('weft-files-');


describe('DataError', () => {
  it('prefixes file and line and keeps the parts as fields', () => {
    const e = new DataError('field "label" must be a string, got 3', { file: 'names.jsonl', line: 17, field: 'label' });
    expect(e.message).toBe('names.jsonl:17: field "label" must be a string, got 3');
    expect([e.file, e.line, e.field, e.name]).toEqual(['names.jsonl', 17, 'label', 'DataError']);
    expect(e).toBeInstanceOf(Error);
    expect(new DataError('no such file', { file: 'data.csv' }).message).toBe('data.csv: no such file');
  });
});

describe('readTextFile', () => {
  it('reads UTF-8 text and drops a byte-order mark', () => {
    expect(readTextFile(file('bom.txt', '\ufeffhé'))).toBe('hé');
  });
  it('names a missing file, a directory, an empty and a binary file', () => {
    const missing = join(dir, 'data.csv');
    expect(dataError(() => readTextFile(missing)).message).toBe(`${missing}: no such file`);
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    expect(dataError(() => readTextFile(sub)).message).toMatch(/sub: is a directory/);
    const empty = file('empty.jsonl', '\n  \n');
    expect(dataError(() => readTextFile(empty)).message).toBe(`${empty}: file is empty`);
    const bin = file('bin.dat', new Uint8Array([0xff, 0xfe, 0x00, 0xc3]));
    expect(dataError(() => readTextFile(bin)).message).toMatch(/bin\.dat: is not UTF-8 text/);
  });
  it('tells the format from the extension or says what it accepts', () => {
    expect(formatOf('a/B.JSONL', ['jsonl'])).toBe('jsonl');
    expect(formatOf('x.ndjson', ['jsonl', 'csv'])).toBe('jsonl');
    expect(formatOf('x.tsv', ['csv', 'tsv'])).toBe('tsv');
    expect(dataError(() => formatOf('x.txt', ['jsonl', 'csv'])).message).toBe('x.txt: cannot tell the format from the file name; expected .jsonl (or .ndjson) or .csv');
  });
});

describe('parseJsonLines', () => {
  it('keeps physical line numbers and skips blank lines', () => {
    const recs = parseJsonLines('a.jsonl', '{"a":1}\r\n\n  \n{"a":2}\n');
    expect(recs.map((r) => [r.line, r.value.a])).toEqual([[1, 1], [4, 2]]);
  });
  it('reports the line and the parser reason of malformed JSON', () => {
    const reason = (() => { try { JSON.parse('{"a": }'); } catch (e) { return (e as Error).message; } return ''; })();
    const e = dataError(() => parseJsonLines('a.jsonl', '{"a":1}\n\n{"a": }\n'));
    expect(e.message).toBe(`a.jsonl:3: not valid JSON: ${reason}`);
    expect(e.line).toBe(3);
  });
  it('refuses non-objects and files without records', () => {
    expect(dataError(() => parseJsonLines('a.jsonl', '{"a":1}\n[1,2]')).message).toMatch(/^a\.jsonl:2: expected a JSON object.*got an array of 2$/);
    expect(dataError(() => parseJsonLines('a.jsonl', '\n\n')).message).toBe('a.jsonl: file has no records');
  });
  it('field readers name line, field, expectation and the value', () => {
    const [r] = parseJsonLines('n.jsonl', '{"label": 3, "seq": [[1, 2], [3]], "toks": ["a", ""]}');
    const f = new FieldReader('n.jsonl');
    const e = dataError(() => f.string(r!, 'label'));
    expect(e.message).toBe('n.jsonl:1: field "label" must be a non-empty string, got 3');
    expect([e.line, e.field]).toEqual([1, 'label']);
    expect(dataError(() => f.string(r!, 'text')).message).toBe('n.jsonl:1: field "text" must be a non-empty string, it is missing');
    expect(dataError(() => f.matrix(r!, 'seq', undefined, '')).message).toBe('n.jsonl:1: field "seq" step 1 has 1 numbers, expected 2 (as in step 0)');
    expect(dataError(() => f.strings(r!, 'toks')).message).toBe('n.jsonl:1: field "toks" entry 1 must be a non-empty string, got ""');
  });
});

describe('parseCsv', () => {
  it('parses quotes, escaped quotes, delimiters and line breaks inside quotes, CRLF', () => {
    const t = parseCsv('a.csv', 'text,label\r\n"hello, world",pos\r\n"she said ""hi""\nthen left",neg\n\n plain , x \n');
    expect(t.header).toEqual(['text', 'label']);
    expect(t.rows.map((r) => r.cells)).toEqual([['hello, world', 'pos'], ['she said "hi"\nthen left', 'neg'], ['plain', 'x']]);
    expect(t.rows.map((r) => r.line)).toEqual([2, 3, 6]);
  });
  it('parses tab-separated values', () => {
    expect(parseCsv('a.tsv', 'a\tb\n1,5\t2\n', '\t').rows[0]!.cells).toEqual(['1,5', '2']);
  });
  it('guesses the delimiter from the header line (quotes ignored; the fallback on none or a tie)', () => {
    expect(guessDelimiter('a;b;c\n1,5;2;3\n')).toBe(';');
    expect(guessDelimiter('\n"x;y",b\n')).toBe(',');
    expect(guessDelimiter('a\tb\n')).toBe('\t');
    expect(guessDelimiter('value\n1,5\n')).toBe(',');
    expect(guessDelimiter('value\n1;5\n', '\t')).toBe('\t');
    expect(guessDelimiter('a;b,c\n')).toBe(',');
    expect(parseCsv('s.csv', 'text;label\n"a; b";x\n').rows[0]!.cells).toEqual(['a; b', 'x']);
    // Read with the wrong one, the errors say which was used and which the file seems to have.
    const t = parseCsv('s.csv', 'text;label\nab;x\n', ',');
    expect(dataError(() => columnIndex(t, 'text', '--text-column')).message)
      .toBe("s.csv:1: no column \"text\" (--text-column); the header has: text;label. Split on ',' the header is one column: is the file ';'-separated? Give --delimiter ';'");
  });
  it('names ragged rows, unclosed quotes, duplicate and missing columns, header-only files', () => {
    expect(dataError(() => parseCsv('d.csv', 'a,b\n1,2\n3\n')).message).toBe('d.csv:3: row has 1 cells, expected 2 as in the header (a, b)');
    expect(dataError(() => parseCsv('d.csv', 'a,b\n1,2\n"3,4\n')).message).toBe('d.csv:3: a quoted field opened on this line is never closed');
    expect(dataError(() => parseCsv('d.csv', 'a,a\n1,2\n')).message).toMatch(/^d\.csv:1: header names column "a" twice/);
    expect(dataError(() => parseCsv('d.csv', 'a,b\n')).message).toBe('d.csv: has a header (line 1) but no rows');
    const t = parseCsv('d.csv', 'a,b\n1,2\n');
    const e = dataError(() => columnIndex(t, 'label', '--label-column'));
    expect(e.message).toBe('d.csv:1: no column "label" (--label-column); the header has: a, b');
    expect(e.field).toBe('label');
  });
  it('reads decimal cells and names the line and column of a bad one', () => {
    const t = parseCsv('p.csv', 'x,price\n1,2.5e1\n2,abc\n3,\n4,0x10\n');
    expect(numberCell(t, t.rows[0]!, 1)).toBe(25);
    const e = dataError(() => numberCell(t, t.rows[1]!, 1));
    expect(e.message).toBe('p.csv:3: column "price" must be a number, got "abc"');
    expect([e.line, e.field]).toEqual([3, 'price']);
    expect(dataError(() => numberCell(t, t.rows[2]!, 1)).message).toBe('p.csv:4: column "price" must be a number, got an empty cell');
    expect(dataError(() => numberCell(t, t.rows[3]!, 1)).message).toMatch(/^p\.csv:5: /);
  });
});
