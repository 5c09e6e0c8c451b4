/**
 * A multi-label model trained from the multi-label loader (examples/data/multilabel.jsonl): the
 * Trainer with 1, 2 and 3 workers gives bit-identical losses, weights and optimizer state, and
 * the same as LocalTrainer; an evaluation that returns its outputs (evaluate's `outputs`, fit's
 * `validationOutputs`, what `weft train`'s micro-F1 reads) gives predict's outputs bit for bit. (PyTorch's numbers for a multi-label spec on fixed batches are
 * checked in trajectory-spec.test.ts; this is the loader's data, shuffled batches, uneven shards
 * and variable lengths through the pool.)
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalTrainer, OptionError, SequenceModel, epochBatches, loadMultilabel, modelShape, type EpochEvent, type ModelSpec, type TrainConfig } from '@weft/core';
import { Trainer } from '@weft/workers';
import { firstDifference } from './helpers/workers-data.js';

const data = loadMultilabel(fileURLToPath(new URL('../examples/data/multilabel.jsonl', import.meta.url)), { validFraction: 0.1, seed: 0 });
const train = data.train;
const C = data.meta.labels.length;
const shape = modelShape(data.meta);

const spec: ModelSpec = {
  input: shape.input,
  layers: [
    { type: 'embedding', name: 'embedding', dim: 8 },
    { type: 'recurrent', name: 'rnn', cell: 'gru', hiddenSize: 12, bidirectional: true, dropout: 0 },
    { type: 'pool', name: 'pool', mode: 'max' },
    { type: 'linear', name: 'head', outputSize: C },
  ],
  loss: { kind: 'binaryCrossEntropy' },
  seed: 3,
};
// Shards of 7: uneven cuts of a batch of 24, so 2 and 3 workers split it differently.
const config: TrainConfig = { model: spec, optimizer: { name: 'adam', lr: 0.01 }, batchSize: 24, shardSize: 7, clipNorm: 1, seed: 5 };
const batches = epochBatches(train.count, 24, 5, 0).slice(0, 8);

interface Run {
  losses: number[];
  correct: number[];
  params: Float32Array;
  states: Float32Array[];
}

function localRun(): Run {
  const t = new LocalTrainer(config);
  const r: Run = { losses: [], correct: [], params: new Float32Array(), states: [] };
  for (const rows of batches) {
    const s = t.trainStep(train, rows);
    r.losses.push(s.loss);
    r.correct.push(s.correct);
  }
  return { ...r, params: t.runner.params.slice(), states: t.runner.states.map((s) => s.slice()) };
}

async function poolRun(workers: number): Promise<Run> {
  const t = new Trainer({ ...config, workers, kernels: 'reference' });
  try {
    const r: Run = { losses: [], correct: [], params: new Float32Array(), states: [] };
    for (const rows of batches) {
      const s = await t.trainStep(train, rows);
      r.losses.push(s.loss);
      r.correct.push(s.correct);
    }
    const st = t.getState();
    return { ...r, params: st.params, states: st.optimizer.states };
  } finally {
    await t.close();
  }
}

describe('a multi-label model from the loader through the worker pool', () => {
  it('1, 2 and 3 workers train bit-identically to each other and to LocalTrainer', async () => {
    expect(train.targetKind).toBe('multilabel-per-sequence');
    const local = localRun();
    // The run moves and learns: otherwise equality would prove little.
    expect(firstDifference(local.params, new SequenceModel(spec).paramBuffer)).not.toBe(-1);
    expect(local.losses[local.losses.length - 1]!).toBeLessThan(local.losses[0]!);
    for (const n of [1, 2, 3]) {
      const p = await poolRun(n);
      expect(p.losses, `${n} worker(s): losses`).toEqual(local.losses);
      expect(p.correct, `${n} worker(s): correct labels`).toEqual(local.correct);
      expect(firstDifference(p.params, local.params), `${n} worker(s): first differing parameter`).toBe(-1);
      p.states.forEach((s, k) => expect(firstDifference(s, local.states[k]!), `${n} worker(s): optimizer state ${k}`).toBe(-1));
    }
  });

  it('evaluate with outputs: true gives predict\'s outputs bit for bit, and the same loss, on LocalTrainer and 1 and 2 workers', async () => {
    const valid = data.valid!;
    const local = new LocalTrainer(config);
    for (const rows of batches.slice(0, 3)) local.trainStep(train, rows);
    const predicted = local.predict(valid);
    const evaluated = local.evaluate(valid, { outputs: true });
    expect(evaluated.shape).toEqual(predicted.shape);
    expect(firstDifference(evaluated.outputs!, predicted.outputs), 'LocalTrainer: first differing output').toBe(-1);
    expect({ ...evaluated, outputs: undefined, shape: undefined }).toEqual({ ...local.evaluate(valid), outputs: undefined, shape: undefined });
    // Without the option there are no outputs, as before.
    expect(Object.keys(local.evaluate(valid)).sort()).toEqual(['accuracy', 'count', 'loss']);
    for (const n of [1, 2]) {
      const t = new Trainer({ ...config, workers: n, kernels: 'reference' });
      try {
        t.setState(local.getState());
        const p = await t.predict(valid);
        const e = await t.evaluate(valid, { outputs: true });
        expect(firstDifference(e.outputs!, p.outputs), `${n} worker(s): first differing output`).toBe(-1);
        expect(firstDifference(e.outputs!, predicted.outputs), `${n} worker(s) against LocalTrainer`).toBe(-1);
        expect(e.shape).toEqual(p.shape);
        expect(e).toEqual(evaluated);
        await expect(t.predict(valid, { outputs: true } as never)).rejects.toThrow(OptionError);
      } finally {
        await t.close();
      }
    }
  });

  it('fit with validationOutputs: each validation\'s outputs are what predict gives right then; FitResult.epochs does not keep them', async () => {
    const valid = data.valid!;
    const localSeen: EpochEvent[] = [];
    const local = new LocalTrainer(config);
    local.fit(train, {
      epochs: 2, validation: valid, validationOutputs: true,
      onEpoch: (e) => {
        expect(firstDifference(e.validation!.outputs!, local.predict(valid).outputs), `LocalTrainer, epoch ${e.epoch}: first differing output`).toBe(-1);
        localSeen.push(e);
      },
    });
    expect(localSeen).toHaveLength(2);
    for (const n of [1, 2]) {
      const t = new Trainer({ ...config, workers: n, kernels: 'reference' });
      try {
        const seen: EpochEvent[] = [];
        const r = await t.fit(train, {
          epochs: 2, validation: valid, validationOutputs: true,
          onEpoch: async (e) => {
            const p = await t.predict(valid);
            expect(firstDifference(e.validation!.outputs!, p.outputs), `${n} worker(s), epoch ${e.epoch}: first differing output`).toBe(-1);
            expect(e.validation!.shape).toEqual(p.shape);
            seen.push(e);
          },
        });
        expect(seen).toHaveLength(2);
        seen.forEach((e, k) => expect(firstDifference(e.validation!.outputs!, localSeen[k]!.validation!.outputs!), `${n} worker(s) against LocalTrainer, epoch ${k}`).toBe(-1));
        // The outputs change as the model trains: equality with predict's proves the epoch's own pass.
        expect(firstDifference(seen[0]!.validation!.outputs!, seen[1]!.validation!.outputs!)).not.toBe(-1);
        r.epochs.forEach((e, k) => {
          expect(e.validation).toEqual({ ...seen[k]!.validation, outputs: undefined, shape: undefined });
          expect('outputs' in e.validation!).toBe(false);
        });
        await expect(t.fit(train, { epochs: 1, validationOutputs: true })).rejects.toThrow('validationOutputs gives the outputs of validations: give validation data (validation)');
      } finally {
        await t.close();
      }
    }
  });
});
