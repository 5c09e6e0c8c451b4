/**
 * The optimizers' element loops, TypeScript reference (WebAssembly: asm/optimizers.ts, through
 * `kernels`). optim/{adam,sgd,rmsprop}.ts validate the arguments, derive the per-step scalars
 * from (options, step, lr) and call these; the formulas and why they are PyTorch's are written
 * there.
 *
 * Every element is computed on its own from its own p, g and state: float64 arithmetic between
 * float32 loads, each stored value rounded to float32 when stored and the rounded value being
 * what later terms read. So any partition of [start, end) into slices gives the same bits (the
 * worker pool updates chunks in parallel), and the WebAssembly path, which repeats the same
 * IEEE float64 operations in the same order, gives the same bits as this one.
 */

/** Adam / AdamW per-step scalars (optim/adam.ts `adamScalars`). */
export interface AdamScalars {
  /** AdamW with weight decay: p = fround(p * shrink) first. */
  decay: boolean;
  shrink: number;
  /** Adam's L2 penalty: g = g + l2 * p (0: none). */
  l2: number;
  /** 1 - beta1 */
  w1: number;
  beta2: number;
  /** 1 - beta2 */
  w2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: number;
  eps: number;
}

/** SGD per-step scalars (optim/sgd.ts). */
export interface SgdScalars {
  lr: number;
  /** L2 penalty (0: none). */
  weightDecay: number;
  momentum: number;
  /** 1 - dampening */
  keep: number;
  /** Step 1: the momentum buffer starts as the gradient. */
  first: boolean;
  nesterov: boolean;
}

/** RMSprop per-step scalars (optim/rmsprop.ts). */
export interface RmspropScalars {
  lr: number;
  alpha: number;
  /** 1 - alpha */
  w: number;
  eps: number;
  /** L2 penalty (0: none). */
  weightDecay: number;
  momentum: number;
}

/** One Adam / AdamW update of params[start, end); m = exp_avg, v = exp_avg_sq. */
export function adamUpdateReference(
  params: Float32Array, // [n]
  grads: Float32Array, // [n]
  m: Float32Array, // [n] exp_avg
  v: Float32Array, // [n] exp_avg_sq
  start: number,
  end: number,
  s: AdamScalars,
): void {
  const { decay, shrink, l2, w1, beta2, w2, stepSize, bc2Sqrt, eps } = s;
  for (let i = start; i < end; i++) {
    let p = params[i]!;
    let g = grads[i]!;
    if (decay) p = Math.fround(p * shrink);
    if (l2 !== 0) g += l2 * p;
    const mi = m[i]!;
    const mNew = Math.fround(mi + w1 * (g - mi));
    const vNew = Math.fround(beta2 * v[i]! + w2 * g * g);
    m[i] = mNew;
    v[i] = vNew;
    params[i] = p - stepSize * (mNew / (Math.sqrt(vNew) / bc2Sqrt + eps));
  }
}

/** One SGD update of params[start, end); buf = momentum_buffer, null without momentum. */
export function sgdUpdateReference(
  params: Float32Array, // [n]
  grads: Float32Array, // [n]
  buf: Float32Array | null, // [n] momentum_buffer
  start: number,
  end: number,
  s: SgdScalars,
): void {
  const { lr, weightDecay: wd } = s;
  if (buf === null) {
    for (let i = start; i < end; i++) {
      const p = params[i]!;
      let g = grads[i]!;
      if (wd !== 0) g += wd * p;
      params[i] = p - lr * g;
    }
    return;
  }
  const { momentum: mu, keep, first, nesterov } = s;
  for (let i = start; i < end; i++) {
    const p = params[i]!;
    let g = grads[i]!;
    if (wd !== 0) g += wd * p;
    const b = Math.fround(first ? g : mu * buf[i]! + keep * g);
    buf[i] = b;
    const d = nesterov ? g + mu * b : b;
    params[i] = p - lr * d;
  }
}

/**
 * One RMSprop update of params[start, end); sq = square_avg, buf = momentum_buffer (null:
 * no momentum), ga = grad_avg (null: not centered).
 */
export function rmspropUpdateReference(
  params: Float32Array, // [n]
  grads: Float32Array, // [n]
  sq: Float32Array, // [n] square_avg
  momentumBuf: Float32Array | null, // [n] momentum_buffer
  gradAvg: Float32Array | null, // [n] grad_avg
  start: number,
  end: number,
  s: RmspropScalars,
): void {
  const useMomentum = momentumBuf !== null;
  const centered = gradAvg !== null;
  // Unused buffers alias square_avg so the loop needs no per-element null checks; they are
  // only read or written behind the constant flags.
  const buf = momentumBuf ?? sq;
  const ga = gradAvg ?? sq;
  const { lr, alpha, w, eps, weightDecay: wd, momentum: mu } = s;
  for (let i = start; i < end; i++) {
    const p = params[i]!;
    let g = grads[i]!;
    if (wd !== 0) g += wd * p;
    const sNew = Math.fround(alpha * sq[i]! + w * g * g);
    sq[i] = sNew;
    let avg: number;
    if (centered) {
      const a = ga[i]!;
      const gaNew = Math.fround(a + w * (g - a));
      ga[i] = gaNew;
      const variance = sNew - gaNew * gaNew;
      avg = Math.sqrt(variance > 0 ? variance : 0) + eps;
    } else {
      avg = Math.sqrt(sNew) + eps;
    }
    if (useMomentum) {
      const b = Math.fround(mu * buf[i]! + g / avg);
      buf[i] = b;
      params[i] = p - lr * b;
    } else {
      params[i] = p - lr * (g / avg);
    }
  }
}
