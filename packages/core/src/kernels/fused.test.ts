// The WebAssembly row kernels (asm/rows.ts) and fused cell kernels (asm/cells.ts) against their
// TypeScript references (rows.ts, cells.ts: the oracle), on odd widths (partial vectors),
// strided output rows and offsets; plus the fallback for arrays outside the arena and the
// bounds checks that keep a bad window from reaching WebAssembly.
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { referenceKernels as R, setKernels } from './index.js';
import { createSharedMemory, detachMemory, allocF32In, arenaAlloc } from './memory.js';
import { loadWasmKernels } from './wasm.js';

const U = 2 ** -24; // unit roundoff of float32

afterAll(() => {
  setKernels(R);
  detachMemory();
});

const memory = createSharedMemory(64);
const W = loadWasmKernels(memory);

/** A random array in the arena, and its heap copy. */
function pair(rng: Rng, n: number, lo = -1, hi = 1): [Float32Array, Float32Array] {
  const a = allocF32In(memory, n);
  for (let i = 0; i < n; i++) a[i] = rng.range(lo, hi);
  return [a, a.slice()];
}

function i32In(n: number): Int32Array {
  const at = arenaAlloc(memory, 4 * n); // before reading memory.buffer: the allocation may grow it
  return new Int32Array(memory.buffer, at, n);
}

/** |fast − ref| ≤ tol·(1 + |ref|) everywhere, and equal (NaN-aware) where tol is 0. */
function expectNear(fast: Float32Array, ref: Float32Array, tol: number, name: string): void {
  expect(fast.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(fast[i]! - ref[i]!);
    if (tol === 0 ? !Object.is(fast[i], ref[i]) : !(err <= tol * (1 + Math.abs(ref[i]!)))) {
      throw new Error(`${name}[${i}]: wasm ${fast[i]} reference ${ref[i]} (tolerance ${tol})`);
    }
  }
}

// Widths around the 4-lane vectors, and the sizes the row loops block by (32 columns).
const WIDTHS = [1, 2, 3, 4, 5, 7, 8, 13, 32, 37, 64];

describe('wasm row kernels vs reference', () => {
  it('fillRows, with and without a second bias (exact: one float32 add)', () => {
    const rng = new Rng(1);
    for (const n of WIDTHS) {
      for (const two of [false, true]) {
        const rows = 1 + rng.int(5);
        const xo = rng.int(4), bo = rng.int(4), b2o = rng.int(4);
        const [x, xr] = pair(rng, xo + rows * n + 3);
        const [b, br] = pair(rng, bo + n);
        const [b2, b2r] = pair(rng, b2o + n);
        const before = W.calls.wasm;
        W.fillRows(x, xo, rows, n, b, bo, two ? b2 : null, b2o);
        expect(W.calls.wasm).toBe(before + 1);
        R.fillRows(xr, xo, rows, n, br, bo, two ? b2r : null, b2o);
        expectNear(x, xr, 0, `fillRows n=${n}`);
      }
    }
  });

  it('sumRows gives the reference bits (same float32 order, row after row)', () => {
    const rng = new Rng(2);
    for (const n of [...WIDTHS, 96, 512]) {
      const rows = 1 + rng.int(70);
      const dbo = rng.int(4), dzo = rng.int(4);
      const [db, dbr] = pair(rng, dbo + n + 2);
      const [dz, dzr] = pair(rng, dzo + rows * n, -100, 100);
      W.sumRows(db, dbo, dz, dzo, rows, n);
      R.sumRows(dbr, dbo, dzr, dzo, rows, n);
      expectNear(db, dbr, 0, `sumRows n=${n} rows=${rows}`);
    }
  });

  it('sumRows with rows ld apart (the shard slots) gives the reference bits, and the reference sums those rows', () => {
    const rng = new Rng(21);
    for (const n of [1, 5, 31, 32, 33, 100, 4096]) {
      const rows = 1 + rng.int(16);
      const ld = n + rng.int(40);
      const dbo = rng.int(4), dzo = rng.int(4);
      const [db, dbr] = pair(rng, dbo + n + 2);
      const [dz, dzr] = pair(rng, dzo + (rows - 1) * ld + n, -100, 100);
      const want = db.slice();
      for (let r = 0; r < rows; r++) for (let j = 0; j < n; j++) want[dbo + j] = Math.fround(want[dbo + j]! + dz[dzo + r * ld + j]!);
      W.sumRows(db, dbo, dz, dzo, rows, n, ld);
      R.sumRows(dbr, dbo, dzr, dzo, rows, n, ld);
      expectNear(db, dbr, 0, `sumRows n=${n} rows=${rows} ld=${ld}`);
      expectNear(dbr, want, 0, `reference sumRows n=${n} rows=${rows} ld=${ld}`);
    }
    const [db] = pair(rng, 8);
    const [dz] = pair(rng, 3 * 8);
    expect(() => W.sumRows(db, 0, dz, 0, 3, 8, 9)).toThrow(/sumRows: dz needs \[0, 0\+26\)/);
    expect(() => W.sumRows(db, 0, dz, 0, 3, 8, 7)).toThrow(/sumRows: ld must be an integer >= n = 8, got 7/);
  });

  it('gatherRows and scatterAddRows (exact), repeated ids included', () => {
    const rng = new Rng(3);
    for (const n of WIDTHS) {
      const V = 1 + rng.int(6);
      const rows = 1 + rng.int(20);
      const ids = i32In(rows);
      for (let r = 0; r < rows; r++) ids[r] = rng.int(V);
      const [table, tr] = pair(rng, 2 + V * n);
      const [x, xr] = pair(rng, 1 + rows * n);
      W.gatherRows(x, 1, rows, n, table, 2, ids, 0);
      R.gatherRows(xr, 1, rows, n, tr, 2, ids, 0);
      expectNear(x, xr, 0, `gatherRows n=${n}`);
      W.scatterAddRows(table, 2, n, ids, 0, rows, x, 1);
      R.scatterAddRows(tr, 2, n, ids, 0, rows, xr, 1);
      expectNear(table, tr, 0, `scatterAddRows n=${n}`);
    }
  });

  it('accumulate (exact: float32 adds in any order of elements)', () => {
    const rng = new Rng(6);
    for (const n of [1, 3, 15, 16, 17, 100, 4096]) {
      const [d, dr] = pair(rng, n + 5);
      const [s, sr] = pair(rng, n + 3, -1e3, 1e3);
      W.accumulate(d, 2, s, 1, n);
      R.accumulate(dr, 2, sr, 1, n);
      expectNear(d, dr, 0, `accumulate n=${n}`);
    }
  });

  it('zero: exactly the window, the floats either side untouched; outside the arena, the reference', () => {
    const rng = new Rng(8);
    const before = W.calls.wasm;
    for (const n of [1, 3, 31, 32, 100, 4096, 5000]) {
      const [d, dr] = pair(rng, n + 5);
      W.zero(d, 2, n);
      R.zero(dr, 2, n);
      expectNear(d, dr, 0, `zero n=${n}`);
      expect(d[1]).not.toBe(0);
      expect(d[2 + n]).not.toBe(0);
      expect(Array.from(d.subarray(2, 2 + n)).every((x) => Object.is(x, 0))).toBe(true);
    }
    expect(W.calls.wasm - before).toBe(7);
    const heap = Float32Array.from({ length: 40 }, () => 1);
    const refBefore = W.calls.reference;
    W.zero(heap, 3, 30);
    expect(W.calls.reference - refBefore).toBe(1);
    expect(Array.from(heap)).toEqual([1, 1, 1, ...new Array(30).fill(0), ...new Array(7).fill(1)]);
    const [x] = pair(rng, 8);
    expect(() => W.zero(x, 4, 5)).toThrow(/zero: dst needs \[4, 4\+5\) inside its 8 values/);
  });

  it('transpose (exact), every shape around the 4×4 blocks', () => {
    const rng = new Rng(7);
    for (const rows of [1, 3, 4, 5, 8, 9]) {
      for (const cols of [1, 2, 4, 6, 12, 13]) {
        const ldd = rows + rng.int(3);
        const [s, sr] = pair(rng, 2 + rows * cols);
        const [d, dr] = pair(rng, 1 + cols * ldd + 2);
        W.transpose(d, 1, ldd, s, 2, rows, cols);
        R.transpose(dr, 1, ldd, sr, 2, rows, cols);
        expectNear(d, dr, 0, `transpose ${rows}×${cols} ldd ${ldd}`); // the padding columns too: untouched
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) expect(d[1 + c * ldd + r]).toBe(s[2 + r * cols + c]);
      }
    }
    const [x] = pair(rng, 16);
    expect(() => W.transpose(x, 2, 2, x, 0, 2, 2)).toThrow(/transpose: dst must not overlap src/);
    // The same floats through a view made after the memory grew (another buffer object): still an overlap.
    const small = createSharedMemory(1, 64);
    const Ws = loadWasmKernels(small);
    const early = allocF32In(small, 16);
    allocF32In(small, 16384 * 2); // grow
    const late = new Float32Array(small.buffer, early.byteOffset, 16);
    expect(late.buffer).not.toBe(early.buffer);
    expect(() => Ws.transpose(late, 2, 2, early, 0, 2, 2)).toThrow(/transpose: dst must not overlap src/);
    expect(() => W.transpose(x, 0, 1, x, 8, 2, 2)).toThrow(/transpose: ldd \(1\) must be an integer ≥ rows \(2\)/);
  });

  it('rejects ids outside the table and windows outside an array, before touching memory', () => {
    const rng = new Rng(4);
    const ids = i32In(3);
    ids.set([0, 3, 1]);
    const [table] = pair(rng, 3 * 4);
    const [x] = pair(rng, 3 * 4);
    const snapshot = x.slice();
    expect(() => W.gatherRows(x, 0, 3, 4, table, 0, ids, 0)).toThrow(/gatherRows: ids\[1\] = 3 is not a row of the 3-row table/);
    expect(() => W.scatterAddRows(table, 0, 4, ids, 0, 3, x, 0)).toThrow(/scatterAddRows: ids\[1\] = 3/);
    expect(() => W.fillRows(x, 1, 3, 4, table, 0, null, 0)).toThrow(/fillRows: x needs \[1, 1\+12\) inside its 12 values/);
    expect(() => W.sumRows(x, 10, table, 0, 3, 4)).toThrow(/sumRows: db needs/);
    expect(x).toEqual(snapshot);
  });

  it('falls back to the reference (same bits) when an operand is not in the arena', () => {
    const rng = new Rng(5);
    const x = new Float32Array(12);
    const b = new Float32Array(4).map(() => rng.range(-1, 1));
    const before = W.calls.reference;
    W.fillRows(x, 0, 3, 4, b, 0, null, 0);
    expect(W.calls.reference).toBe(before + 1);
    for (let i = 0; i < 12; i++) expect(x[i]).toBe(b[i % 4]);
  });
});

// Cells: the wasm nonlinearities are within a few ulp of the exact values, so results agree
// with the float64-based reference to a few ulp of the values involved (all O(1) here); a
// wrong gate, row or stride gives errors of order 0.1.
const CELL_TOL = 64 * U;

interface Strides { rows: number; H: number; ldo: number; off: number }

function cellCases(rng: Rng): Strides[] {
  const out: Strides[] = [];
  for (const H of [1, 2, 3, 4, 5, 7, 8, 12, 33]) {
    for (const rows of [1, 3]) out.push({ rows, H, ldo: rng.int(2) ? H : 2 * H + 1, off: rng.int(3) });
  }
  return out;
}

describe('wasm cell kernels vs reference', () => {
  it('lstmForward / lstmBackward', () => {
    const rng = new Rng(10);
    for (const { rows, H, ldo, off } of cellCases(rng)) {
      const n = rows * H;
      const span = (rows - 1) * ldo + H;
      const [g, gr] = pair(rng, off + 4 * n, -4, 4);
      const [cp, cpr] = pair(rng, off + n);
      const [c, cr] = pair(rng, off + n);
      const [h, hr] = pair(rng, off + n);
      const [out, outr] = pair(rng, off + span + 1);
      W.lstmForward(rows, H, g, off, cp, off, c, off, h, off, out, off, ldo);
      R.lstmForward(rows, H, gr, off, cpr, off, cr, off, hr, off, outr, off, ldo);
      const name = `lstm rows=${rows} H=${H} ldo=${ldo}`;
      expectNear(g, gr, CELL_TOL, `${name} gates`);
      expectNear(c, cr, CELL_TOL, `${name} c`);
      expectNear(h, hr, CELL_TOL, `${name} h`);
      expectNear(out, outr, CELL_TOL, `${name} out`); // includes the columns between rows: untouched

      // Backward from the same saved state (the reference's), so only backward differs.
      g.set(gr);
      c.set(cr);
      const [dOut, dOutr] = pair(rng, off + span);
      const [dh, dhr] = pair(rng, off + n);
      const [dc, dcr] = pair(rng, off + n);
      const [dz, dzr] = pair(rng, off + 4 * n);
      W.lstmBackward(rows, H, g, off, cp, off, c, off, dOut, off, ldo, dh, off, dc, off, dz, off);
      R.lstmBackward(rows, H, gr, off, cpr, off, cr, off, dOutr, off, ldo, dhr, off, dcr, off, dzr, off);
      expectNear(dz, dzr, CELL_TOL, `${name} dz`);
      expectNear(dc, dcr, CELL_TOL, `${name} dc`);
      expectNear(dh, dhr, 0, `${name} dh`);
    }
  });

  for (const relu of [false, true]) {
    it(`rnnForward / rnnBackward (${relu ? 'relu' : 'tanh'})`, () => {
      const rng = new Rng(relu ? 11 : 12);
      for (const { rows, H, ldo, off } of cellCases(rng)) {
        const n = rows * H;
        const span = (rows - 1) * ldo + H;
        const [z, zr] = pair(rng, off + n, -3, 3);
        const [h, hr] = pair(rng, off + n);
        const [out, outr] = pair(rng, off + span + 1);
        W.rnnForward(relu, rows, H, z, off, h, off, out, off, ldo);
        R.rnnForward(relu, rows, H, zr, off, hr, off, outr, off, ldo);
        const name = `rnn rows=${rows} H=${H} ldo=${ldo}`;
        expectNear(z, zr, relu ? 0 : CELL_TOL, `${name} z`);
        expectNear(h, hr, relu ? 0 : CELL_TOL, `${name} h`);
        expectNear(out, outr, relu ? 0 : CELL_TOL, `${name} out`);
        h.set(hr);
        const [dOut, dOutr] = pair(rng, off + span);
        const [dh, dhr] = pair(rng, off + n);
        const [dz, dzr] = pair(rng, off + n);
        W.rnnBackward(relu, rows, H, h, off, dOut, off, ldo, dh, off, dz, off);
        R.rnnBackward(relu, rows, H, hr, off, dOutr, off, ldo, dhr, off, dzr, off);
        expectNear(dz, dzr, CELL_TOL, `${name} dz`);
        expectNear(dh, dhr, 0, `${name} dh`);
      }
    });
  }

  it('rnnForward relu maps NaN to 0 as the reference does; tanh keeps NaN', () => {
    const z = allocF32In(memory, 4);
    const h = allocF32In(memory, 4);
    const out = allocF32In(memory, 4);
    z.set([NaN, -1, 2, 0]);
    W.rnnForward(true, 1, 4, z, 0, h, 0, out, 0, 4);
    expect([...h]).toEqual([0, 0, 2, 0]);
    z.set([NaN, -1, 2, 0]);
    W.rnnForward(false, 1, 4, z, 0, h, 0, out, 0, 4);
    expect(h[0]).toBeNaN();
  });

  it('gruForward / gruBackward', () => {
    const rng = new Rng(13);
    for (const { rows, H, ldo, off } of cellCases(rng)) {
      const n = rows * H;
      const span = (rows - 1) * ldo + H;
      const [gx, gxr] = pair(rng, off + 3 * n, -3, 3);
      const [gh, ghr] = pair(rng, off + 3 * n, -3, 3);
      const [hn, hnr] = pair(rng, off + n);
      const [hp, hpr] = pair(rng, off + n);
      const [h, hr] = pair(rng, off + n);
      const [out, outr] = pair(rng, off + span + 1);
      W.gruForward(rows, H, gx, off, gh, off, hn, off, hp, off, h, off, out, off, ldo);
      R.gruForward(rows, H, gxr, off, ghr, off, hnr, off, hpr, off, hr, off, outr, off, ldo);
      const name = `gru rows=${rows} H=${H} ldo=${ldo}`;
      expectNear(gx, gxr, CELL_TOL, `${name} gates`);
      expectNear(gh, ghr, 0, `${name} gh (read only)`);
      expectNear(hn, hnr, 0, `${name} hn`);
      expectNear(h, hr, CELL_TOL, `${name} h`);
      expectNear(out, outr, CELL_TOL, `${name} out`);
      gx.set(gxr);
      const [dOut, dOutr] = pair(rng, off + span);
      const [dh, dhr] = pair(rng, off + n);
      const [dzx, dzxr] = pair(rng, off + 3 * n);
      const [dzh, dzhr] = pair(rng, off + 3 * n);
      W.gruBackward(rows, H, gx, off, hn, off, hp, off, dOut, off, ldo, dh, off, dzx, off, dzh, off);
      R.gruBackward(rows, H, gxr, off, hnr, off, hpr, off, dOutr, off, ldo, dhr, off, dzxr, off, dzhr, off);
      expectNear(dzx, dzxr, CELL_TOL, `${name} dzx`);
      expectNear(dzh, dzhr, CELL_TOL, `${name} dzh`);
      expectNear(dh, dhr, CELL_TOL, `${name} dh`);
    }
  });

  it('checks every window of a cell kernel against its array before running', () => {
    const g = allocF32In(memory, 16);
    const s = allocF32In(memory, 4);
    const out = allocF32In(memory, 4);
    // out rows 8 apart: 2 rows of H = 2 need 8 + 2 floats; out has 4.
    expect(() => W.lstmForward(2, 2, g, 0, s, 0, s, 0, s, 0, out, 0, 8)).toThrow(/lstmForward: out needs \[0, 0\+10\) inside its 4 values/);
    expect(() => W.rnnBackward(false, 1, 4, s, 1, s, 0, 4, s, 0, s, 0)).toThrow(/rnnBackward: h needs \[1, 1\+4\)/);
  });
});
