/**
 * GRU cell, PyTorch's formulation, gates in the order r|z|n:
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr)
 *   z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * Because r multiplies (W_hn h + b_hn), the input and recurrent products cannot be summed
 * before the nonlinearity as for the RNN and LSTM: the stack passes both, [B, 3H] each, and
 * forward saves W_hn h + b_hn for backward. Backward returns two pre-activation gradients,
 * one for the input side (dW_ih, db_ih, dx) and one for the recurrent side (dW_hh, db_hh, dh).
 *
 * A row b is active at step t iff t < lengths[b]; an inactive row (padding) carries h
 * unchanged, outputs 0 and receives no gradient (PyTorch's packed sequences). Each run of
 * consecutive active rows is one call of `kernels.gruForward` / `gruBackward` (kernels/cells.ts).
 */
import { kernels } from '../kernels/index.js';
import { activeRunEnd } from './elementwise.js';

/**
 * Forward of one step. `gx` holds W_ih x + b_ih and receives the activations r|z|n in place;
 * `gh` holds W_hh h + b_hh (its n part is copied to `hn` for backward); `h` receives the new
 * state; `out` the step's output rows (stride `ldo`, H wide): h', or 0 for padding.
 */
export function gruForwardStep(
  B: number, H: number, t: number, lengths: Int32Array,
  gx: Float32Array, gxOff: number,        // [B, 3H] input side in, r|z|n out
  gh: Float32Array, ghOff: number,        // [B, 3H] recurrent side
  hn: Float32Array, hnOff: number,        // [B, H] out: W_hn h + b_hn
  hPrev: Float32Array, hpOff: number,     // [B, H]
  h: Float32Array, hOff: number,          // [B, H] out
  out: Float32Array, oOff: number, ldo: number, // [B, ldo] out, columns [0, H)
): void {
  const G = 3 * H;
  for (let b = 0; b < B;) {
    if (t < lengths[b]!) {
      const e = activeRunEnd(lengths, t, b, B);
      kernels.gruForward(
        e - b, H, gx, gxOff + b * G, gh, ghOff + b * G, hn, hnOff + b * H, hPrev, hpOff + b * H,
        h, hOff + b * H, out, oOff + b * ldo, ldo,
      );
      b = e;
      continue;
    }
    const pr = b * H;
    const or = oOff + b * ldo;
    for (let j = 0; j < H; j++) {
      h[hOff + pr + j] = hPrev[hpOff + pr + j]!;
      out[or + j] = 0;
    }
    b++;
  }
}

/**
 * Backward of one step. On entry `dh` [B, H] holds dL/dh' from later steps (or dL/dh_n); on
 * exit the part of dL/dh that does not go through W_hh: z * dL/dh' for active rows (the stack
 * adds dzh·W_hh), unchanged for padding. `dzx`, `dzh` [B, 3H] receive the gradients of the
 * input-side and recurrent-side pre-activations (equal for r and z; for n, dzh = r * dzx),
 * 0 for padding.
 */
export function gruBackwardStep(
  B: number, H: number, t: number, lengths: Int32Array,
  gates: Float32Array, gOff: number,      // [B, 3H] activations r|z|n saved by forward
  hn: Float32Array, hnOff: number,        // [B, H] W_hn h + b_hn saved by forward
  hPrev: Float32Array, hpOff: number,     // [B, H] state before the step
  dOut: Float32Array, dOff: number, ldd: number, // [B, ldd] dL/d(output), columns [0, H)
  dh: Float32Array, dhOff: number,        // [B, H] in/out
  dzx: Float32Array, dzxOff: number,      // [B, 3H] out
  dzh: Float32Array, dzhOff: number,      // [B, 3H] out
): void {
  const G = 3 * H;
  for (let b = 0; b < B;) {
    if (t < lengths[b]!) {
      const e = activeRunEnd(lengths, t, b, B);
      kernels.gruBackward(
        e - b, H, gates, gOff + b * G, hn, hnOff + b * H, hPrev, hpOff + b * H, dOut, dOff + b * ldd, ldd,
        dh, dhOff + b * H, dzx, dzxOff + b * G, dzh, dzhOff + b * G,
      );
      b = e;
      continue;
    }
    dzx.fill(0, dzxOff + b * G, dzxOff + (b + 1) * G);
    dzh.fill(0, dzhOff + b * G, dzhOff + (b + 1) * G);
    b++;
  }
}
