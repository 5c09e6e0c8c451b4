/**
 * Learning-rate schedules as pure functions of the step: `createSchedule(options)(step)`.
 * Nothing is carried from one step to the next, so a run resumed from a checkpoint at step s
 * gets exactly the learning rates of the uninterrupted run.
 *
 * `step` is the number of updates already done (OptimizerState.step before the update), so the
 * first update uses schedule(0). With W = warmupSteps and u = step - W:
 *
 *   warmup (step < W):  lr * (step + 1) / W              reaches lr on the last warmup step
 *   'constant':         lr                               ('linear-warmup' is the same, W >= 1 required)
 *   'step':             lr * gamma^floor(u / stepSize)   (torch StepLR)
 *   'cosine':           minLr + (lr - minLr) * (1 + cos(pi * u / T)) / 2, T = totalSteps - W,
 *                       then minLr from step totalSteps on (torch CosineAnnealingLR's closed form)
 *   'linear':           lr + (minLr - lr) * u / T, then minLr from step totalSteps on
 */
import { OptionError } from '../options/errors.js';
import { badOption, keysOf, knownKeys, nonNegativeInt, objectOption, oneOf, optionPath, positiveInt, positiveNumber, show } from '../options/validate.js';

export const SCHEDULE_KINDS = ['constant', 'linear-warmup', 'step', 'cosine', 'linear'] as const;

export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface ScheduleSpec {
  kind: ScheduleKind;
  /** The base (peak) learning rate; when left out, createSchedule's baseLr (the optimizer's lr). */
  lr?: number;
  /** Steps of linear warmup before the schedule proper (default 0; at least 1 for 'linear-warmup'). */
  warmupSteps?: number;
  /** 'step': steps between decays (required). */
  stepSize?: number;
  /** 'step': the decay factor (default 0.1, torch's). */
  gamma?: number;
  /** 'cosine', 'linear': steps of the whole run, warmup included (required, > warmupSteps). */
  totalSteps?: number;
  /** 'cosine', 'linear': the final learning rate (default 0, at most lr). */
  minLr?: number;
}

export type Schedule = (step: number) => number;

const SCHEDULE_KEYS = keysOf<ScheduleSpec>({ kind: true, lr: true, warmupSteps: true, stepSize: true, gamma: true, totalSteps: true, minLr: true });

/** Which optional options each kind uses; any other one given is a mistake worth reporting. */
const USES: Record<ScheduleKind, readonly (keyof ScheduleSpec)[]> = {
  constant: ['warmupSteps'],
  'linear-warmup': ['warmupSteps'],
  step: ['warmupSteps', 'stepSize', 'gamma'],
  cosine: ['warmupSteps', 'totalSteps', 'minLr'],
  linear: ['warmupSteps', 'totalSteps', 'minLr'],
};

/**
 * The schedule as a pure function of the step. The peak learning rate is `spec.lr`, or
 * `baseLr` (typically the optimizer's options.lr) when the spec leaves it out.
 */
export function createSchedule(o: ScheduleSpec, baseLr?: number, where = 'schedule'): Schedule {
  objectOption(o, where);
  knownKeys(o, SCHEDULE_KEYS, where, 'the schedule');
  const kind = o.kind;
  oneOf(kind, SCHEDULE_KINDS, `${where}.kind`);
  for (const [k, v] of Object.entries(o) as [keyof ScheduleSpec, unknown][]) {
    if (k === 'kind' || k === 'lr' || v === undefined || USES[kind].includes(k)) continue;
    throw new OptionError(`${optionPath(where, k)} does not apply to kind '${kind}'`, optionPath(where, k));
  }
  const lr = o.lr ?? baseLr;
  if (lr === undefined) throw new OptionError(`${where}.lr is required (no base learning rate was given)`, `${where}.lr`);
  positiveNumber(lr, o.lr !== undefined ? `${where}.lr` : 'the base learning rate');
  const W = o.warmupSteps ?? 0;
  nonNegativeInt(W, `${where}.warmupSteps`);
  if (kind === 'linear-warmup' && W < 1) badOption(`${where}.warmupSteps`, "at least 1 for kind 'linear-warmup'", W);

  let after: (u: number) => number;
  switch (kind) {
    case 'constant':
    case 'linear-warmup':
      after = () => lr;
      break;
    case 'step': {
      const stepSize = o.stepSize;
      if (stepSize === undefined) throw new OptionError(`${where}.stepSize is required for kind 'step'`, `${where}.stepSize`);
      positiveInt(stepSize, `${where}.stepSize`);
      const gamma = o.gamma ?? 0.1;
      positiveNumber(gamma, `${where}.gamma`);
      after = (u) => lr * gamma ** Math.floor(u / stepSize);
      break;
    }
    case 'cosine':
    case 'linear': {
      const total = o.totalSteps;
      if (total === undefined) throw new OptionError(`${where}.totalSteps is required for kind '${kind}'`, `${where}.totalSteps`);
      if (!Number.isInteger(total) || total <= W) badOption(`${where}.totalSteps`, `an integer greater than warmupSteps (${W})`, total);
      const minLr = o.minLr ?? 0;
      if (typeof minLr !== 'number' || !Number.isFinite(minLr) || minLr < 0 || minLr > lr) badOption(`${where}.minLr`, `a number in [0, lr = ${lr}]`, minLr);
      const T = total - W;
      after =
        kind === 'cosine'
          ? (u) => (u >= T ? minLr : minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * u) / T))) / 2)
          : (u) => (u >= T ? minLr : lr + ((minLr - lr) * u) / T);
      break;
    }
  }

  return (step: number): number => {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`${where}: step must be a non-negative integer, got ${show(step)}`);
    return step < W ? (lr * (step + 1)) / W : after(step - W);
  };
}
