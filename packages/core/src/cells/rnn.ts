/**
 * Elman RNN cell, PyTorch's formulation: h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh|relu.
 *
 * The stack computes the matrix products (all steps' input projections at once, then one small
 * product per step) and hands each step's pre-activations, [B, H], to these functions. A row b
 * is active at step t iff t < lengths[b]; an inactive row (padding) carries its state unchanged,
 * outputs 0 and receives no gradient, which is PyTorch's packed-sequence semantics. Each run of
 * consecutive active rows is one call of `kernels.rnnForward` / `rnnBackward` (kernels/cells.ts).
 */
import { kernels } from '../kernels/index.js';
import { activeRunEnd } from './elementwise.js';

/**
 * Forward of one step. `z` [B, H] holds the pre-activations and is activated in place;
 * `h` [B, H] receives the new state (hPrev's row where inactive); `out` receives the step's
 * output rows (stride `ldo`, H wide): the new state, or 0 for padding.
 */
export function rnnForwardStep(
  relu: boolean, B: number, H: number, t: number, lengths: Int32Array,
  z: Float32Array, zOff: number,          // [B, H] pre-activation in, activation out
  hPrev: Float32Array, hpOff: number,     // [B, H]
  h: Float32Array, hOff: number,          // [B, H] out
  out: Float32Array, oOff: number, ldo: number, // [B, ldo] out, columns [0, H)
): void {
  for (let b = 0; b < B;) {
    if (t < lengths[b]!) {
      const e = activeRunEnd(lengths, t, b, B);
      kernels.rnnForward(relu, e - b, H, z, zOff + b * H, h, hOff + b * H, out, oOff + b * ldo, ldo);
      b = e;
      continue;
    }
    const hr = hOff + b * H;
    const pr = hpOff + b * H;
    const or = oOff + b * ldo;
    for (let j = 0; j < H; j++) {
      h[hr + j] = hPrev[pr + j]!;
      out[or + j] = 0;
    }
    b++;
  }
}

/**
 * Backward of one step. `dh` [B, H] holds dL/d(new state) from later steps (or dL/dh_n) and
 * is replaced by the part of dL/dhPrev that does not go through W_hh: 0 for active rows (the
 * stack adds dz·W_hh), unchanged for padding (the state was carried). `dz` [B, H] receives
 * dL/d(pre-activation), 0 for padding. `h` is the state this step produced (act' is read off it).
 */
export function rnnBackwardStep(
  relu: boolean, B: number, H: number, t: number, lengths: Int32Array,
  h: Float32Array, hOff: number,          // [B, H] this step's new state
  dOut: Float32Array, dOff: number, ldd: number, // [B, ldd] dL/d(output), columns [0, H)
  dh: Float32Array, dhOff: number,        // [B, H] in/out
  dz: Float32Array, dzOff: number,        // [B, H] out
): void {
  for (let b = 0; b < B;) {
    if (t < lengths[b]!) {
      const e = activeRunEnd(lengths, t, b, B);
      kernels.rnnBackward(relu, e - b, H, h, hOff + b * H, dOut, dOff + b * ldd, ldd, dh, dhOff + b * H, dz, dzOff + b * H);
      b = e;
      continue;
    }
    dz.fill(0, dzOff + b * H, dzOff + (b + 1) * H);
    b++;
  }
}
