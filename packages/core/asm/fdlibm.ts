// exp and log in float64 that give the SAME BITS as JavaScript's Math.exp and Math.log in V8
// (Node), so the loss kernels match their TypeScript reference exactly: V8 computes both with
// fdlibm's e_exp.c and e_log.c, and these follow the same algorithms with the same constants
// and the same order of IEEE operations (each of which rounds identically in JS and wasm).
// kernels/fdlibm.test.ts checks the claim against Math.exp / Math.log on millions of inputs.
//
// The algorithms and constants are fdlibm's:
//   Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
//   Developed at SunSoft, a Sun Microsystems, Inc. business.
//   Permission to use, copy, modify, and distribute this software is freely granted,
//   provided that this notice is preserved.
//
// No tables (the module must hold no data segment: asm/index.ts says why).

// exp: x = k·ln2 + r with |r| ≤ ln2/2, ln2 split in a hi part (k·LN2_HI exact) and a lo part;
// exp(r) = 1 + r + r·c/(2 − c) with c = r − r²·P(r²), then the result scaled by 2^k.
const LN2_HI: f64 = 6.93147180369123816490e-01; // 0x3FE62E42 FEE00000
const LN2_LO: f64 = 1.90821492927058770002e-10; // 0x3DEA39EF 35793C76
const INVLN2: f64 = 1.44269504088896338700e+00; // 0x3FF71547 652B82FE
const P1: f64 = 1.66666666666666019037e-01;
const P2: f64 = -2.77777777770155933842e-03;
const P3: f64 = 6.61375632143793436117e-05;
const P4: f64 = -1.65339022054652515390e-06;
const P5: f64 = 4.13813679705723846039e-08;
const O_THRESHOLD: f64 = 7.09782712893383973096e+02; // above: overflow
const U_THRESHOLD: f64 = -7.45133219101941108420e+02; // below: underflow to 0
const TWOM1000: f64 = 9.33263618503218878990e-302; // 2^-1000
const TWO1023: f64 = 8.988465674311579539e307; // 2^1023
// V8 returns Math.E for exp(1) (the formula is one ulp off there).
const E: f64 = 2.718281828459045;

/** 2^k as a double, for -1022 < k + bias < 2047 (the caller's ranges). */
@inline function pow2(k: i32): f64 {
  return reinterpret<f64>(<u64>(<u32>(0x3FF00000 + (k << 20))) << 32);
}

/** Math.exp(x), bit for bit. */
export function expF64(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let hx = <u32>(bits >> 32);
  const neg = <i32>(hx >> 31);
  hx &= 0x7FFFFFFF; // high word of |x|
  if (hx >= 0x40862E42) { // |x| ≥ 709.78: overflow, underflow, inf, NaN
    if (hx >= 0x7FF00000) {
      if (((hx & 0xFFFFF) | <u32>bits) != 0) return x + x; // NaN
      return neg ? 0.0 : x; // exp(±inf) = inf, 0
    }
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0.0;
  }
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx > 0x3FD62E42) { // |x| > ln2/2: reduce
    if (hx < 0x3FF0A2B2) { // and |x| < 1.5·ln2: k = ±1
      if (x == 1.0) return E;
      hi = neg ? x + LN2_HI : x - LN2_HI;
      lo = neg ? -LN2_LO : LN2_LO;
      k = neg ? -1 : 1;
    } else {
      k = <i32>(INVLN2 * x + (neg ? -0.5 : 0.5));
      const t = <f64>k;
      hi = x - t * LN2_HI; // exact
      lo = t * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3E300000) { // |x| < 2^-28
    return 1.0 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1.0 - ((x * c) / (c - 2.0) - x);
  const y = 1.0 - ((lo - (x * c) / (2.0 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * TWO1023;
    return y * pow2(k);
  }
  return y * pow2(k + 1000) * TWOM1000; // subnormal result: scale in two steps
}

// The vector form covers |x| < EXPV_LIMIT, where 2^k is a normal number and k ≠ 1024; the caller
// sends other lanes (and NaN) to expF64.
export const EXPV_LIMIT: f64 = 708.0;
// |x| below this (high word ≤ 0x3FD62E42): no reduction, k = 0.
const REDUCE_MIN: f64 = reinterpret<f64>(0x3FD62E4300000000);
// |x| below 2^-28: exp(x) = 1 + x.
const TINY: f64 = reinterpret<f64>(0x3E30000000000000);
// 1.5·2^52: adding it to an integer-valued double below 2^51 puts the integer in the low bits.
const MAGIC: f64 = 6755399441055744.0;

/**
 * expF64 on both lanes, for |x| < EXPV_LIMIT: the same operations, so the same bits. Where
 * expF64 branches, every branch is computed and selected, or folded into the general one:
 * for ln2/2 < |x| < 1.5·ln2 the general reduction computes the same k = ±1, hi and lo; with
 * k = 0 (hi = x, lo = 0) the general final formula is the k = 0 one with an exact negation.
 */
@inline
export function expv2(x: v128): v128 {
  const ax = f64x2.abs(x);
  const half = v128.or(f64x2.splat(0.5), v128.and(x, f64x2.splat(-0.0))); // ±0.5 with x's sign
  let t = f64x2.trunc(f64x2.add(f64x2.mul(f64x2.splat(INVLN2), x), half));
  t = v128.andnot(t, f64x2.lt(ax, f64x2.splat(REDUCE_MIN))); // k = 0 where no reduction
  const hi = f64x2.sub(x, f64x2.mul(t, f64x2.splat(LN2_HI)));
  const lo = f64x2.mul(t, f64x2.splat(LN2_LO));
  const r = f64x2.sub(hi, lo);
  const r2 = f64x2.mul(r, r);
  let p = f64x2.add(f64x2.splat(P4), f64x2.mul(r2, f64x2.splat(P5)));
  p = f64x2.add(f64x2.splat(P3), f64x2.mul(r2, p));
  p = f64x2.add(f64x2.splat(P2), f64x2.mul(r2, p));
  p = f64x2.add(f64x2.splat(P1), f64x2.mul(r2, p));
  const c = f64x2.sub(r, f64x2.mul(r2, p));
  const q = f64x2.div(f64x2.mul(r, c), f64x2.sub(f64x2.splat(2.0), c));
  const y = f64x2.sub(f64x2.splat(1.0), f64x2.sub(f64x2.sub(lo, q), hi));
  // 2^k from k's bits: (k + 1023) << 52.
  const kBits = i64x2.shl(f64x2.add(t, f64x2.splat(MAGIC)), 52);
  const twopk = i64x2.add(kBits, i64x2.splat(0x3FF0000000000000));
  let e = f64x2.mul(y, twopk);
  e = v128.bitselect(f64x2.add(f64x2.splat(1.0), x), e, f64x2.lt(ax, f64x2.splat(TINY)));
  return v128.bitselect(f64x2.splat(E), e, f64x2.eq(x, f64x2.splat(1.0)));
}

/** exp of both lanes: the vector form where it applies, else lane by lane (huge |x|, NaN). */
@inline
export function exp2lanes(x: v128): v128 {
  if (i64x2.all_true(f64x2.lt(f64x2.abs(x), f64x2.splat(EXPV_LIMIT)))) return expv2(x);
  return f64x2.replace_lane(f64x2.splat(expF64(f64x2.extract_lane(x, 0))), 1, expF64(f64x2.extract_lane(x, 1)));
}

/** x[i] = exp(x[i]) over n float64s at x, pairs by exp2lanes: lets the tests check both forms. */
export function expF64Array(x: usize, n: i32): void {
  let i = 0;
  for (; i + 2 <= n; i += 2) v128.store(x + (<usize>i << 3), exp2lanes(v128.load(x + (<usize>i << 3))));
  if (i < n) store<f64>(x + (<usize>i << 3), expF64(load<f64>(x + (<usize>i << 3))));
}

// log: x = 2^k·(1 + f) with √2/2 < 1 + f < √2; s = f/(2 + f), log(1 + f) = 2s + s·R(s²).
const LG1: f64 = 6.666666666666735130e-01;
const LG2: f64 = 3.999999999940941908e-01;
const LG3: f64 = 2.857142874366239149e-01;
const LG4: f64 = 2.222219843214978396e-01;
const LG5: f64 = 1.818357216161805012e-01;
const LG6: f64 = 1.531383769920937332e-01;
const LG7: f64 = 1.479819860511658591e-01;
const TWO54: f64 = 1.80143985094819840000e+16;

/** Math.log(x), bit for bit. */
export function logF64(x: f64): f64 {
  let bits = reinterpret<u64>(x);
  let hx = <i32>(bits >> 32);
  let k: i32 = 0;
  if (hx < 0x00100000) { // x < 2^-1022: zero, negative or subnormal
    if (((hx & 0x7FFFFFFF) | <i32><u32>bits) == 0) return -Infinity;
    if (hx < 0) return NaN;
    k -= 54;
    x *= TWO54; // scale a subnormal up
    bits = reinterpret<u64>(x);
    hx = <i32>(bits >> 32);
  }
  if (hx >= 0x7FF00000) return x + x; // inf, NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000FFFFF;
  let i = (hx + 0x95F64) & 0x100000;
  // x or x/2 into [√2/2, √2): replace the high word.
  x = reinterpret<f64>((<u64>(<u32>(hx | (i ^ 0x3FF00000))) << 32) | (bits & 0xFFFFFFFF));
  k += i >> 20;
  const f = x - 1.0;
  if ((0x000FFFFF & (2 + hx)) < 3) { // -2^-20 ≤ f < 2^-20
    if (f == 0.0) {
      if (k == 0) return 0.0;
      const dk = <f64>k;
      return dk * LN2_HI + dk * LN2_LO;
    }
    const R = f * f * (0.5 - 0.33333333333333333 * f);
    if (k == 0) return f - R;
    const dk = <f64>k;
    return dk * LN2_HI - ((R - dk * LN2_LO) - f);
  }
  const s = f / (2.0 + f);
  const dk = <f64>k;
  const z = s * s;
  i = hx - 0x6147A;
  const w = z * z;
  const j = 0x6B851 - hx;
  const t1 = w * (LG2 + w * (LG4 + w * LG6));
  const t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
  i |= j;
  const R = t2 + t1;
  if (i > 0) {
    const hfsq = 0.5 * f * f;
    if (k == 0) return f - (hfsq - s * (hfsq + R));
    return dk * LN2_HI - ((hfsq - (s * (hfsq + R) + dk * LN2_LO)) - f);
  }
  if (k == 0) return f - s * (f - R);
  return dk * LN2_HI - ((s * (f - R) - dk * LN2_LO) - f);
}
