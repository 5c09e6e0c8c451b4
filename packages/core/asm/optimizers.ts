// The optimizers' element loops: Adam/AdamW, SGD, RMSprop over n floats at byte addresses.
// References and contracts: packages/core/src/kernels/optimizers.ts; the per-step scalars come
// from optim/*.ts. Each element is the reference's float64 operations in the reference's order
// (values rounded to float32 where the reference stores them), two elements per f64x2 vector
// and the odd last one in scalar code with the same operations: every element gets the
// reference's bits wherever it falls, so the slices of a parallel update agree bit for bit.
// The option flags are constant over a call: their branches are predicted, not worth a copy
// of each loop.

/** Two float32s at p as the lanes of an f64x2. */
@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Both lanes rounded to float32, stored at p. */
@inline function st2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

/** Both lanes rounded to float32 and back: the value a float32 store keeps. */
@inline function fround2(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v));
}

@inline function ld(p: usize): f64 {
  return <f64>load<f32>(p);
}

@inline function fround(x: f64): f64 {
  return <f64><f32>x;
}

/**
 * Adam / AdamW. flags: 1 AdamW's decay (p = fround(p·shrink) first), 2 Adam's L2 term
 * (g += l2·p).
 */
export function adamUpdate(
  p: usize, g: usize, m: usize, v: usize, n: i32, flags: i32,
  shrink: f64, l2: f64, w1: f64, beta2: f64, w2: f64, stepSize: f64, bc2Sqrt: f64, eps: f64,
): void {
  const decay = (flags & 1) != 0;
  const useL2 = (flags & 2) != 0;
  const vShrink = f64x2.splat(shrink), vL2 = f64x2.splat(l2), vW1 = f64x2.splat(w1), vBeta2 = f64x2.splat(beta2);
  const vW2 = f64x2.splat(w2), vStep = f64x2.splat(stepSize), vBc2 = f64x2.splat(bc2Sqrt), vEps = f64x2.splat(eps);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    let pv = ld2(p + o);
    let gv = ld2(g + o);
    if (decay) pv = fround2(f64x2.mul(pv, vShrink));
    if (useL2) gv = f64x2.add(gv, f64x2.mul(vL2, pv));
    const mi = ld2(m + o);
    const mNew = fround2(f64x2.add(mi, f64x2.mul(vW1, f64x2.sub(gv, mi))));
    const vNew = fround2(f64x2.add(f64x2.mul(vBeta2, ld2(v + o)), f64x2.mul(f64x2.mul(vW2, gv), gv)));
    st2(m + o, mNew);
    st2(v + o, vNew);
    const denom = f64x2.add(f64x2.div(f64x2.sqrt(vNew), vBc2), vEps);
    st2(p + o, f64x2.sub(pv, f64x2.mul(vStep, f64x2.div(mNew, denom))));
  }
  if (i < n) {
    const o = <usize>i << 2;
    let pi = ld(p + o);
    let gi = ld(g + o);
    if (decay) pi = fround(pi * shrink);
    if (useL2) gi += l2 * pi;
    const mi = ld(m + o);
    const mNew = fround(mi + w1 * (gi - mi));
    const vNew = fround(beta2 * ld(v + o) + w2 * gi * gi);
    store<f32>(m + o, <f32>mNew);
    store<f32>(v + o, <f32>vNew);
    store<f32>(p + o, <f32>(pi - stepSize * (mNew / (sqrt<f64>(vNew) / bc2Sqrt + eps))));
  }
}

/**
 * SGD. flags: 1 momentum (buf is the momentum buffer), 2 first step (buf = g), 4 Nesterov,
 * 8 L2 weight decay (g += wd·p).
 */
export function sgdUpdate(
  p: usize, g: usize, buf: usize, n: i32, flags: i32, lr: f64, wd: f64, mu: f64, keep: f64,
): void {
  const momentum = (flags & 1) != 0;
  const first = (flags & 2) != 0;
  const nesterov = (flags & 4) != 0;
  const useWd = (flags & 8) != 0;
  const vLr = f64x2.splat(lr), vWd = f64x2.splat(wd), vMu = f64x2.splat(mu), vKeep = f64x2.splat(keep);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    const pv = ld2(p + o);
    let gv = ld2(g + o);
    if (useWd) gv = f64x2.add(gv, f64x2.mul(vWd, pv));
    let dv = gv;
    if (momentum) {
      const b = fround2(first ? gv : f64x2.add(f64x2.mul(vMu, ld2(buf + o)), f64x2.mul(vKeep, gv)));
      st2(buf + o, b);
      dv = nesterov ? f64x2.add(gv, f64x2.mul(vMu, b)) : b;
    }
    st2(p + o, f64x2.sub(pv, f64x2.mul(vLr, dv)));
  }
  if (i < n) {
    const o = <usize>i << 2;
    const pi = ld(p + o);
    let gi = ld(g + o);
    if (useWd) gi += wd * pi;
    let di = gi;
    if (momentum) {
      const b = fround(first ? gi : mu * ld(buf + o) + keep * gi);
      store<f32>(buf + o, <f32>b);
      di = nesterov ? gi + mu * b : b;
    }
    store<f32>(p + o, <f32>(pi - lr * di));
  }
}

/**
 * RMSprop. flags: 1 momentum (buf), 2 centered (ga, the gradient average), 4 L2 weight decay.
 * The centered variance is clamped at 0 as the reference does (NaN included: `v > 0 ? v : 0`).
 */
export function rmspropUpdate(
  p: usize, g: usize, sq: usize, buf: usize, ga: usize, n: i32, flags: i32,
  lr: f64, alpha: f64, w: f64, eps: f64, wd: f64, mu: f64,
): void {
  const momentum = (flags & 1) != 0;
  const centered = (flags & 2) != 0;
  const useWd = (flags & 4) != 0;
  const vLr = f64x2.splat(lr), vAlpha = f64x2.splat(alpha), vW = f64x2.splat(w), vEps = f64x2.splat(eps);
  const vWd = f64x2.splat(wd), vMu = f64x2.splat(mu), zero = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 2;
    const pv = ld2(p + o);
    let gv = ld2(g + o);
    if (useWd) gv = f64x2.add(gv, f64x2.mul(vWd, pv));
    const s = fround2(f64x2.add(f64x2.mul(vAlpha, ld2(sq + o)), f64x2.mul(f64x2.mul(vW, gv), gv)));
    st2(sq + o, s);
    let avg: v128;
    if (centered) {
      const a = ld2(ga + o);
      const gaNew = fround2(f64x2.add(a, f64x2.mul(vW, f64x2.sub(gv, a))));
      st2(ga + o, gaNew);
      const variance = f64x2.sub(s, f64x2.mul(gaNew, gaNew));
      avg = f64x2.add(f64x2.sqrt(v128.bitselect(variance, zero, f64x2.gt(variance, zero))), vEps);
    } else {
      avg = f64x2.add(f64x2.sqrt(s), vEps);
    }
    if (momentum) {
      const b = fround2(f64x2.add(f64x2.mul(vMu, ld2(buf + o)), f64x2.div(gv, avg)));
      st2(buf + o, b);
      st2(p + o, f64x2.sub(pv, f64x2.mul(vLr, b)));
    } else {
      st2(p + o, f64x2.sub(pv, f64x2.mul(vLr, f64x2.div(gv, avg))));
    }
  }
  if (i < n) {
    const o = <usize>i << 2;
    const pi = ld(p + o);
    let gi = ld(g + o);
    if (useWd) gi += wd * pi;
    const s = fround(alpha * ld(sq + o) + w * gi * gi);
    store<f32>(sq + o, <f32>s);
    let avg: f64;
    if (centered) {
      const a = ld(ga + o);
      const gaNew = fround(a + w * (gi - a));
      store<f32>(ga + o, <f32>gaNew);
      const variance = s - gaNew * gaNew;
      avg = sqrt<f64>(variance > 0 ? variance : 0) + eps;
    } else {
      avg = sqrt<f64>(s) + eps;
    }
    if (momentum) {
      const b = fround(mu * ld(buf + o) + gi / avg);
      store<f32>(buf + o, <f32>b);
      store<f32>(p + o, <f32>(pi - lr * b));
    } else {
      store<f32>(p + o, <f32>(pi - lr * (gi / avg)));
    }
  }
}
