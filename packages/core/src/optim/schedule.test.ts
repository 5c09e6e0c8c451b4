import { describe, expect, it } from 'vitest';
import { createSchedule } from './schedule.js';
import { OptionError } from '../options/errors.js';

// Expected values come from the formulas (StepLR, CosineAnnealingLR's closed form, linear
// warmup reaching the peak on its last step), worked out by hand here.
describe('createSchedule', () => {
  it('constant', () => {
    const s = createSchedule({ kind: 'constant', lr: 0.3 });
    expect([0, 1, 1000].map(s)).toEqual([0.3, 0.3, 0.3]);
  });

  it('takes the base lr from the optimizer when the spec has none', () => {
    expect(createSchedule({ kind: 'constant' }, 0.02)(5)).toBe(0.02);
    expect(createSchedule({ kind: 'constant', lr: 0.1 }, 0.02)(5)).toBe(0.1);
    expect(() => createSchedule({ kind: 'constant' })).toThrow('schedule.lr is required');
  });

  it('linear warmup: lr*(s+1)/W, the peak on the last warmup step, then constant', () => {
    const s = createSchedule({ kind: 'linear-warmup', lr: 0.1, warmupSteps: 4 });
    expect(s(0)).toBeCloseTo(0.025, 15);
    expect(s(1)).toBeCloseTo(0.05, 15);
    expect(s(3)).toBeCloseTo(0.1, 15);
    expect(s(4)).toBe(0.1);
    expect(s(99)).toBe(0.1);
  });

  it('step decay (StepLR), with and without warmup', () => {
    const s = createSchedule({ kind: 'step', lr: 1, stepSize: 3, gamma: 0.5 });
    expect([0, 2, 3, 5, 6, 9].map(s)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.125]);
    const w = createSchedule({ kind: 'step', lr: 1, stepSize: 3, gamma: 0.5, warmupSteps: 2 });
    expect([0, 1, 2, 4, 5, 8].map(w)).toEqual([0.5, 1, 1, 1, 0.5, 0.25]);
    expect(createSchedule({ kind: 'step', lr: 1, stepSize: 1 })(2)).toBeCloseTo(0.01, 15); // default gamma 0.1
  });

  it('cosine: lr at the start, (lr + minLr)/2 half-way, minLr at the end and after', () => {
    const s = createSchedule({ kind: 'cosine', lr: 1, minLr: 0.1, totalSteps: 10 });
    expect(s(0)).toBe(1);
    expect(s(5)).toBeCloseTo(0.55, 15);
    const quarter = 0.1 + (0.9 * (1 + Math.SQRT1_2)) / 2; // cos(pi/4) = 1/sqrt(2)
    expect(createSchedule({ kind: 'cosine', lr: 1, minLr: 0.1, totalSteps: 8 })(2)).toBeCloseTo(quarter, 15);
    expect(s(10)).toBe(0.1);
    expect(s(50)).toBe(0.1);
  });

  it('cosine after warmup: the cosine spans totalSteps - warmupSteps', () => {
    const s = createSchedule({ kind: 'cosine', lr: 1, minLr: 0, warmupSteps: 2, totalSteps: 12 });
    expect(s(0)).toBe(0.5);
    expect(s(1)).toBe(1); // warmup end
    expect(s(2)).toBe(1); // cosine start
    expect(s(7)).toBeCloseTo(0.5, 15); // half of the 10 cosine steps
    expect(s(12)).toBe(0);
  });

  it('linear decay', () => {
    const s = createSchedule({ kind: 'linear', lr: 1, totalSteps: 10, minLr: 0.2 });
    expect(s(0)).toBe(1);
    expect(s(5)).toBeCloseTo(0.6, 15);
    expect(s(10)).toBe(0.2);
  });

  it('is a pure function of the step: a resumed schedule gives the same values in any order', () => {
    const spec = { kind: 'cosine', lr: 0.01, warmupSteps: 5, totalSteps: 50 } as const;
    const a = createSchedule(spec);
    const forward = Array.from({ length: 60 }, (_, i) => a(i));
    const b = createSchedule(spec);
    const backward = Array.from({ length: 60 }, (_, i) => b(59 - i)).reverse();
    expect(backward).toEqual(forward);
  });

  it('names the bad option', () => {
    expect(() => createSchedule({ kind: 'step', lr: 1 })).toThrow("schedule.stepSize is required for kind 'step'");
    expect(() => createSchedule({ kind: 'cosine', lr: 1, totalSteps: 5, warmupSteps: 5 })).toThrow(
      'schedule.totalSteps must be an integer greater than warmupSteps (5), got 5',
    );
    expect(() => createSchedule({ kind: 'cosine', lr: 1, stepSize: 3, totalSteps: 9 })).toThrow("schedule.stepSize does not apply to kind 'cosine'");
    expect(() => createSchedule({ kind: 'constant', lr: 1, warmup: 3 } as never)).toThrow('schedule.warmup is not an option of the schedule; expected one of: kind, lr, warmupSteps');
    expect(() => createSchedule({ kind: 'exp' } as never, 1)).toThrow("schedule.kind must be 'constant', 'linear-warmup', 'step', 'cosine' or 'linear', got \"exp\"");
    expect(() => createSchedule({ kind: 'linear-warmup', lr: 1 })).toThrow("schedule.warmupSteps must be at least 1 for kind 'linear-warmup'");
    expect(() => createSchedule({ kind: 'cosine', lr: 1, totalSteps: 9, minLr: 2 })).toThrow('schedule.minLr must be a number in [0, lr = 1], got 2');
    expect(() => createSchedule({ kind: 'constant', lr: 1 })(-1)).toThrow('schedule: step must be a non-negative integer, got -1');
  });

  it('refuses a misspelt option with the closest valid one, a far-off one with the list', () => {
    const misspelt = () => createSchedule({ kind: 'cosine', lr: 1, totalStep: 10 } as never);
    expect(misspelt).toThrow(OptionError);
    expect(misspelt).toThrow(expect.objectContaining({
      message: 'schedule.totalStep is not an option of the schedule; did you mean totalSteps?',
      option: 'schedule.totalStep', suggestion: 'totalSteps',
    }));
    expect(createSchedule({ kind: 'cosine', lr: 1, totalSteps: 10 })(10)).toBe(0);
    const far = () => createSchedule({ kind: 'constant', lr: 1, momentum: 0.9 } as never);
    expect(far).toThrow(expect.objectContaining({
      message: 'schedule.momentum is not an option of the schedule; expected one of: kind, lr, warmupSteps, stepSize, gamma, totalSteps, minLr',
      suggestion: undefined,
    }));
  });
});
