/**
 * What a run leaves as its model: the best validation epoch's weights in model.weft (what
 * `--model RUNDIR` loads) unless --keep-last, the last state in last.weft for --resume, and a
 * summary that names the best epoch and why training stopped. The runs are tiny classifiers
 * with a learning rate high enough to overfit the 180 training sentences within 8 epochs.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { weft, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir('weft-best-');
const data = path.join(EXAMPLES, 'classify.jsonl');
const overfit = ['train', '--task', 'classify', '--data', data, '--hidden', '16', '--layers', '1', '--lr', '0.1'];
const evalLoss = (model: string) => {
  const r = weft(['eval', '--model', model, '--data', data, '--json']);
  expect(r.code).toBe(0);
  return r.json.metrics.loss as number;
};
const sha = (model: string) => weft(['inspect', '--model', model, '--json']).json.sha256 as string;
/** The validation records of a run, from its metrics.jsonl (written as training went). */
const validCurve = (run: string) => readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l)).filter((m) => m.split === 'valid') as { epoch: number; step: number; loss: number; accuracy: number }[];

describe('weft train: best weights by default', () => {
  const best = path.join(dir, 'best');
  let result: any;
  beforeAll(() => {
    const r = weft([...overfit, '--epochs', '8', '--out', best, '--json']);
    expect(r.code).toBe(0);
    result = r.json;
  });

  it('the run overfits: its best epoch is not its last (else nothing below could fail)', () => {
    const curve = validCurve(best);
    expect(curve.map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const lowest = curve.reduce((a, c) => (c.loss < a.loss ? c : a));
    expect(lowest.epoch).toBeLessThan(8);
    // The --json result names that epoch, its metrics, and the stop reason in words.
    expect(result.bestEpoch).toBe(lowest.epoch);
    expect(result.best.loss).toBe(lowest.loss);
    expect(result.best.accuracy).toBe(lowest.accuracy);
    expect(result.model).toBe('best');
    expect(result.stop).toBe('epochs');
    expect(result.stopReason).toBe('finished 8 epochs');
    expect(result.epochs).toBe(8);
  });

  it('--model RUNDIR is the best epoch: eval of the run equals eval of best.weft, not of last.weft', () => {
    const run = evalLoss(best);
    expect(run).toBe(evalLoss(path.join(best, 'best.weft')));
    expect(run).not.toBe(evalLoss(path.join(best, 'last.weft')));
    expect(sha(best)).toBe(sha(path.join(best, 'best.weft')));
  });

  it('--keep-last leaves the last epoch in model.weft; best.weft is the same as without it; the summary says both', () => {
    const keep = path.join(dir, 'keep');
    const r = weft([...overfit, '--epochs', '8', '--keep-last', '--out', keep]);
    expect(r.code).toBe(0);
    expect(evalLoss(keep)).toBe(evalLoss(path.join(keep, 'last.weft')));
    expect(sha(keep)).toBe(sha(path.join(best, 'last.weft')));
    expect(sha(path.join(keep, 'best.weft'))).toBe(sha(path.join(best, 'best.weft')));
    const b = result.best;
    expect(r.stdout).toContain('weft train: finished 8 epochs');
    expect(r.stdout).toContain(`best: epoch ${result.bestEpoch}, valid loss ${b.loss.toFixed(4)}, accuracy ${(100 * b.accuracy).toFixed(2)}%`);
    expect(r.stdout).toMatch(/model\.weft holds the last weights \(--keep-last\)/);
    expect(r.stdout).not.toMatch(/done in/);
  });

  it('early stopping says why it stopped, and keeps the best epoch', () => {
    const r = weft([...overfit, '--epochs', '30', '--patience', '2', '--out', path.join(dir, 'patience'), '--json']);
    expect(r.code).toBe(0);
    const curve = validCurve(path.join(dir, 'patience'));
    const lowest = curve.reduce((a, c) => (c.loss < a.loss ? c : a));
    expect(curve.length).toBe(lowest.epoch + 2);
    expect(r.json.stop).toBe('early-stopping');
    expect(r.json.stopReason).toBe('stopped early: no better validation loss for 2 epochs');
    expect(r.json.bestEpoch).toBe(lowest.epoch);
  });

  it('--steps and no validation data: the stop reason, and the last weights with no best', () => {
    const steps = weft([...overfit, '--steps', '9', '--out', path.join(dir, 'steps'), '--json']);
    expect(steps.code).toBe(0);
    expect(steps.json.stopReason).toBe('reached --steps 9');
    const none = path.join(dir, 'novalid');
    const r = weft([...overfit, '--epochs', '2', '--valid-fraction', '0', '--out', none]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/no validation data, so no best epoch: model\.weft holds the last weights/);
    expect(sha(none)).toBe(sha(path.join(none, 'last.weft')));
  });

  it('--resume RUNDIR goes on from the last state, not from the best epoch in model.weft', () => {
    const part = path.join(dir, 'part');
    const p = weft([...overfit, '--epochs', '6', '--out', part, '--json']);
    expect(p.code).toBe(0);
    expect(p.json.bestEpoch).toBeLessThan(6); // model.weft and last.weft differ here
    const r = weft(['train', '--resume', part, '--epochs', '8', '--json']);
    expect(r.code).toBe(0);
    // It started at the step where the first run ended (the best epoch's checkpoint would be an
    // earlier one, and, the training being deterministic, would reach the same end).
    const start = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'start');
    expect(start.step).toBe(p.json.step);
    expect(validCurve(part).map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(sha(path.join(part, 'last.weft'))).toBe(sha(path.join(best, 'last.weft')));
    expect(sha(part)).toBe(sha(best));
    expect(r.json.bestEpoch).toBe(result.bestEpoch);
  });
});
