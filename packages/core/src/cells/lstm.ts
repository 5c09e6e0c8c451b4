/**
 * LSTM cell, PyTorch's formulation, gates in the order i|f|g|o:
 *   [i, f, g, o] = [σ, σ, tanh, σ](W_ih x + b_ih + W_hh h + b_hh)
 *   c' = f * c + i * g,   h' = o * tanh(c')
 *
 * The stack computes the products and hands each step's pre-activations, [B, 4H], to these
 * functions. A row b is active at step t iff t < lengths[b]; an inactive row (padding) carries
 * h and c unchanged, outputs 0 and receives no gradient (PyTorch's packed sequences). The gate
 * math of each run of consecutive active rows is one call of `kernels.lstmForward` /
 * `lstmBackward` (kernels/cells.ts: the equations; WebAssembly SIMD on the fast path), so a
 * batch with no padding at step t is one call for all B rows.
 */
import { kernels } from '../kernels/index.js';
import { activeRunEnd } from './elementwise.js';

/**
 * Forward of one step. `gates` [B, 4H] holds the pre-activations and receives the gate
 * activations in place (backward reads them). `h`, `c` receive the new state; `out` the
 * step's output rows (stride `ldo`, H wide): h', or 0 for padding.
 */
export function lstmForwardStep(
  B: number, H: number, t: number, lengths: Int32Array,
  gates: Float32Array, gOff: number,      // [B, 4H] pre-activation in, activation out
  hPrev: Float32Array, hpOff: number,     // [B, H]
  cPrev: Float32Array, cpOff: number,     // [B, H]
  h: Float32Array, hOff: number,          // [B, H] out
  c: Float32Array, cOff: number,          // [B, H] out
  out: Float32Array, oOff: number, ldo: number, // [B, ldo] out, columns [0, H)
): void {
  const G = 4 * H;
  for (let b = 0; b < B;) {
    if (t < lengths[b]!) {
      const e = activeRunEnd(lengths, t, b, B);
      kernels.lstmForward(e - b, H, gates, gOff + b * G, cPrev, cpOff + b * H, c, cOff + b * H, h, hOff + b * H, out, oOff + b * ldo, ldo);
      b = e;
      continue;
    }
    const pr = b * H;
    const or = oOff + b * ldo;
    for (let j = 0; j < H; j++) {
      h[hOff + pr + j] = hPrev[hpOff + pr + j]!;
      c[cOff + pr + j] = cPrev[cpOff + pr + j]!;
      out[or + j] = 0;
    }
    b++;
  }
}

/**
 * Backward of one step. On entry `dh`, `dc` [B, H] hold dL/dh', dL/dc' from later steps (or
 * dL/dh_n, dL/dc_n); on exit `dc` holds dL/dc (through f) and `dh` the part of dL/dh that
 * does not go through W_hh (0 for active rows; the stack adds dz·W_hh; unchanged for padding).
 * `dz` [B, 4H] receives dL/d(pre-activations), 0 for padding.
 */
export function lstmBackwardStep(
  B: number, H: number, t: number, lengths: Int32Array,
  gates: Float32Array, gOff: number,      // [B, 4H] activations i|f|g|o saved by forward
  cPrev: Float32Array, cpOff: number,     // [B, H] state before the step
  c: Float32Array, cOff: number,          // [B, H] state after the step
  dOut: Float32Array, dOff: number, ldd: number, // [B, ldd] dL/d(output), columns [0, H)
  dh: Float32Array, dhOff: number,        // [B, H] in/out
  dc: Float32Array, dcOff: number,        // [B, H] in/out
  dz: Float32Array, dzOff: number,        // [B, 4H] out
): void {
  const G = 4 * H;
  for (let b = 0; b < B;) {
    if (t < lengths[b]!) {
      const e = activeRunEnd(lengths, t, b, B);
      kernels.lstmBackward(
        e - b, H, gates, gOff + b * G, cPrev, cpOff + b * H, c, cOff + b * H, dOut, dOff + b * ldd, ldd,
        dh, dhOff + b * H, dc, dcOff + b * H, dz, dzOff + b * G,
      );
      b = e;
      continue;
    }
    dz.fill(0, dzOff + b * G, dzOff + (b + 1) * G);
    b++;
  }
}
