// The loss kernels: softmax cross-entropy and squared error, value and gradient in one pass.
// References and contracts: packages/core/src/kernels/loss.ts. Every value is computed with the
// reference's float64 operations in the reference's order (sums strictly left to right), and
// exp / log are fdlibm ports (fdlibm.ts), so the results are the reference's bits.
// Addresses in bytes; targets are int32, checked by the caller (negative: ignored, else < classes).
import { exp2lanes, expF64, logF64 } from './fdlibm';

/**
 * The reference's arg-max (`if (v > max) { max = v; arg = j }` from max = -inf, arg = 0): the
 * first index of the largest non-NaN value, 0 where none exceeds -inf. Four lanes at a time:
 * the maximum by pmax (which keeps its first operand when the second is NaN), then the first
 * index holding it (== counts -0 and +0 as equal, as `>` never lets one replace the other).
 */
@inline function argMax(x: usize, n: i32): i32 {
  const n4 = n & ~3;
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j < n4; j += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>j << 2)));
  let best = max<f32>(max<f32>(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)),
    max<f32>(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3))); // no lane is NaN
  for (; j < n; j++) {
    const v = load<f32>(x + (<usize>j << 2));
    if (v > best) best = v;
  }
  if (best == -Infinity) return 0;
  const vm = f32x4.splat(best);
  for (j = 0; j < n4; j += 4) {
    const hit = i32x4.bitmask(f32x4.eq(v128.load(x + (<usize>j << 2)), vm));
    if (hit) return j + ctz(hit);
  }
  while (load<f32>(x + (<usize>j << 2)) != best) j++;
  return j;
}

/**
 * Softmax cross-entropy over `rows` rows of `classes` logits at x, gradient (× scale) to d
 * (which may be x itself). `e` is scratch for one row's exponentials (classes float64s); count
 * and correct are written as int32 at out, out + 4. Returns the loss sum.
 */
export function softmaxCrossEntropy(
  d: usize, x: usize, targets: usize, rows: i32, classes: i32, scale: f64, e: usize, out: usize,
): f64 {
  const rowB = <usize>classes << 2;
  const c4 = classes & ~3;
  let sum: f64 = 0;
  let count = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const t = load<i32>(targets + (<usize>r << 2));
    if (t < 0) {
      memory.fill(d, 0, rowB);
    } else {
      const arg = argMax(x, classes);
      const mx = <f64>load<f32>(x + (<usize>arg << 2)); // -inf where every logit is NaN or -inf
      const lt = <f64>load<f32>(x + (<usize>t << 2)); // before d (maybe x) is written
      // exp(x_j − max) in float64, kept for the gradient; z summed in column order.
      const vm = f64x2.splat(mx);
      let z: f64 = 0;
      let j = 0;
      for (; j < c4; j += 4) {
        const v = v128.load(x + (<usize>j << 2));
        const e0 = exp2lanes(f64x2.sub(f64x2.promote_low_f32x4(v), vm));
        const e1 = exp2lanes(f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)), vm));
        const pe = e + (<usize>j << 3);
        v128.store(pe, e0);
        v128.store(pe, e1, 16);
        z += f64x2.extract_lane(e0, 0);
        z += f64x2.extract_lane(e0, 1);
        z += f64x2.extract_lane(e1, 0);
        z += f64x2.extract_lane(e1, 1);
      }
      for (; j < classes; j++) {
        const v = expF64(<f64>load<f32>(x + (<usize>j << 2)) - mx);
        store<f64>(e + (<usize>j << 3), v);
        z += v;
      }
      sum += logF64(z) + mx - lt;
      count++;
      if (arg == t) correct++;
      const inv = 1 / z;
      // d_j = e_j · inv · scale, rounded to float32 (two products in that order, as the reference).
      const vi = f64x2.splat(inv);
      const vs = f64x2.splat(scale);
      j = 0;
      for (; j < c4; j += 4) {
        const pe = e + (<usize>j << 3);
        const lo = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.mul(v128.load(pe), vi), vs));
        const hi = f32x4.demote_f64x2_zero(f64x2.mul(f64x2.mul(v128.load(pe, 16), vi), vs));
        v128.store(d + (<usize>j << 2), v128.shuffle<f32>(lo, hi, 0, 1, 4, 5));
      }
      for (; j < classes; j++) {
        store<f32>(d + (<usize>j << 2), <f32>(load<f64>(e + (<usize>j << 3)) * inv * scale));
      }
      const pt = d + (<usize>t << 2);
      store<f32>(pt, <f32>(<f64>load<f32>(pt) - scale));
    }
    x += rowB;
    d += rowB;
  }
  store<i32>(out, count);
  store<i32>(out, correct, 4);
  return sum;
}

/**
 * Squared error over `rows` rows of `size` values: d = 2 (p − target) · scale, the sum of
 * squares returned; rows whose mask byte is 0 (when hasMask) get d = 0 and do not count.
 * The count (unmasked rows × size) is written as int32 at out. d may be p itself.
 */
export function meanSquaredError(
  d: usize, p: usize, targets: usize, rows: i32, size: i32, scale: f64, mask: usize, hasMask: i32, out: usize,
): f64 {
  const rowB = <usize>size << 2;
  let sum: f64 = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    if (hasMask && load<u8>(mask + <usize>r) == 0) {
      memory.fill(d, 0, rowB);
    } else {
      for (let j = 0; j < size; j++) {
        const o = <usize>j << 2;
        const e = <f64>load<f32>(p + o) - <f64>load<f32>(targets + o);
        sum += e * e;
        store<f32>(d + o, <f32>(2 * e * scale));
      }
      count += size;
    }
    d += rowB;
    p += rowB;
    targets += rowB;
  }
  store<i32>(out, count);
  return sum;
}
