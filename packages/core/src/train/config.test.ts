/**
 * The training config, and LocalTrainer.fit's options, refuse keys they do not have: a
 * misspelt one names the closest valid key, a far-off one gets the list of valid keys.
 */
import { describe, expect, it } from 'vitest';
import { OptionError } from '../options/errors.js';
import { resolveTrainConfig, type TrainConfig } from './config.js';
import { LocalTrainer } from './local.js';
import { tokenData, V } from '../../../../test/helpers/workers-data.js';

const model: TrainConfig['model'] = { cell: 'rnn', hiddenSize: 3, input: { kind: 'tokens', vocabSize: V }, task: 'class-per-step', outputSize: V, seed: 1 };

describe('training config keys', () => {
  it('refuses a misspelt key with the closest valid one', () => {
    const misspelt = () => resolveTrainConfig({ model, batch_size: 8 } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({
      message: 'batch_size is not an option of the training config; did you mean batchSize?',
      option: 'batch_size', suggestion: 'batchSize',
    }));
    expect(resolveTrainConfig({ model, batchSize: 8 }).batchSize).toBe(8);
  });

  it('lists the valid keys for a far-off one', () => {
    expect(() => resolveTrainConfig({ model, epochs: 3 } as never)).toThrow(expect.objectContaining({
      message: 'epochs is not an option of the training config; expected one of: model, optimizer, schedule, batchSize, shardSize, ' +
        'clipNorm, clipValue, seed, carryState, nonFinite',
      suggestion: undefined,
    }));
  });

  it('checks the model config it holds', () => {
    expect(() => resolveTrainConfig({ model: { ...model, hiddenSise: 3 } as never })).toThrow(expect.objectContaining({
      message: 'model.hiddenSise is not an option of the model config; did you mean hiddenSize?', suggestion: 'hiddenSize',
    }));
    expect(() => new LocalTrainer({ model, nonFinite: 'skipp' as never })).toThrow(
      `nonFinite must be 'skip' or 'error', got "skipp"; did you mean 'skip'?`,
    );
  });
});

describe('LocalTrainer.fit options', () => {
  it('refuses a misspelt key with the closest valid one; the right key trains', () => {
    const data = tokenData(8);
    const t = new LocalTrainer({ model, batchSize: 4, optimizer: { name: 'sgd', lr: 0.1 } });
    const misspelt = () => t.fit(data, { epoch: 1 } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({ message: 'epoch is not an option of fit; did you mean epochs?', suggestion: 'epochs' }));
    expect(t.step).toBe(0);
    expect(Number.isFinite(t.fit(data, { epochs: 1 }).loss)).toBe(true);
    expect(t.step).toBe(2);
    expect(() => t.fit(data, { epochs: 1, validaton: data } as never)).toThrow('validaton is not an option of fit; did you mean validation?');
    expect(() => t.fit(data, { epochs: 1, validation: data, earlyStopping: { patience: 1, patients: 2 } } as never)).toThrow(
      'earlyStopping.patients is not an option of early stopping; did you mean patience?',
    );
    expect(() => t.fit(data, { epochs: 1, validation: data, reduceOnPlateau: { factr: 0.5 } } as never)).toThrow(
      'reduceOnPlateau.factr is not an option of reduce-on-plateau; did you mean factor?',
    );
    expect(() => t.fit(data, { epochs: 1, checkpoint: { save: () => {}, evry: 2 } } as never)).toThrow(
      'checkpoint.evry is not an option of checkpointing; did you mean every?',
    );
  });
});
