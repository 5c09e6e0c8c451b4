// Gate nonlinearities in place over float32 memory, four lanes at a time.
//
// The per-step gate work of a recurrent cell (sigmoid and tanh over B×G·H values) costs about
// as much as the recurrent product itself when done with Math.exp in JavaScript, so it gets its
// own SIMD path. exp is Cephes' expf (range reduction by ln 2, degree-5 polynomial, 2ⁿ by
// adding n to the exponent bits): within 2 ulp of the exact value over the clamped range. No
// standard-library Math here: its tables would become data segments in the shared memory.
// NaN propagates (the clamp keeps it, the arithmetic carries it), so a diverging run is still caught downstream.

const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375; // ln 2 = LN2_HI + LN2_LO, LN2_HI exact in few bits
const LN2_LO: f32 = -2.12194440e-4;
// exp(x) for x in [EXP_LO, EXP_HI] stays a normal float and 2ⁿ·p needs no special cases.
const EXP_LO: f32 = -86.5;
const EXP_HI: f32 = 88.0;

// 1.5·2²³: adding it rounds a float of magnitude < 2²² to an integer held in the low mantissa
// bits, which is both the rounded value (after subtracting it back) and, shifted left by 23,
// the exponent increment 2ⁿ (cheaper in V8 than nearest + trunc_sat).
const ROUND_MAGIC: f32 = 12582912.0;

@inline
export function expv(x: v128): v128 {
  // pmin/pmax (one instruction each) return their first operand when it is NaN.
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(EXP_HI)), f32x4.splat(EXP_LO));
  const nm = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const n = f32x4.sub(nm, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  // The polynomial by Estrin's scheme, p = (c5 + c4 r) + r²(c3 + c2 r) + r⁴(c1 + c0 r): three
  // levels of dependent operations instead of Horner's five. A cell step applies these to one
  // vector after another, so the length of this chain, not the operation count, sets the pace.
  const r2 = f32x4.mul(r, r);
  const q0 = f32x4.add(f32x4.mul(f32x4.splat(1.6666665459e-1), r), f32x4.splat(5.0000001201e-1));
  const q1 = f32x4.add(f32x4.mul(f32x4.splat(8.3334519073e-3), r), f32x4.splat(4.1665795894e-2));
  const q2 = f32x4.add(f32x4.mul(f32x4.splat(1.9875691500e-4), r), f32x4.splat(1.3981999507e-3));
  const p = f32x4.add(f32x4.add(q0, f32x4.mul(q1, r2)), f32x4.mul(q2, f32x4.mul(r2, r2)));
  const e = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  return i32x4.add(e, i32x4.shl(nm, 23));
}

@inline
export function sigmoidv(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
}

// |tanh(x)| = 1 − 2/(e^{2|x|} + 1) for |x| ≥ 0.625; below, where that form cancels, Cephes'
// odd polynomial |x| + |x|³·P(x²). Then the sign of x (so tanh(−0) = −0, NaN stays NaN).
@inline
export function tanhv(x: v128): v128 {
  const ax = f32x4.abs(x);
  const one = f32x4.splat(1);
  const big = f32x4.sub(one, f32x4.div(f32x4.splat(2), f32x4.add(expv(f32x4.add(ax, ax)), one)));
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), ax), ax);
  const t = v128.bitselect(small, big, f32x4.lt(ax, f32x4.splat(0.625)));
  return v128.or(t, v128.and(x, f32x4.splat(-0.0)));
}

/** The last n < 4 floats at p as lanes 0..n-1 of a vector (the rest 0). */
@inline
export function loadTail(p: usize, n: i32): v128 {
  let v = f32x4.replace_lane(f32x4.splat(0), 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

@inline
export function storeTail(p: usize, n: i32, v: v128): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (n > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (n > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** x[0..n) = σ(x), x a byte address. */
export function sigmoid(x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(x, sigmoidv(v128.load(x)));
    x += 16;
  }
  if (i < n) storeTail(x, n - i, sigmoidv(loadTail(x, n - i)));
}

/** x[0..n) = tanh(x), x a byte address. */
export function tanh(x: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    v128.store(x, tanhv(v128.load(x)));
    x += 16;
  }
  if (i < n) storeTail(x, n - i, tanhv(loadTail(x, n - i)));
}
