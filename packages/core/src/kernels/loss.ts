/**
 * The loss kernels, TypeScript reference (WebAssembly: asm/loss.ts, through `kernels`). Each
 * returns the SUM of the per-element losses (float64) and writes d(loss)/d(input) already
 * multiplied by `scale` (losses/types.ts says why). Rows are contiguous from offset 0.
 *
 * Arithmetic is float64 between float32 loads and stores, one fixed order per value: the
 * WebAssembly versions repeat it operation for operation (their exp and log are ports of the
 * fdlibm routines V8's Math.exp and Math.log use), so both paths give the same bits.
 */

export interface LossResult {
  /** Sum of the per-row losses (float64). */
  sum: number;
  /** Rows that counted (targets that were not ignored). */
  count: number;
  /** Rows whose arg-max equals the target (classification only). */
  correct: number;
}

let expBuf = new Float64Array(0);

/** A float64 row of at least n values, reused across calls (grown, never per row). */
export function expRow(n: number): Float64Array {
  if (expBuf.length < n) expBuf = new Float64Array(n);
  return expBuf;
}

/** What `rowExp` finds in a row: its arg-max, its max and Σ exp(v − max). */
export interface RowExp {
  arg: number;
  max: number;
  z: number;
}

/**
 * The softmax of one row, the part every cross-entropy and every prediction shares:
 * e[j] = exp(v_j / temperature − max) in float64 (the max subtracted so no exponential
 * overflows), and the row's arg-max (the first of equal maxima), max and Σ e into `out`.
 */
export function rowExp(v: ArrayLike<number>, o: number, n: number, e: Float64Array, out: RowExp, temperature = 1): RowExp {
  let max = -Infinity;
  let arg = 0;
  for (let j = 0; j < n; j++) {
    const x = v[o + j]! / temperature;
    if (x > max) { max = x; arg = j; }
  }
  let z = 0;
  for (let j = 0; j < n; j++) z += e[j] = Math.exp(v[o + j]! / temperature - max);
  out.arg = arg;
  out.max = max;
  out.z = z;
  return out;
}

/** RangeError unless t is -1-or-below (ignored) or an integer class index below `classes`. */
export function checkTarget(t: number, r: number, classes: number): void {
  if (!(t < 0 || (Number.isInteger(t) && t < classes))) {
    throw new RangeError(`softmaxCrossEntropy: targets[${r}] = ${t} is not a class index in 0..${classes - 1} (or negative: ignored)`);
  }
}

/**
 * Softmax cross-entropy, one row of `logits` [rows, classes] per target; a negative target is
 * ignored (padding) and gets a zero gradient. dLogits may alias logits.
 */
export function softmaxCrossEntropyReference(
  dLogits: Float32Array, // [rows, classes]
  logits: Float32Array, // [rows, classes]
  targets: ArrayLike<number>, // [rows]
  rows: number,
  classes: number,
  scale: number,
): LossResult {
  let sum = 0;
  let count = 0;
  let correct = 0;
  const row: RowExp = { arg: 0, max: 0, z: 0 };
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const t = targets[r]!;
    if (t < 0) {
      dLogits.fill(0, o, o + classes);
      continue;
    }
    checkTarget(t, r, classes);
    const lt = logits[o + t]!; // read before dLogits (which may alias logits) is written
    // log-sum-exp in float64: the loss must not lose digits to float32 on large vocabularies.
    // The exponentials are kept (in float64) for the gradient: one exp per logit.
    const e = expRow(classes);
    const { arg, max, z } = rowExp(logits, o, classes, e, row);
    sum += Math.log(z) + max - lt;
    count++;
    if (arg === t) correct++;
    const inv = 1 / z;
    for (let j = 0; j < classes; j++) dLogits[o + j] = e[j]! * inv * scale;
    dLogits[o + t]! -= scale;
  }
  return { sum, count, correct };
}

/**
 * Squared error summed over `rows * size` values; rows with mask[r] === 0 are ignored (zero
 * gradient). dPred = 2 (pred - target) * scale. dPred may alias pred.
 */
export function meanSquaredErrorReference(
  dPred: Float32Array, // [rows, size]
  pred: Float32Array, // [rows, size]
  targets: ArrayLike<number>, // [rows, size]
  rows: number,
  size: number,
  scale: number,
  mask?: ArrayLike<number>, // [rows]
): LossResult {
  let sum = 0;
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * size;
    if (mask && mask[r] === 0) {
      dPred.fill(0, o, o + size);
      continue;
    }
    for (let j = 0; j < size; j++) {
      const e = pred[o + j]! - targets[o + j]!;
      sum += e * e;
      dPred[o + j] = 2 * e * scale;
    }
    count += size;
  }
  return { sum, count, correct: 0 };
}
