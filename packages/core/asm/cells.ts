// The elementwise work of one time step of a recurrent cell, fused: gate nonlinearities, state
// update and outputs (forward), gate derivatives (backward), over a run of rows that are all
// active at this step, four lanes at a time. The equations and the TypeScript reference are in
// packages/core/src/kernels/cells.ts; the stack (src/cells/*.ts) handles padding rows itself
// and calls these on runs of active rows.
//
// Row strides are implied: gates G·H floats, states H floats; `out`/`dOut` rows are `ld` floats
// apart (a layer's output interleaves the directions). Addresses are in bytes, sizes in floats.
// A row whose width is not a multiple of four ends with a partial vector (loadTail/storeTail):
// nothing past a row is read or written.
import { loadTail, sigmoidv, storeTail, tanhv } from './elementwise';

@inline
function ld(p: usize, n: i32): v128 {
  return n >= 4 ? v128.load(p) : loadTail(p, n);
}

@inline
function st(p: usize, n: i32, v: v128): void {
  if (n >= 4) v128.store(p, v);
  else storeTail(p, n, v);
}

@inline
function one(): v128 {
  return f32x4.splat(1);
}

// ---- LSTM (gates i|f|g|o) ----------------------------------------------------------------------

@inline
function lstmFwd4(g: usize, HB: usize, cp: usize, c: usize, h: usize, out: usize, n: i32): void {
  const i = sigmoidv(ld(g, n));
  const f = sigmoidv(ld(g + HB, n));
  const gg = tanhv(ld(g + 2 * HB, n));
  const o = sigmoidv(ld(g + 3 * HB, n));
  st(g, n, i);
  st(g + HB, n, f);
  st(g + 2 * HB, n, gg);
  st(g + 3 * HB, n, o);
  const cn = f32x4.add(f32x4.mul(f, ld(cp, n)), f32x4.mul(i, gg));
  st(c, n, cn);
  const hn = f32x4.mul(o, tanhv(cn));
  st(h, n, hn);
  st(out, n, hn);
}

/** rows × LSTM forward: gates [rows, 4H] pre-activations in, activations out; c, h [rows, H] out. */
export function lstmForward(rows: i32, H: i32, g: usize, cp: usize, c: usize, h: usize, out: usize, ldo: i32): void {
  const HB = <usize>H << 2;
  const ldoB = <usize>ldo << 2;
  const H4 = H & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < H4; j += 4) {
      const o = <usize>j << 2;
      lstmFwd4(g + o, HB, cp + o, c + o, h + o, out + o, 4);
    }
    if (j < H) {
      const o = <usize>j << 2;
      lstmFwd4(g + o, HB, cp + o, c + o, h + o, out + o, H - j);
    }
    g += HB << 2; cp += HB; c += HB; h += HB; out += ldoB;
  }
}

@inline
function lstmBwd4(g: usize, HB: usize, cp: usize, c: usize, dOut: usize, dh: usize, dc: usize, dz: usize, n: i32): void {
  const i = ld(g, n);
  const f = ld(g + HB, n);
  const gg = ld(g + 2 * HB, n);
  const o = ld(g + 3 * HB, n);
  const tc = tanhv(ld(c, n));
  const dhT = f32x4.add(ld(dh, n), ld(dOut, n));
  const dcT = f32x4.add(ld(dc, n), f32x4.mul(f32x4.mul(dhT, o), f32x4.sub(one(), f32x4.mul(tc, tc))));
  st(dz, n, f32x4.mul(f32x4.mul(f32x4.mul(dcT, gg), i), f32x4.sub(one(), i)));
  st(dz + HB, n, f32x4.mul(f32x4.mul(f32x4.mul(dcT, ld(cp, n)), f), f32x4.sub(one(), f)));
  st(dz + 2 * HB, n, f32x4.mul(f32x4.mul(dcT, i), f32x4.sub(one(), f32x4.mul(gg, gg))));
  st(dz + 3 * HB, n, f32x4.mul(f32x4.mul(f32x4.mul(dhT, tc), o), f32x4.sub(one(), o)));
  st(dc, n, f32x4.mul(dcT, f));
  st(dh, n, f32x4.splat(0));
}

/** rows × LSTM backward: dz [rows, 4H] out; dh, dc [rows, H] in/out (dh leaves as 0). */
export function lstmBackward(
  rows: i32, H: i32, g: usize, cp: usize, c: usize, dOut: usize, ldd: i32, dh: usize, dc: usize, dz: usize,
): void {
  const HB = <usize>H << 2;
  const lddB = <usize>ldd << 2;
  const H4 = H & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < H4; j += 4) {
      const o = <usize>j << 2;
      lstmBwd4(g + o, HB, cp + o, c + o, dOut + o, dh + o, dc + o, dz + o, 4);
    }
    if (j < H) {
      const o = <usize>j << 2;
      lstmBwd4(g + o, HB, cp + o, c + o, dOut + o, dh + o, dc + o, dz + o, H - j);
    }
    g += HB << 2; dz += HB << 2; cp += HB; c += HB; dh += HB; dc += HB; dOut += lddB;
  }
}

// ---- Elman RNN (tanh or relu) ------------------------------------------------------------------

@inline
function rnnFwd4(relu: i32, z: usize, h: usize, out: usize, n: i32): void {
  const x = ld(z, n);
  // relu: x where x > 0, else 0 (NaN too, as the reference's `!(x > 0)` test does).
  const a = relu ? v128.bitselect(x, f32x4.splat(0), f32x4.gt(x, f32x4.splat(0))) : tanhv(x);
  st(z, n, a);
  st(h, n, a);
  st(out, n, a);
}

/** rows × RNN forward: z [rows, H] pre-activations in, activations out; h [rows, H] out. */
export function rnnForward(relu: i32, rows: i32, H: i32, z: usize, h: usize, out: usize, ldo: i32): void {
  const HB = <usize>H << 2;
  const ldoB = <usize>ldo << 2;
  const H4 = H & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < H4; j += 4) {
      const o = <usize>j << 2;
      rnnFwd4(relu, z + o, h + o, out + o, 4);
    }
    if (j < H) {
      const o = <usize>j << 2;
      rnnFwd4(relu, z + o, h + o, out + o, H - j);
    }
    z += HB; h += HB; out += ldoB;
  }
}

@inline
function rnnBwd4(relu: i32, h: usize, dOut: usize, dh: usize, dz: usize, n: i32): void {
  const g = f32x4.add(ld(dh, n), ld(dOut, n));
  const v = ld(h, n);
  const d = relu
    ? v128.and(g, f32x4.gt(v, f32x4.splat(0)))
    : f32x4.mul(g, f32x4.sub(one(), f32x4.mul(v, v)));
  st(dz, n, d);
  st(dh, n, f32x4.splat(0));
}

/** rows × RNN backward: dz [rows, H] out; dh [rows, H] in, left 0. h: this step's new state. */
export function rnnBackward(relu: i32, rows: i32, H: i32, h: usize, dOut: usize, ldd: i32, dh: usize, dz: usize): void {
  const HB = <usize>H << 2;
  const lddB = <usize>ldd << 2;
  const H4 = H & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < H4; j += 4) {
      const o = <usize>j << 2;
      rnnBwd4(relu, h + o, dOut + o, dh + o, dz + o, 4);
    }
    if (j < H) {
      const o = <usize>j << 2;
      rnnBwd4(relu, h + o, dOut + o, dh + o, dz + o, H - j);
    }
    h += HB; dz += HB; dh += HB; dOut += lddB;
  }
}

// ---- GRU (gates r|z|n) ---------------------------------------------------------------------------

@inline
function gruFwd4(gx: usize, gh: usize, HB: usize, hn: usize, hp: usize, h: usize, out: usize, n: i32): void {
  const r = sigmoidv(f32x4.add(ld(gx, n), ld(gh, n)));
  const z = sigmoidv(f32x4.add(ld(gx + HB, n), ld(gh + HB, n)));
  const a = ld(gh + 2 * HB, n);
  const nn = tanhv(f32x4.add(ld(gx + 2 * HB, n), f32x4.mul(r, a)));
  st(gx, n, r);
  st(gx + HB, n, z);
  st(gx + 2 * HB, n, nn);
  st(hn, n, a);
  const v = f32x4.add(f32x4.mul(f32x4.sub(one(), z), nn), f32x4.mul(z, ld(hp, n)));
  st(h, n, v);
  st(out, n, v);
}

/** rows × GRU forward: gx [rows, 3H] input side in, r|z|n out; gh [rows, 3H] recurrent side; hn, h [rows, H] out. */
export function gruForward(rows: i32, H: i32, gx: usize, gh: usize, hn: usize, hp: usize, h: usize, out: usize, ldo: i32): void {
  const HB = <usize>H << 2;
  const ldoB = <usize>ldo << 2;
  const H4 = H & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < H4; j += 4) {
      const o = <usize>j << 2;
      gruFwd4(gx + o, gh + o, HB, hn + o, hp + o, h + o, out + o, 4);
    }
    if (j < H) {
      const o = <usize>j << 2;
      gruFwd4(gx + o, gh + o, HB, hn + o, hp + o, h + o, out + o, H - j);
    }
    gx += 3 * HB; gh += 3 * HB; hn += HB; hp += HB; h += HB; out += ldoB;
  }
}

@inline
function gruBwd4(g: usize, HB: usize, hn: usize, hp: usize, dOut: usize, dh: usize, dzx: usize, dzh: usize, n: i32): void {
  const r = ld(g, n);
  const z = ld(g + HB, n);
  const nn = ld(g + 2 * HB, n);
  const dhT = f32x4.add(ld(dh, n), ld(dOut, n));
  const dan = f32x4.mul(f32x4.mul(dhT, f32x4.sub(one(), z)), f32x4.sub(one(), f32x4.mul(nn, nn)));
  const dar = f32x4.mul(f32x4.mul(f32x4.mul(dan, ld(hn, n)), r), f32x4.sub(one(), r));
  const daz = f32x4.mul(f32x4.mul(f32x4.mul(dhT, f32x4.sub(ld(hp, n), nn)), z), f32x4.sub(one(), z));
  st(dzx, n, dar);
  st(dzx + HB, n, daz);
  st(dzx + 2 * HB, n, dan);
  st(dzh, n, dar);
  st(dzh + HB, n, daz);
  st(dzh + 2 * HB, n, f32x4.mul(dan, r));
  st(dh, n, f32x4.mul(dhT, z));
}

/** rows × GRU backward: dzx, dzh [rows, 3H] out; dh [rows, H] in/out (leaves z·dL/dh'). */
export function gruBackward(
  rows: i32, H: i32, g: usize, hn: usize, hp: usize, dOut: usize, ldd: i32, dh: usize, dzx: usize, dzh: usize,
): void {
  const HB = <usize>H << 2;
  const lddB = <usize>ldd << 2;
  const H4 = H & ~3;
  for (let r = 0; r < rows; r++) {
    let j = 0;
    for (; j < H4; j += 4) {
      const o = <usize>j << 2;
      gruBwd4(g + o, HB, hn + o, hp + o, dOut + o, dh + o, dzx + o, dzh + o, 4);
    }
    if (j < H) {
      const o = <usize>j << 2;
      gruBwd4(g + o, HB, hn + o, hp + o, dOut + o, dh + o, dzx + o, dzh + o, H - j);
    }
    g += 3 * HB; dzx += 3 * HB; dzh += 3 * HB; hn += HB; hp += HB; dh += HB; dOut += lddB;
  }
}
