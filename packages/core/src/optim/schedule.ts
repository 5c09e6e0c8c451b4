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
import { show } from './validate.js';

export type ScheduleKind = 'constant' | 'linear-warmup' | 'step' | 'cosine' | 'linear';

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['constant', 'linear-warmup', 'step', 'cosine', 'linear'];

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

/** Which optional options each kind uses; any other one given is a mistake worth reporting. */
const USES: Record<ScheduleKind, readonly string[]> = {
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
  if (o === null || typeof o !== 'object') throw new TypeError(`${where} must be an object, got ${show(o)}`);
  const kind = o.kind;
  if (!SCHEDULE_KINDS.includes(kind)) {
    throw new TypeError(`${where}.kind must be one of ${SCHEDULE_KINDS.map((k) => `'${k}'`).join(', ')}, got ${show(kind)}`);
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === 'kind' || k === 'lr' || v === undefined) continue;
    if (!USES[kind].includes(k)) {
      const known = Object.values(USES).some((ks) => ks.includes(k));
      throw new TypeError(known ? `${where}.${k} does not apply to kind '${kind}'` : `${where}.${k} is not a schedule option`);
    }
  }
  const lr = o.lr ?? baseLr;
  if (lr === undefined) throw new TypeError(`${where}.lr is required (no base learning rate was given)`);
  if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) {
    throw new RangeError(`${o.lr !== undefined ? `${where}.lr` : 'the base learning rate'} must be a positive number, got ${show(lr)}`);
  }
  const W = o.warmupSteps ?? 0;
  nonNegativeInt(W, `${where}.warmupSteps`);
  if (kind === 'linear-warmup' && W < 1) throw new RangeError(`${where}.warmupSteps must be at least 1 for kind 'linear-warmup', got ${show(W)}`);

  let after: (u: number) => number;
  switch (kind) {
    case 'constant':
    case 'linear-warmup':
      after = () => lr;
      break;
    case 'step': {
      const stepSize = o.stepSize;
      if (stepSize === undefined) throw new TypeError(`${where}.stepSize is required for kind 'step'`);
      if (!Number.isInteger(stepSize) || stepSize < 1) throw new RangeError(`${where}.stepSize must be a positive integer, got ${show(stepSize)}`);
      const gamma = o.gamma ?? 0.1;
      if (typeof gamma !== 'number' || !Number.isFinite(gamma) || gamma <= 0) {
        throw new RangeError(`${where}.gamma must be a positive number, got ${show(gamma)}`);
      }
      after = (u) => lr * gamma ** Math.floor(u / stepSize);
      break;
    }
    case 'cosine':
    case 'linear': {
      const total = o.totalSteps;
      if (total === undefined) throw new TypeError(`${where}.totalSteps is required for kind '${kind}'`);
      if (!Number.isInteger(total) || total <= W) {
        throw new RangeError(`${where}.totalSteps must be an integer greater than warmupSteps (${W}), got ${show(total)}`);
      }
      const minLr = o.minLr ?? 0;
      if (typeof minLr !== 'number' || !Number.isFinite(minLr) || minLr < 0 || minLr > lr) {
        throw new RangeError(`${where}.minLr must be a number in [0, lr = ${lr}], got ${show(minLr)}`);
      }
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

function nonNegativeInt(v: unknown, name: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${show(v)}`);
}
