/**
 * Every loss of the table, per sequence and per step, inside small whole models, against finite
 * differences of the model's loss sum through `checkGradients` (the layers composed: embeddings,
 * tied weights, pools, layer norm, dropout); each loss's options strict; and the terms a global
 * batch's mean divides by, which the shards' own denominators must add up to.
 */
import { describe, expect, it } from 'vitest';
import { checkGradients } from '../model/gradcheck.js';
import { SequenceModel, gatherBatch, planModel, type LayerSpec, type LossSpec, type ModelSpec } from '../model/model.js';
import { lossTerms } from '../train/step.js';
import type { SequenceDataset } from '../data/dataset.js';
import { LOSS_KINDS } from './table.js';

const rnn: LayerSpec = { type: 'recurrent', name: 'rnn', cell: 'gru', hiddenSize: 4, bidirectional: true };

function model(loss: LossSpec, perStep: boolean, extra: LayerSpec[] = [], outputSize = 3): ModelSpec {
  return {
    input: { kind: 'tokens', vocabSize: 6 },
    layers: [{ type: 'embedding', dim: 4 }, rnn, ...extra, ...(perStep ? [] : [{ type: 'pool', mode: 'attention', attentionSize: 3 }]), { type: 'linear', name: 'head', outputSize }],
    loss,
  };
}

const CASES: Array<[string, ModelSpec]> = [
  ['crossEntropy per sequence', model({ kind: 'crossEntropy' }, false)],
  ['crossEntropy per step, class weights', model({ kind: 'crossEntropy', classWeights: [0.5, 2, 1] }, true)],
  ['crossEntropy per step, label smoothing', model({ kind: 'crossEntropy', labelSmoothing: 0.2 }, true)],
  ['crossEntropy per sequence, weights and smoothing', model({ kind: 'crossEntropy', classWeights: [1, 3, 0.25], labelSmoothing: 0.1 }, false)],
  ['binaryCrossEntropy per sequence', model({ kind: 'binaryCrossEntropy' }, false, [{ type: 'layerNorm' }])],
  ['binaryCrossEntropy per step', model({ kind: 'binaryCrossEntropy' }, true, [{ type: 'dropout', p: 0.3 }])],
  ['mse per step, dense input, max pool', {
    input: { kind: 'dense', size: 3 },
    layers: [{ type: 'linear', outputSize: 4, activation: 'tanh' }, { type: 'recurrent', cell: 'lstm', hiddenSize: 3 }, { type: 'pool', mode: 'max' }, { type: 'linear', outputSize: 2 }],
    loss: { kind: 'mse' },
  }],
  ['huber per step', model({ kind: 'huber', delta: 0.3 }, true, [], 2)],
  ['huber per sequence (mean pool)', {
    input: { kind: 'dense', size: 2 },
    layers: [{ type: 'recurrent', cell: 'rnn', hiddenSize: 4 }, { type: 'pool', mode: 'mean' }, { type: 'linear', outputSize: 2 }],
    loss: { kind: 'huber' },
  }],
  ['crossEntropy, tied weights (a language model)', {
    input: { kind: 'tokens', vocabSize: 7 },
    layers: [{ type: 'embedding', dim: 4 }, { type: 'recurrent', cell: 'lstm', hiddenSize: 4 }, { type: 'linear', outputSize: 7, tie: 'embedding' }],
    loss: { kind: 'crossEntropy' },
  }],
  ['a model config (the preset)', { cell: 'lstm', hiddenSize: 3, input: { kind: 'tokens', vocabSize: 5, embeddingDim: 3 }, task: 'class-per-sequence', outputSize: 2, pooling: 'mean' } as never],
];

describe('every loss in a model against finite differences (checkGradients)', () => {
  for (const [title, spec] of CASES) {
    it(title, () => {
      const r = checkGradients(spec, { samples: 8 });
      expect(r.checked).toBeGreaterThan(0);
      expect(r.ok, r.message).toBe(true);
    });
  }

  it('covers every loss kind', () => {
    expect(new Set(CASES.map(([, s]) => s.loss?.kind).filter(Boolean))).toEqual(new Set(LOSS_KINDS));
  });
});

describe('loss options are strict', () => {
  const MISSPELT: Array<[LossSpec, string, string]> = [
    [{ kind: 'crossEntropy', classWeight: [1, 1, 1] }, 'classWeight', 'classWeights'],
    [{ kind: 'crossEntropy', labelSmothing: 0.1 }, 'labelSmothing', 'labelSmoothing'],
    [{ kind: 'huber', detla: 1 }, 'detla', 'delta'],
  ];
  for (const [loss, bad, good] of MISSPELT) {
    it(`${loss.kind}: '${bad}' is refused with '${good}'`, () => {
      expect(() => planModel(model(loss, false))).toThrow(expect.objectContaining({
        name: 'OptionError', option: `model.loss.${bad}`, suggestion: good,
        message: expect.stringContaining(`model.loss.${bad} is not an option of the '${loss.kind}' loss; did you mean ${good}?`) as unknown,
      }));
    });
  }

  it('losses without options refuse any', () => {
    for (const kind of ['binaryCrossEntropy', 'mse']) {
      expect(() => planModel(model({ kind, delta: 1 }, false))).toThrow(`model.loss.delta is not an option of the '${kind}' loss`);
    }
  });

  it('an unknown kind names the closest; bad values name the option', () => {
    expect(() => planModel(model({ kind: 'crossEntropi' }, false))).toThrow(expect.objectContaining({ option: 'model.loss.kind', suggestion: 'crossEntropy' }));
    expect(() => planModel(model({ kind: 'crossEntropy', classWeights: [1, 2] }, false))).toThrow('model.loss.classWeights must be an array of 3 non-negative numbers (one per class), got [1,2]');
    expect(() => planModel(model({ kind: 'crossEntropy', labelSmoothing: 1.5 }, false))).toThrow('model.loss.labelSmoothing must be a number in [0, 1), got 1.5');
    expect(() => planModel(model({ kind: 'huber', delta: 0 }, false))).toThrow('model.loss.delta must be a positive number, got 0');
  });

  it('each loss sets the targets the model needs', () => {
    expect(planModel(model({ kind: 'crossEntropy' }, true)).task).toBe('class-per-step');
    expect(planModel(model({ kind: 'binaryCrossEntropy' }, false)).task).toBe('multilabel-per-sequence');
    expect(planModel(model({ kind: 'huber' }, true)).task).toBe('value-per-step');
  });
});

describe('the mean over a global batch, cut into shards', () => {
  /** Per-step classes with some ignored targets. */
  function data(): SequenceDataset {
    const count = 5;
    const T = 4;
    const lengths = Int32Array.from([4, 2, 3, 4, 1]);
    const inputs = Int32Array.from({ length: count * T }, (_, i) => (i * 7) % 6);
    const targets = Int32Array.from({ length: count * T }, (_, i) => (i % T < lengths[Math.floor(i / T)]! ? (i * 5) % 3 : -1));
    targets[2] = -1; // an ignored target inside a sequence
    return { inputKind: 'tokens', inputSize: 6, targetKind: 'class-per-step', outputSize: 3, count, maxSteps: T, lengths, inputs, targets };
  }

  it('class weights: the terms are the sum of the targets\' weights, and the shards\' weights add up to them', () => {
    const spec = model({ kind: 'crossEntropy', classWeights: [0.5, 2, 1], labelSmoothing: 0.1 }, true);
    const m = new SequenceModel(spec);
    const d = data();
    const rows = Int32Array.from([0, 1, 2, 3, 4]);
    let expected = 0;
    const w = [0.5, 2, 1];
    for (let r = 0; r < d.count; r++) for (let t = 0; t < d.lengths[r]!; t++) if (d.targets[r * 4 + t]! >= 0) expected += w[d.targets[r * 4 + t]!]!;
    const terms = lossTerms(d, rows, m.plan.loss);
    expect(terms).toBeCloseTo(expected, 12);
    // Without the model's loss, lossTerms counts targets (plain cross-entropy).
    expect(lossTerms(d, rows)).toBe(d.targets.filter((t, i) => t >= 0 && i % 4 < d.lengths[Math.floor(i / 4)]!).length);
    // The loss over the whole batch equals the shards' sums over the shards' weights.
    const whole = m.evaluate(gatherBatch(d, rows));
    let sum = 0;
    let weight = 0;
    for (const [a, b] of [[0, 2], [2, 5]] as const) {
      const r = m.evaluate(gatherBatch(d, rows, a, b));
      sum += r.sum;
      weight += r.weight;
    }
    expect(weight).toBeCloseTo(terms, 12);
    expect(whole.weight).toBeCloseTo(terms, 12);
    expect(sum / weight).toBeCloseTo(whole.sum / whole.weight, 12);
  });
});
