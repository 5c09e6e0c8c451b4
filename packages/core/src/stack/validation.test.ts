/**
 * Errors are part of the interface: each names the option or tensor and what was expected.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { RecurrentStack } from './stack.js';
import type { StackOptions } from './config.js';
import { OptionError } from '../options/errors.js';

const base: StackOptions = { cell: 'lstm', inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true };

function fullStateDict(net: RecurrentStack): Record<string, Float32Array> {
  return Object.fromEntries(net.stateDict());
}

describe('loadStateDict', () => {
  const net = new RecurrentStack(base);

  it('names unknown, missing and wrong-size tensors, and writes nothing when any is wrong', () => {
    const before = net.paramBuffer.slice();
    const sd = fullStateDict(new RecurrentStack({ ...base, seed: 7 }));
    const unknown = { ...sd, 'weight_ih_l2': new Float32Array(3) };
    expect(() => net.loadStateDict(unknown)).toThrow(RangeError);
    expect(() => net.loadStateDict(unknown)).toThrow("unknown tensor 'weight_ih_l2'");

    const missing: Record<string, Float32Array> = { ...sd };
    delete missing['bias_hh_l1_reverse'];
    expect(() => net.loadStateDict(missing)).toThrow("missing tensor 'bias_hh_l1_reverse'");

    const wrong = { ...sd, 'weight_hh_l0': new Float32Array(15) };
    expect(() => net.loadStateDict(wrong)).toThrow("tensor 'weight_hh_l0' has 15 values, expected 64 (shape [16, 4])");

    const all = new Map(Object.entries({ ...wrong, extra: [1] }));
    all.delete('bias_ih_l0');
    let msg = '';
    try {
      net.loadStateDict(all);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("unknown tensor 'extra'");
    expect(msg).toContain("missing tensor 'bias_ih_l0'");
    expect(msg).toContain("tensor 'weight_hh_l0' has 15 values");
    expect(net.paramBuffer).toEqual(before);
  });

  it('accepts plain arrays and Maps', () => {
    const sd = fullStateDict(new RecurrentStack({ ...base, seed: 8 }));
    const plain = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, Array.from(v)]));
    net.loadStateDict(plain);
    expect(net.stateDict()).toEqual(new Map(Object.entries(sd)));
  });
});

describe('constructor options', () => {
  it.each([
    [{ ...base, cell: 'rnnn' as never }, OptionError, "options.cell must be 'rnn', 'lstm' or 'gru'"],
    [{ ...base, hiddenSize: 0 }, OptionError, 'options.hiddenSize must be a positive integer, got 0'],
    [{ ...base, inputSize: 2.5 }, OptionError, 'options.inputSize must be a positive integer, got 2.5'],
    [{ ...base, numLayers: -1 }, OptionError, 'options.numLayers must be a positive integer'],
    [{ ...base, merge: 'max' as never }, OptionError, "options.merge must be 'concat', 'sum' or 'mean'"],
    [{ ...base, nonlinearity: 'sigmoid' as never }, OptionError, "options.nonlinearity must be 'tanh' or 'relu'"],
    [{ ...base, dropout: 1 }, OptionError, 'options.dropout must be a number in [0, 1), got 1'],
    [{ ...base, recurrentDropout: -0.1 }, OptionError, 'options.recurrentDropout must be a number in [0, 1)'],
    [{ ...base, inputDropout: Number.NaN }, OptionError, 'options.inputDropout must be a number in [0, 1)'],
  ])('%#: rejects %o', (o, type, message) => {
    expect(() => new RecurrentStack(o)).toThrow(type);
    expect(() => new RecurrentStack(o)).toThrow(message);
  });

  it('refuses a misspelt option with the closest valid one, a far-off one with the list', () => {
    const misspelt = () => new RecurrentStack({ ...base, bidirectinal: false } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({
      message: 'options.bidirectinal is not an option of the recurrent stack; did you mean bidirectional?',
      option: 'options.bidirectinal', suggestion: 'bidirectional',
    }));
    expect(new RecurrentStack({ ...base, bidirectional: false }).numDirections).toBe(1);
    const far = () => new RecurrentStack({ ...base, learningRate: 0.1 } as never);
    expect(far).toThrow(expect.objectContaining({
      message: 'options.learningRate is not an option of the recurrent stack; expected one of: cell, inputSize, hiddenSize, ' +
        'numLayers, bidirectional, merge, nonlinearity, bias, dropout, inputDropout, recurrentDropout, seed',
      suggestion: undefined,
    }));
  });

  it('suggests the closest choice for a misspelt value', () => {
    expect(() => new RecurrentStack({ ...base, cell: 'lstn' as never })).toThrow(expect.objectContaining({
      message: `options.cell must be 'rnn', 'lstm' or 'gru', got "lstn"; did you mean 'lstm'?`, option: 'options.cell', suggestion: "'lstm'",
    }));
  });

  it('refuses a misspelt buffer', () => {
    const n = RecurrentStack.layoutFor(base).size;
    expect(() => new RecurrentStack(base, { param: new Float32Array(n) } as never)).toThrow(
      "buffers.param is not an option of the stack's buffers; did you mean params?",
    );
  });

  it('rejects buffers that are too small', () => {
    const n = RecurrentStack.layoutFor(base).size;
    expect(() => new RecurrentStack(base, { params: new Float32Array(n - 1) })).toThrow(`buffers.params has ${n - 1} floats, the stack needs ${n}`);
    expect(() => new RecurrentStack(base, { grads: new Float32Array(3) })).toThrow(`buffers.grads has 3 floats, the stack needs ${n}`);
    const net = new RecurrentStack(base);
    expect(() => net.bindGrads(new Float32Array(2))).toThrow(RangeError);
    expect(() => net.bindGrads(new Float32Array(2))).toThrow(`bindGrads(buf) has 2 floats, the stack needs ${n}`);
  });
});

describe('forward and backward inputs', () => {
  const net = new RecurrentStack({ ...base, dropout: 0.5 });
  const B = 2, T = 3;
  const x = new Float32Array(B * T * 3);

  it.each([
    [x.subarray(1), { batch: B, steps: T }, RangeError, 'forward x has 17 values, expected batch*steps*inputSize = 2*3*3 = 18'],
    [x, { batch: 0, steps: T }, OptionError, 'forward options.batch must be a positive integer, got 0'],
    [x, { batch: B, steps: 1.5 }, OptionError, 'forward options.steps must be a positive integer, got 1.5'],
    [x, { batch: B, steps: T, lengths: [3] }, RangeError, 'forward options.lengths must have batch = 2 entries, got 1'],
    [x, { batch: B, steps: T, lengths: [3, 0] }, RangeError, 'forward options.lengths[1] must be an integer in [1, steps = 3], got 0'],
    [x, { batch: B, steps: T, lengths: [4, 1] }, RangeError, 'forward options.lengths[0] must be an integer in [1, steps = 3], got 4'],
    [x, { batch: B, steps: T, h0: new Float32Array(5) }, RangeError, 'forward options.h0 has 5 values, expected numLayers*D*batch*hiddenSize = 32'],
    [x, { batch: B, steps: T, c0: new Float32Array(31) }, RangeError, 'forward options.c0 has 31 values, expected numLayers*D*batch*hiddenSize = 32'],
    [x, { batch: B, steps: T, training: 1 as never }, OptionError, 'forward options.training must be a boolean, got 1'],
    [x, { batch: B, steps: T, training: true }, OptionError, 'forward options.rng must be an Rng when training with dropout'],
  ])('%#: rejects bad forward input', (xx, o, type, message) => {
    expect(() => net.forward(xx, o)).toThrow(type);
    expect(() => net.forward(xx, o)).toThrow(message);
  });

  it('refuses misspelt forward options and backward inputs', () => {
    expect(() => net.forward(x, { batch: B, steps: T, lenghts: [3, 2] } as never)).toThrow(expect.objectContaining({
      message: 'forward options.lenghts is not an option of forward; did you mean lengths?', suggestion: 'lengths',
    }));
    const fresh = new RecurrentStack(base);
    fresh.forward(x, { batch: B, steps: T, lengths: [3, 2] });
    expect(() => fresh.backward({ dOuput: new Float32Array(48) } as never)).toThrow(expect.objectContaining({
      message: 'backward input.dOuput is not an option of backward; did you mean dOutput?', suggestion: 'dOutput',
    }));
  });

  it('c0 and dCN only for LSTM', () => {
    const gru = new RecurrentStack({ ...base, cell: 'gru' });
    expect(() => gru.forward(x, { batch: B, steps: T, c0: new Float32Array(32) })).toThrow("forward options.c0 is only accepted by cell 'lstm', this stack is 'gru'");
    gru.forward(x, { batch: B, steps: T });
    expect(() => gru.backward({ dCN: new Float32Array(32) })).toThrow("backward dCN is only accepted by cell 'lstm', this stack is 'gru'");
  });

  it('backward needs a forward and gradients of the right sizes', () => {
    const fresh = new RecurrentStack(base);
    expect(() => fresh.backward({})).toThrow('backward() needs a forward() first');
    fresh.forward(x, { batch: B, steps: T, training: true, rng: new Rng(1) });
    expect(() => fresh.backward({ dOutput: new Float32Array(5) })).toThrow('backward dOutput has 5 values, expected batch*steps*outputSize = 48');
    expect(() => fresh.backward({ dHN: new Float32Array(5) })).toThrow('backward dHN has 5 values, expected numLayers*D*batch*hiddenSize = 32');
    expect(() => fresh.backward({ dCN: new Float32Array(5) })).toThrow(RangeError);
  });
});
