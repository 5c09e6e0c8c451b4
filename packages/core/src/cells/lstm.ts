/**
 * LSTM cell, PyTorch's formulation, gates in the order i|f|g|o:
 *   [i, f, g, o] = [σ, σ, tanh, σ](W_ih x + b_ih + W_hh h + b_hh)
 *   c' = f * c + i * g,   h' = o * tanh(c')
 *
 * The stack computes the products and hands each step's pre-activations, [B, 4H], to these
 * functions. A row b is active at step t iff t < lengths[b]; an inactive row (padding) carries
 * h and c unchanged, outputs 0 and receives no gradient (PyTorch's packed sequences).
 */
import { sigmoidInPlace, tanhInPlace } from './elementwise.js';

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
  for (let b = 0; b < B; b++) {
    const gr = gOff + b * G;
    const pr = b * H;
    const or = oOff + b * ldo;
    if (t < lengths[b]!) {
      sigmoidInPlace(gates, gr, 2 * H); // i, f
      tanhInPlace(gates, gr + 2 * H, H); // g
      sigmoidInPlace(gates, gr + 3 * H, H); // o
      for (let j = 0; j < H; j++) {
        const cn = gates[gr + H + j]! * cPrev[cpOff + pr + j]! + gates[gr + j]! * gates[gr + 2 * H + j]!;
        // Round c' to float32 before tanh so that backward, which reads the stored c', sees
        // exactly the value forward used.
        c[cOff + pr + j] = cn;
        const hn = gates[gr + 3 * H + j]! * Math.tanh(c[cOff + pr + j]!);
        h[hOff + pr + j] = hn;
        out[or + j] = hn;
      }
    } else {
      for (let j = 0; j < H; j++) {
        h[hOff + pr + j] = hPrev[hpOff + pr + j]!;
        c[cOff + pr + j] = cPrev[cpOff + pr + j]!;
        out[or + j] = 0;
      }
    }
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
  for (let b = 0; b < B; b++) {
    const zr = dzOff + b * G;
    if (t < lengths[b]!) {
      const gr = gOff + b * G;
      const pr = b * H;
      const dr = dOff + b * ldd;
      for (let j = 0; j < H; j++) {
        const i = gates[gr + j]!;
        const f = gates[gr + H + j]!;
        const g = gates[gr + 2 * H + j]!;
        const o = gates[gr + 3 * H + j]!;
        const tc = Math.tanh(c[cOff + pr + j]!);
        const dhT = dh[dhOff + pr + j]! + dOut[dr + j]!;
        const dcT = dc[dcOff + pr + j]! + dhT * o * (1 - tc * tc);
        dz[zr + j] = dcT * g * i * (1 - i);
        dz[zr + H + j] = dcT * cPrev[cpOff + pr + j]! * f * (1 - f);
        dz[zr + 2 * H + j] = dcT * i * (1 - g * g);
        dz[zr + 3 * H + j] = dhT * tc * o * (1 - o);
        dc[dcOff + pr + j] = dcT * f;
        dh[dhOff + pr + j] = 0;
      }
    } else {
      dz.fill(0, zr, zr + G);
    }
  }
}
