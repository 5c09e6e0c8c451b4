/**
 * The seed tutorial's worked example, reproduced with a weft stack: state n = 2, input m = 1,
 *   w_t = tanh([w_{t-1}, x_t] · A1 + b1),   o_t = w_t · A2 + b2,
 * A1 = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]] (the state's rows first, the input's last),
 * b1 = (0.1, -0.1), A2 = [[1], [2]], b2 = 0.1, w_0 = (0, 0), inputs 1 then 2. The tutorial prints
 * w1 = (0.537, 0.462), o1 = 1.56, w2 = (0.860, 0.884), o2 = 2.73.
 *
 * In PyTorch's terms z = W_ih x + b_ih + W_hh w + b_hh with W = A1ᵀ split by rows:
 * weight_hh_l0 = (A1's first two rows)ᵀ, weight_ih_l0 = (A1's last row)ᵀ, bias_ih = b1 and
 * bias_hh = 0 (the tutorial has one recurrent bias, PyTorch two). The head o = w·A2 + b2 is
 * computed here by plain arithmetic on the stack's output.
 */
import { describe, expect, it } from 'vitest';
import { RecurrentStack } from '@weft/core';

const A1 = [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]];
const b1 = [0.1, -0.1];
const A2 = [[1], [2]];
const b2 = [0.1];
const n = 2;
const m = 1;

/** Round to the tutorial's printed precision: 3 significant digits. */
const printed = (v: number): number => Number(v.toPrecision(3));

describe('seed tutorial worked example', () => {
  const net = new RecurrentStack({ cell: 'rnn', inputSize: m, hiddenSize: n, nonlinearity: 'tanh' });
  // weight_hh[j][k] = A1[k][j] for the state rows k < n; weight_ih[j][0] = A1[n][j].
  const whh: number[] = [];
  const wih: number[] = [];
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) whh.push(A1[k]![j]!);
    wih.push(A1[n]![j]!);
  }
  net.loadStateDict({ weight_ih_l0: wih, weight_hh_l0: whh, bias_ih_l0: b1, bias_hh_l0: [0, 0] });

  it('reproduces w1, o1, w2, o2 to the printed digits', () => {
    const { output, hN } = net.forward(new Float32Array([1, 2]), { batch: 1, steps: 2 });
    const w1 = [output[0]!, output[1]!];
    const w2 = [output[2]!, output[3]!];
    const head = (w: number[]): number => w[0]! * A2[0]![0]! + w[1]! * A2[1]![0]! + b2[0]!;
    expect(w1.map(printed)).toEqual([0.537, 0.462]);
    expect(printed(head(w1))).toBe(1.56);
    expect(w2.map(printed)).toEqual([0.86, 0.884]);
    expect(printed(head(w2))).toBe(2.73);
    // The final state is the last step's output.
    expect(Array.from(hN)).toEqual(w2);
  });

  it('counts parameters: the tutorial\'s 11, weft\'s 11 + n = 13 (PyTorch\'s second bias)', () => {
    const seedCount = (n + m) * n + n + n * m + m; // [w, x]·A1 + b1, then w·A2 + b2
    expect(seedCount).toBe(11);
    const weftCount = net.layout.size + (n * m + m); // stack (two biases) + linear head
    expect(weftCount).toBe(seedCount + n);
    expect(weftCount).toBe(13);
  });
});
