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
 * unchanged, outputs 0 and receives no gradient (PyTorch's packed sequences).
 */
import { addInto, sigmoidInPlace } from './elementwise.js';

/**
 * Forward of one step. `gx` holds W_ih x + b_ih and receives the activations r|z|n in place;
 * `gh` holds W_hh h + b_hh (its n part is copied to `hn` for backward); `h` receives the new
 * state; `out` the step's output rows (stride `ldo`, H wide): h', or 0 for padding.
 */
export function gruForwardStep(
  B: number, H: number, t: number, lengths: Int32Array,
  gx: Float32Array, gxOff: number,        // [B, 3H] input side in, r|z|n out
  gh: Float32Array, ghOff: number,        // [B, 3H] recurrent side (clobbered)
  hn: Float32Array, hnOff: number,        // [B, H] out: W_hn h + b_hn
  hPrev: Float32Array, hpOff: number,     // [B, H]
  h: Float32Array, hOff: number,          // [B, H] out
  out: Float32Array, oOff: number, ldo: number, // [B, ldo] out, columns [0, H)
): void {
  const G = 3 * H;
  for (let b = 0; b < B; b++) {
    const xr = gxOff + b * G;
    const hr = ghOff + b * G;
    const pr = b * H;
    const or = oOff + b * ldo;
    if (t < lengths[b]!) {
      addInto(gx, xr, gh, hr, 2 * H);
      sigmoidInPlace(gx, xr, 2 * H); // r, z
      for (let j = 0; j < H; j++) {
        const r = gx[xr + j]!;
        const z = gx[xr + H + j]!;
        const a = gh[hr + 2 * H + j]!;
        hn[hnOff + pr + j] = a;
        const n = Math.tanh(gx[xr + 2 * H + j]! + r * a);
        gx[xr + 2 * H + j] = n;
        const v = (1 - z) * n + z * hPrev[hpOff + pr + j]!;
        h[hOff + pr + j] = v;
        out[or + j] = v;
      }
    } else {
      for (let j = 0; j < H; j++) {
        h[hOff + pr + j] = hPrev[hpOff + pr + j]!;
        out[or + j] = 0;
      }
    }
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
  for (let b = 0; b < B; b++) {
    const xr = dzxOff + b * G;
    const hr = dzhOff + b * G;
    if (t < lengths[b]!) {
      const gr = gOff + b * G;
      const pr = b * H;
      const dr = dOff + b * ldd;
      for (let j = 0; j < H; j++) {
        const r = gates[gr + j]!;
        const z = gates[gr + H + j]!;
        const n = gates[gr + 2 * H + j]!;
        const dhT = dh[dhOff + pr + j]! + dOut[dr + j]!;
        const dan = dhT * (1 - z) * (1 - n * n);
        const dar = dan * hn[hnOff + pr + j]! * r * (1 - r);
        const daz = dhT * (hPrev[hpOff + pr + j]! - n) * z * (1 - z);
        dzx[xr + j] = dar;
        dzx[xr + H + j] = daz;
        dzx[xr + 2 * H + j] = dan;
        dzh[hr + j] = dar;
        dzh[hr + H + j] = daz;
        dzh[hr + 2 * H + j] = dan * r;
        dh[dhOff + pr + j] = dhT * z;
      }
    } else {
      dzx.fill(0, xr, xr + G);
      dzh.fill(0, hr, hr + G);
    }
  }
}
