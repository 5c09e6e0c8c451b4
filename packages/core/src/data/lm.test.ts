import { join } from 'node:path';
import { validateDataset, type SequenceDataset } from './dataset.js';
import { describe, expect, it } from 'vitest';
import { DataError } from './errors.js';
import { loadLm, loadLmEval } from './lm.js';
import { Vocab } from './vocab.js';
import { tempFiles } from './testkit.js';

const { dir, file } = tempFiles('weft-lm-');
const row = (d: SequenceDataset, which: 'inputs' | 'targets', r: number, v: Vocab): string =>
  v.decodeText(d[which].subarray(r * d.maxSteps, (r + 1) * d.maxSteps));

// 1000 characters whose every 10-character window is distinct, so a misplaced window shows.
const text = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(3, '0')}${'abcdefghij'[i % 10]} `).join('');

describe('loadLm', () => {
  it('lays windows out as documented: row w·B + b is window w of stream b, targets shifted by one', () => {
    const { train, valid, meta, trainLayout, validLayout } = loadLm(file('t.txt', text), { seqLen: 7, streams: 4, validFraction: 0.2 });
    validateDataset(train);
    validateDataset(valid!);
    const v = Vocab.fromJSON(meta.vocab);
    expect(meta.vocab.symbols.join('')).toBe([...new Set(text)].sort().join(''));
    const trainText = text.slice(0, 800);
    const S = Math.floor(799 / 4);
    expect(trainLayout).toEqual({ streams: 4, windows: Math.floor(S / 7), seqLen: 7, streamLength: S });
    expect(train.count).toBe(4 * trainLayout.windows);
    expect(train.targetKind).toBe('class-per-step');
    expect(train.outputSize).toBe(v.size);
    for (let w = 0; w < trainLayout.windows; w++) {
      for (let b = 0; b < 4; b++) {
        const start = b * S + w * 7;
        expect(row(train, 'inputs', w * 4 + b, v)).toBe(trainText.slice(start, start + 7));
        expect(row(train, 'targets', w * 4 + b, v)).toBe(trainText.slice(start + 1, start + 8));
      }
    }
    // Carried state is right: window w of stream b starts where window w - 1 of stream b ended.
    for (let r = 4; r < train.count; r++) {
      expect(row(train, 'inputs', r, v)[0]).toBe(row(train, 'targets', r - 4, v)[6]);
    }
    // Validation: the tail, never overlapping the training part.
    const Sv = Math.floor(199 / 4);
    expect(validLayout).toEqual({ streams: 4, windows: Math.floor(Sv / 7), seqLen: 7, streamLength: Sv });
    expect(row(valid!, 'inputs', 1, v)).toBe(text.slice(800 + Sv, 800 + Sv + 7));
  });
  it('uses fewer streams when the text is short and reads CRLF as LF', () => {
    const { train, valid, trainLayout } = loadLm(file('s.txt', 'ab\r\ncd\r\nef\r\ngh\r\n'), { seqLen: 5, streams: 8, validFraction: 0 });
    expect(valid).toBeUndefined();
    expect(trainLayout.streams).toBe(2); // 12 characters: floor(11 / 5) = 2 windows fit
    expect(train.count).toBe(2);
  });
  it('names the part that is too short for one window', () => {
    const f = file('short.txt', 'x'.repeat(100));
    expect(() => loadLm(f, { seqLen: 20, validFraction: 0.1 })).toThrow(DataError);
    expect(() => loadLm(f, { seqLen: 20, validFraction: 0.1 })).toThrow(`${f}: the validation part (the last 10%) has 10 characters, fewer than one window of seqLen + 1 = 21`);
    expect(() => loadLm(join(dir, 'nope.txt'))).toThrow(`${join(dir, 'nope.txt')}: no such file`);
    expect(() => loadLm(file('empty.txt', ''))).toThrow(/empty\.txt: file is empty/);
    expect(() => loadLm(f, { seqLen: 0 })).toThrow(/seqLen \(--seq-len\) must be a positive integer/);
  });
  it('evaluation uses the training vocabulary; unseen characters are UNK', () => {
    const { meta } = loadLm(file('t2.txt', text), { seqLen: 7, streams: 2 });
    const { dataset, layout } = loadLmEval(file('e.txt', '001a Z 002b '), meta, { streams: 1 });
    const v = Vocab.fromJSON(meta.vocab);
    expect(layout.streams).toBe(1);
    expect(row(dataset, 'inputs', 0, v)).toBe('001a \uFFFD ');
  });
});
