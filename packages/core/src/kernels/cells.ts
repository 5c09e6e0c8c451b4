/**
 * The elementwise work of one time step of a recurrent cell over a run of rows that are ALL
 * active at that step (the stack, via src/cells/*.ts, handles padding rows), TypeScript
 * reference; the WebAssembly versions (asm/cells.ts, fused, four lanes at a time) are called
 * through `kernels`. PyTorch's equations:
 *
 *   LSTM  [i, f, g, o] = [σ, σ, tanh, σ](z)     c' = f*c + i*g     h' = o*tanh(c')
 *   RNN   h' = tanh(z) or relu(z)
 *   GRU   r = σ(x_r + h_r)  z = σ(x_z + h_z)  n = tanh(x_n + r*h_n)  h' = (1-z)*n + z*h
 *
 * where z (or x, h for the GRU's input and recurrent sides) are the step's pre-activations,
 * already holding the products and biases. Rows are contiguous: gates G·H floats apart, states
 * H; `out` / `dOut` rows `ld` floats apart (columns [0, H)). Backward leaves in `dh` the part
 * of dL/dh that does not go through W_hh (the stack adds dz·W_hh).
 */

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** gates [rows, 4H]: pre-activations in, activations out; c, h [rows, H] and out rows receive c', h'. */
export function lstmForwardReference(
  rows: number, H: number,
  gates: Float32Array, gOff: number, cPrev: Float32Array, cpOff: number,
  c: Float32Array, cOff: number, h: Float32Array, hOff: number,
  out: Float32Array, oOff: number, ldo: number,
): void {
  const G = 4 * H;
  for (let b = 0; b < rows; b++) {
    const gr = gOff + b * G;
    const pr = b * H;
    const or = oOff + b * ldo;
    for (let j = 0; j < 2 * H; j++) gates[gr + j] = sigmoid(gates[gr + j]!); // i, f
    for (let j = 2 * H; j < 3 * H; j++) gates[gr + j] = Math.tanh(gates[gr + j]!); // g
    for (let j = 3 * H; j < G; j++) gates[gr + j] = sigmoid(gates[gr + j]!); // o
    for (let j = 0; j < H; j++) {
      // c' is rounded to float32 (stored) before tanh, so that backward, which reads the
      // stored c', sees exactly the value forward used.
      c[cOff + pr + j] = gates[gr + H + j]! * cPrev[cpOff + pr + j]! + gates[gr + j]! * gates[gr + 2 * H + j]!;
      const hn = gates[gr + 3 * H + j]! * Math.tanh(c[cOff + pr + j]!);
      h[hOff + pr + j] = hn;
      out[or + j] = hn;
    }
  }
}

/** dz [rows, 4H] out; dh, dc [rows, H] in (dL/dh', dL/dc'), out (0, dL/dc through f). */
export function lstmBackwardReference(
  rows: number, H: number,
  gates: Float32Array, gOff: number, cPrev: Float32Array, cpOff: number, c: Float32Array, cOff: number,
  dOut: Float32Array, dOff: number, ldd: number,
  dh: Float32Array, dhOff: number, dc: Float32Array, dcOff: number, dz: Float32Array, dzOff: number,
): void {
  const G = 4 * H;
  for (let b = 0; b < rows; b++) {
    const zr = dzOff + b * G;
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
  }
}

/** z [rows, H]: pre-activations in, activations out; h [rows, H] and out rows receive h'. */
export function rnnForwardReference(
  relu: boolean, rows: number, H: number,
  z: Float32Array, zOff: number, h: Float32Array, hOff: number, out: Float32Array, oOff: number, ldo: number,
): void {
  for (let b = 0; b < rows; b++) {
    const zr = zOff + b * H;
    const hr = hOff + b * H;
    const or = oOff + b * ldo;
    for (let j = 0; j < H; j++) {
      const x = z[zr + j]!;
      // relu: PyTorch's max(x, 0); a NaN becomes 0 here as in `!(x > 0)`.
      const v = relu ? (x > 0 ? x : 0) : Math.tanh(x);
      z[zr + j] = v;
      h[hr + j] = v;
      out[or + j] = v;
    }
  }
}

/** dz [rows, H] out; dh [rows, H] in (dL/dh'), out 0. h: the state this step produced. */
export function rnnBackwardReference(
  relu: boolean, rows: number, H: number,
  h: Float32Array, hOff: number, dOut: Float32Array, dOff: number, ldd: number,
  dh: Float32Array, dhOff: number, dz: Float32Array, dzOff: number,
): void {
  for (let b = 0; b < rows; b++) {
    const zr = dzOff + b * H;
    const hr = hOff + b * H;
    const dr = dOff + b * ldd;
    const gr = dhOff + b * H;
    for (let j = 0; j < H; j++) {
      const g = dh[gr + j]! + dOut[dr + j]!;
      const v = h[hr + j]!;
      // relu: PyTorch's threshold_backward passes the gradient where the output is > 0.
      dz[zr + j] = relu ? (v > 0 ? g : 0) : g * (1 - v * v);
      dh[gr + j] = 0;
    }
  }
}

/**
 * gx [rows, 3H]: W_ih x + b_ih in, r|z|n out; gh [rows, 3H]: W_hh h + b_hh (read only);
 * hn [rows, H] receives W_hn h + b_hn (backward needs it); h and out rows receive h'.
 */
export function gruForwardReference(
  rows: number, H: number,
  gx: Float32Array, gxOff: number, gh: Float32Array, ghOff: number, hn: Float32Array, hnOff: number,
  hPrev: Float32Array, hpOff: number, h: Float32Array, hOff: number, out: Float32Array, oOff: number, ldo: number,
): void {
  const G = 3 * H;
  for (let b = 0; b < rows; b++) {
    const xr = gxOff + b * G;
    const hr = ghOff + b * G;
    const pr = b * H;
    const or = oOff + b * ldo;
    // r, z; the sum is rounded to float32 first, as the WebAssembly version computes it.
    for (let j = 0; j < 2 * H; j++) gx[xr + j] = sigmoid(Math.fround(gx[xr + j]! + gh[hr + j]!));
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
  }
}

/**
 * dzx, dzh [rows, 3H] out: gradients of the input-side and recurrent-side pre-activations
 * (equal for r and z; for n, dzh = r * dzx). dh [rows, H] in (dL/dh'), out z * dL/dh'.
 */
export function gruBackwardReference(
  rows: number, H: number,
  gates: Float32Array, gOff: number, hn: Float32Array, hnOff: number, hPrev: Float32Array, hpOff: number,
  dOut: Float32Array, dOff: number, ldd: number,
  dh: Float32Array, dhOff: number, dzx: Float32Array, dzxOff: number, dzh: Float32Array, dzhOff: number,
): void {
  const G = 3 * H;
  for (let b = 0; b < rows; b++) {
    const xr = dzxOff + b * G;
    const hr = dzhOff + b * G;
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
  }
}
