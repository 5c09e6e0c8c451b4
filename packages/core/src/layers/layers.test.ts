/**
 * Every layer type of the table against finite differences through `checkGradients` (its
 * parameters and its input, padded steps included), over sequences and rows; and every layer
 * type's options: an unknown key is refused with the closest valid one, a bad value names the
 * option; firstLayerNotIn (what the ONNX and PyTorch exports refuse). Whole models (the layers
 * composed, each loss) are checked in losses/losses.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { checkGradients } from '../model/gradcheck.js';
import { planModel, type LayerSpec, type ModelSpec } from '../model/model.js';
import { OptionError } from '../options/errors.js';
import { BUILT_IN_LAYERS, firstLayerNotIn, registerLayers } from './table.js';
import { linear } from './linear.js';
import type { LayerDef } from './types.js';

const CASES: Array<[string, LayerSpec, Parameters<typeof checkGradients>[1]?]> = [
  ['embedding', { type: 'embedding', dim: 3 }],
  ['recurrent lstm, 2 layers, bidirectional', { type: 'recurrent', cell: 'lstm', hiddenSize: 3, numLayers: 2, bidirectional: true }],
  ['recurrent gru, no bias, merge sum', { type: 'recurrent', cell: 'gru', hiddenSize: 3, bias: false, bidirectional: true, merge: 'sum' }],
  ['recurrent relu rnn with all dropouts', { type: 'recurrent', cell: 'rnn', nonlinearity: 'relu', hiddenSize: 4, numLayers: 2, dropout: 0.3, inputDropout: 0.2, recurrentDropout: 0.2 }],
  ['linear per step', { type: 'linear', outputSize: 3 }],
  ['linear tanh on rows', { type: 'linear', outputSize: 3, activation: 'tanh' }, { input: { kind: 'rows', size: 4 } }],
  // A small step: a perturbation must not carry a pre-activation across relu's kink.
  ['linear relu without bias', { type: 'linear', outputSize: 5, activation: 'relu', bias: false }, { eps: 1e-3, atol: 1e-3 }],
  ['dropout', { type: 'dropout', p: 0.4 }],
  ['layerNorm per step', { type: 'layerNorm' }],
  ['layerNorm on rows, eps 1e-3', { type: 'layerNorm', eps: 1e-3 }, { input: { kind: 'rows', size: 5 } }],
  ['pool last (no recurrent layer before it: the output at length - 1)', { type: 'pool', mode: 'last' }],
  ['pool mean', { type: 'pool', mode: 'mean' }],
  ['pool max', { type: 'pool', mode: 'max' }],
  ['pool attention', { type: 'pool', mode: 'attention', attentionSize: 3 }],
];

describe('every layer type against finite differences (checkGradients)', () => {
  for (const [title, spec, opts] of CASES) {
    it(title, () => {
      const r = checkGradients(spec, opts);
      expect(r.checked).toBeGreaterThan(0);
      expect(r.ok, r.message).toBe(true);
    });
  }

  it('covers every built-in layer type', () => {
    expect(new Set(CASES.map(([, s]) => s.type))).toEqual(new Set(BUILT_IN_LAYERS));
  });

  it('catches a wrong backward (the check can fail)', () => {
    // The linear layer with its input gradient off by 10%: a table entry of its own.
    const broken: LayerDef<any> = { // eslint-disable-line @typescript-eslint/no-explicit-any
      ...linear,
      type: 'brokenLinear',
      create(o, input, env) {
        const inner = linear.create(o, input, env);
        return {
          forward: (x, p, s) => inner.forward(x, p, s),
          backward(dy, p, s) {
            const g = inner.backward(dy, p, s);
            g.data?.forEach((v, i, a) => (a[i] = 1.1 * v));
            return g;
          },
        };
      },
    };
    registerLayers([broken]);
    const bad = checkGradients({ type: 'brokenLinear', outputSize: 2 });
    expect(bad.ok).toBe(false);
    expect(bad.failures.every((f) => f.name === 'input')).toBe(true);
    expect(bad.message).toMatch(/outside the tolerance; worst input\[/);
  });
});

/** A small valid spec with `layer` in the middle (its options are what the tests vary). */
function specWith(layer: LayerSpec): ModelSpec {
  const pooled = layer.type === 'pool';
  return {
    input: { kind: 'tokens', vocabSize: 6 },
    layers: [
      ...(layer.type === 'embedding' ? [] : [{ type: 'embedding', dim: 4 }]),
      layer,
      ...(pooled ? [] : [{ type: 'pool', mode: 'mean' }]),
      { type: 'linear', name: 'head', outputSize: 2 },
    ],
    loss: { kind: 'crossEntropy' },
  };
}

describe('layer options are strict', () => {
  const MISSPELT: Array<[LayerSpec, string, string]> = [
    [{ type: 'embedding', dim: 4, dimm: 3 }, 'dimm', 'dim'],
    [{ type: 'recurrent', cell: 'lstm', hiddenSize: 3, bidirectinal: true }, 'bidirectinal', 'bidirectional'],
    [{ type: 'linear', outputSize: 3, activaton: 'tanh' }, 'activaton', 'activation'],
    [{ type: 'dropout', p: 0.1, P: 0.2 }, 'P', 'p'],
    [{ type: 'layerNorm', esp: 1e-5 }, 'esp', 'eps'],
    [{ type: 'pool', mode: 'attention', attentionSise: 3 }, 'attentionSise', 'attentionSize'],
  ];
  for (const [layer, bad, good] of MISSPELT) {
    it(`${layer.type}: '${bad}' is refused with '${good}'`, () => {
      const at = layer.type === 'embedding' ? 0 : 1;
      expect(() => planModel(specWith(layer))).toThrow(expect.objectContaining({
        name: 'OptionError', option: `model.layers[${at}].${bad}`, suggestion: good,
        message: expect.stringContaining(`model.layers[${at}].${bad} is not an option of`) as unknown,
      }));
    });
  }

  it('covers every built-in layer type', () => {
    expect(new Set(MISSPELT.map(([l]) => l.type))).toEqual(new Set(BUILT_IN_LAYERS));
  });

  it('the spec itself and its input are strict too', () => {
    const { layers, ...rest } = specWith({ type: 'dropout', p: 0.1 });
    expect(() => planModel({ ...rest, layer: layers } as never)).toThrow(expect.objectContaining({ option: 'model.layer', suggestion: 'layers' }));
    expect(() => planModel({ ...rest, layers, input: { kind: 'tokens', vocabSise: 6 } } as never)).toThrow(expect.objectContaining({
      option: 'model.input.vocabSise', suggestion: 'vocabSize',
    }));
    expect(() => planModel({ ...rest, layers: [] })).toThrow('model.layers must be a non-empty array of layers, got []');
  });

  it('an unknown layer type names the closest', () => {
    expect(() => planModel(specWith({ type: 'lienar', outputSize: 3 }))).toThrow(expect.objectContaining({
      option: 'model.layers[1].type', suggestion: 'linear',
    }));
  });

  it('bad values name the option', () => {
    expect(() => planModel(specWith({ type: 'pool', mode: 'maxx' }))).toThrow("model.layers[1].mode must be 'last', 'mean', 'max' or 'attention', got \"maxx\"; did you mean 'max'?");
    expect(() => planModel(specWith({ type: 'dropout', p: 1 }))).toThrow('model.layers[1].p must be a number in [0, 1), got 1');
    expect(() => planModel(specWith({ type: 'recurrent', cell: 'lstm', hiddenSize: 0 }))).toThrow('model.layers[1].hiddenSize must be a positive integer, got 0');
    expect(() => planModel(specWith({ type: 'linear', outputSize: 3, tie: 'embeding' }))).toThrow(/model.layers\[1\].tie must name an embedding layer before it \('embedding'\), got "embeding"; did you mean 'embedding'\?/);
    expect(() => planModel(specWith({ type: 'pool', mode: 'mean', attentionSize: 3 }))).toThrow(OptionError);
  });

  it('names default to the type, numbered when it repeats, and must differ', () => {
    const plan = planModel({
      input: { kind: 'dense', size: 2 },
      layers: [{ type: 'linear', outputSize: 3 }, { type: 'linear', outputSize: 2 }, { type: 'pool', mode: 'max' }],
      loss: { kind: 'mse' },
    });
    expect(plan.layout.names()).toEqual(['linear0.weight', 'linear0.bias', 'linear1.weight', 'linear1.bias']);
    expect(plan.task).toBe('value-per-sequence');
    expect(() => planModel({
      input: { kind: 'dense', size: 2 },
      layers: [{ type: 'linear', name: 'a', outputSize: 3 }, { type: 'linear', name: 'a', outputSize: 2 }],
      loss: { kind: 'mse' },
    })).toThrow("model.layers[1].name 'a' is already the name of an earlier layer");
  });

  it('a resolved spec resolves to itself (what a checkpoint stores)', () => {
    const spec = specWith({ type: 'pool', mode: 'attention' });
    const once = planModel(spec).spec;
    expect(planModel(once).spec).toEqual(once);
    expect(once.layers[1]).toEqual({ type: 'pool', name: 'pool', mode: 'attention', attentionSize: 4 });
  });
});

describe('firstLayerNotIn: the first layer an export that writes some types only cannot write', () => {
  it('gives its index in the stored layers (entries without a string type passed over, not dropped), type and name', () => {
    const layers = [{ type: 'embedding', dim: 4 }, { dim: 3 }, { type: 'recurrent' }, { type: 'highway', name: 'gate' }, { type: 'other' }];
    expect(firstLayerNotIn(layers, BUILT_IN_LAYERS)).toEqual({ index: 3, type: 'highway', name: 'gate' });
    expect(firstLayerNotIn([{ type: 'pool' }, { type: 'highway', name: 7 }], ['pool'])).toEqual({ index: 1, type: 'highway' });
    expect(firstLayerNotIn(layers.slice(0, 3), BUILT_IN_LAYERS)).toBeUndefined();
    for (const notLayers of [undefined, null, 'linear', { type: 'x' }]) expect(firstLayerNotIn(notLayers, BUILT_IN_LAYERS)).toBeUndefined();
  });
});
