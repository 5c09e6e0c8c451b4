/**
 * The model config refuses what it does not know: a misspelt key (with the closest valid one),
 * a training option put in the model by mistake, a misspelt key of the input. The stack's own
 * options (bias included) are the model's, so `bias: false` builds a stack without biases.
 */
import { describe, expect, it } from 'vitest';
import { OptionError } from '../options/errors.js';
import { modelLayout, resolveModelConfig, SequenceModel, type ModelConfig } from './model.js';

const base: ModelConfig = {
  cell: 'gru', hiddenSize: 4, input: { kind: 'tokens', vocabSize: 5 }, task: 'class-per-sequence', outputSize: 3,
};

describe('model config keys', () => {
  it('refuses a misspelt key with the closest valid one', () => {
    const misspelt = () => new SequenceModel({ ...base, bidirectinal: true } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({
      message: 'model.bidirectinal is not an option of the model config; did you mean bidirectional?',
      option: 'model.bidirectinal', suggestion: 'bidirectional',
    }));
    expect(new SequenceModel({ ...base, bidirectional: true }).stack.numDirections).toBe(2);
  });

  it('refuses a training option given to the model, with the list of the model\'s keys', () => {
    const far = () => resolveModelConfig({ ...base, clip_norm: 1 } as never);
    expect(far).toThrow(OptionError);
    expect(far).toThrow(expect.objectContaining({
      message: 'model.clip_norm is not an option of the model config; expected one of: cell, hiddenSize, numLayers, bidirectional, ' +
        'merge, nonlinearity, bias, dropout, inputDropout, recurrentDropout, seed, input, task, outputSize, pooling',
      suggestion: undefined,
    }));
    expect(() => resolveModelConfig({ ...base, inputSize: 5 } as never)).toThrow('model.inputSize is not an option of the model config');
  });

  it('refuses a misspelt key of the input', () => {
    const input = { kind: 'tokens', vocabSize: 5, embedingDim: 4 };
    expect(() => resolveModelConfig({ ...base, input } as never)).toThrow(expect.objectContaining({
      message: "model.input.embedingDim is not an option of a 'tokens' input; did you mean embeddingDim?",
      option: 'model.input.embedingDim', suggestion: 'embeddingDim',
    }));
    expect(() => resolveModelConfig({ ...base, input: { kind: 'dense', size: 2, vocabSize: 5 } } as never)).toThrow(
      "model.input.vocabSize is not an option of a 'dense' input; expected one of: kind, size",
    );
    expect(() => resolveModelConfig({ ...base, input: { kind: 'token', vocabSize: 5 } } as never)).toThrow(
      `model.input.kind must be 'tokens' or 'dense', got "token"; did you mean 'tokens'?`,
    );
  });

  it('passes bias to the stack: bias false builds no bias tensors', () => {
    expect(resolveModelConfig(base).bias).toBe(true);
    const names = modelLayout({ ...base, bias: false }).names();
    expect(names.filter((n) => n.startsWith('rnn.bias'))).toEqual([]);
    expect(names).toContain('rnn.weight_hh_l0');
    expect(modelLayout(base).names()).toContain('rnn.bias_hh_l0');
  });
});
