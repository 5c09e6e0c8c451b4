/**
 * One face for every optimizer: `createOptimizer({ name, lr, ...options })` validates the
 * options and returns an object whose `update` is one loop over a slice of flat buffers, so
 * that each worker thread updates its own slice of the shared parameters in place.
 * `OptimizerState` owns (or wraps) the per-parameter state buffers and the step count, and
 * turns them into the plain snapshot a checkpoint stores.
 */
import { ADAM_STATE_NAMES, adamStep, adamwStep, resolveAdamOptions, type AdamOptions, type ResolvedAdamOptions } from './adam.js';
import { resolveRmspropOptions, rmspropStateNames, rmspropStep, type ResolvedRmspropOptions, type RmspropOptions } from './rmsprop.js';
import { resolveSgdOptions, sgdStateNames, sgdStep, type ResolvedSgdOptions, type SgdOptions } from './sgd.js';
import { objectOption, oneOf, show } from '../options/validate.js';

export const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'rmsprop'] as const;

export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

export type OptimizerSpec =
  | ({ name: 'sgd' } & SgdOptions)
  | ({ name: 'adam' } & AdamOptions)
  | ({ name: 'adamw' } & AdamOptions)
  | ({ name: 'rmsprop' } & RmspropOptions);

export type ResolvedOptimizerOptions = ResolvedSgdOptions | ResolvedAdamOptions | ResolvedRmspropOptions;

/**
 * Updates params[start, end) in place from grads[start, end) and the state buffers' same
 * slice. `step` is the 1-based number of this update (the same for every slice of one step);
 * `lr` is this step's learning rate (a schedule's value, or options.lr).
 */
export type UpdateFn = (
  params: Float32Array, // [n]
  grads: Float32Array, // [n]
  states: readonly Float32Array[], // stateCount × [n]
  start: number,
  end: number,
  step: number,
  lr: number,
) => void;

export interface Optimizer {
  readonly name: OptimizerName;
  /** The resolved options (defaults filled in), plain data: a checkpoint stores them as they are. */
  readonly options: Readonly<ResolvedOptimizerOptions>;
  /** How many state buffers, each as long as the parameter vector. */
  readonly stateCount: number;
  /** PyTorch's names of the state buffers, in order (`exp_avg`, `exp_avg_sq`, ...). */
  readonly stateNames: readonly string[];
  readonly update: UpdateFn;
}

export function createOptimizer(options: OptimizerSpec, where = 'optimizer'): Optimizer {
  objectOption(options, where);
  const { name, ...rest } = options as { name: unknown } & Record<string, unknown>;
  oneOf(name, OPTIMIZER_NAMES, `${where}.name`);
  switch (name) {
    case 'sgd': {
      const o = resolveSgdOptions(rest as SgdOptions, where);
      return make('sgd', o, sgdStateNames(o), (p, g, s, a, b, t, lr) => sgdStep(o, p, g, s, a, b, t, lr));
    }
    case 'adam': {
      const o = resolveAdamOptions(rest as AdamOptions, where, false);
      return make('adam', o, ADAM_STATE_NAMES, (p, g, s, a, b, t, lr) => adamStep(o, p, g, s, a, b, t, lr));
    }
    case 'adamw': {
      const o = resolveAdamOptions(rest as AdamOptions, where, true);
      return make('adamw', o, ADAM_STATE_NAMES, (p, g, s, a, b, t, lr) => adamwStep(o, p, g, s, a, b, t, lr));
    }
    case 'rmsprop': {
      const o = resolveRmspropOptions(rest as RmspropOptions, where);
      return make('rmsprop', o, rmspropStateNames(o), (p, g, s, a, b, t, lr) => rmspropStep(o, p, g, s, a, b, t, lr));
    }
  }
}

function make(name: OptimizerName, options: ResolvedOptimizerOptions, stateNames: readonly string[], update: UpdateFn): Optimizer {
  return Object.freeze({
    name,
    options: Object.freeze({ ...options }),
    stateCount: stateNames.length,
    stateNames: Object.freeze([...stateNames]),
    update,
  });
}

/** What a checkpoint stores of an optimizer: plain data and copies of the state buffers. */
export interface OptimizerSnapshot {
  name: OptimizerName;
  options: Readonly<ResolvedOptimizerOptions>;
  /** Completed updates. */
  step: number;
  states: Float32Array[]; // stateCount × [n]
}

/** What restore accepts: a snapshot as a checkpoint gives it back (names not yet checked). */
export interface OptimizerSnapshotLike {
  name: string;
  options: object;
  step: number;
  states: readonly Float32Array[];
}

/**
 * The state buffers and step count of one optimizer over a parameter vector of `size` floats.
 * Fresh buffers start at zero (what PyTorch's lazily created state amounts to); wrapped caller
 * buffers (views of the shared arena, say) are used as they are, not cleared.
 */
export class OptimizerState {
  readonly optimizer: Optimizer;
  readonly size: number;
  readonly states: readonly Float32Array[]; // stateCount × [size]
  /** Completed updates; the next update is number step + 1. */
  step: number;

  constructor(optimizer: Optimizer, size: number, buffers?: readonly Float32Array[], step = 0) {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`optimizer state size must be a non-negative integer, got ${show(size)}`);
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`optimizer state step must be a non-negative integer, got ${show(step)}`);
    this.optimizer = optimizer;
    this.size = size;
    this.step = step;
    if (buffers === undefined) {
      this.states = Array.from({ length: optimizer.stateCount }, () => new Float32Array(size));
    } else {
      checkBuffers(buffers, optimizer, size, 'optimizer state buffers');
      this.states = [...buffers];
    }
  }

  /** Bytes of state for `size` parameters: what to reserve in a shared arena. */
  static byteLength(optimizer: Optimizer, size: number): number {
    return optimizer.stateCount * size * Float32Array.BYTES_PER_ELEMENT;
  }

  /**
   * Views of `buffer` (a SharedArrayBuffer, say) from `byteOffset`: stateCount consecutive
   * regions of `size` floats. Every thread that wraps the same region shares the same state.
   */
  static over(optimizer: Optimizer, size: number, buffer: ArrayBufferLike, byteOffset = 0, step = 0): OptimizerState {
    if (byteOffset % 4 !== 0) throw new RangeError(`optimizer state byteOffset must be a multiple of 4, got ${byteOffset}`);
    const need = byteOffset + OptimizerState.byteLength(optimizer, size);
    if (need > buffer.byteLength) {
      throw new RangeError(`optimizer state needs ${need} bytes of the buffer (offset ${byteOffset}), it has ${buffer.byteLength}`);
    }
    const views = Array.from({ length: optimizer.stateCount }, (_, k) => new Float32Array(buffer, byteOffset + k * size * 4, size));
    return new OptimizerState(optimizer, size, views, step);
  }

  /**
   * A state for `size` parameters rebuilt from a snapshot, with the options as saved unless
   * overridden (a new lr when resuming, say).
   */
  static fromSnapshot(snap: OptimizerSnapshotLike, size: number, overrides: Record<string, unknown> = {}): OptimizerState {
    const opt = createOptimizer({ ...snap.options, ...overrides, name: snap.name } as OptimizerSpec);
    const state = new OptimizerState(opt, size);
    state.restore(snap);
    return state;
  }

  /** Update params[start, end) as update number step + 1. Does not advance the step count. */
  update(params: Float32Array, grads: Float32Array, start: number, end: number, lr: number): void {
    this.optimizer.update(params, grads, this.states, start, end, this.step + 1, lr);
  }

  /** Count one completed update (after every slice of it has been applied). */
  advance(): void {
    this.step += 1;
  }

  /** The whole vector in one call, then advance: the single-threaded path. */
  apply(params: Float32Array, grads: Float32Array, lr: number = this.optimizer.options.lr): void {
    this.update(params, grads, 0, params.length, lr);
    this.advance();
  }

  /** Zero the state buffers and the step count: a fresh start. */
  reset(): void {
    for (const s of this.states) s.fill(0);
    this.step = 0;
  }

  /** Plain data for a checkpoint: copies of the buffers, so later updates don't change it. */
  toJSON(): OptimizerSnapshot {
    return {
      name: this.optimizer.name,
      options: { ...this.optimizer.options },
      step: this.step,
      states: this.states.map((s) => s.slice()),
    };
  }

  /** Copy a snapshot's buffers and step into this state (in place: shared views stay valid). */
  restore(snap: OptimizerSnapshotLike, where = 'optimizer snapshot'): void {
    if (snap.name !== this.optimizer.name) {
      throw new TypeError(`${where} is for optimizer '${snap.name}', this one is '${this.optimizer.name}'`);
    }
    if (!Number.isInteger(snap.step) || snap.step < 0) throw new RangeError(`${where}.step must be a non-negative integer, got ${show(snap.step)}`);
    checkBuffers(snap.states, this.optimizer, this.size, `${where}.states`);
    for (let k = 0; k < this.states.length; k++) this.states[k]!.set(snap.states[k]!);
    this.step = snap.step;
  }
}

function checkBuffers(buffers: readonly Float32Array[], optimizer: Optimizer, size: number, where: string): void {
  if (!Array.isArray(buffers) || buffers.length !== optimizer.stateCount) {
    const got = Array.isArray(buffers) ? `${buffers.length}` : show(buffers);
    throw new RangeError(
      `${where}: ${optimizer.name} with these options keeps ${optimizer.stateCount} state buffer(s) (${optimizer.stateNames.join(', ') || 'none'}), got ${got}`,
    );
  }
  buffers.forEach((b, k) => {
    if (!(b instanceof Float32Array)) throw new TypeError(`${where}[${k}] must be a Float32Array`);
    if (b.length !== size) throw new RangeError(`${where}[${k}] (${optimizer.stateNames[k]}) has ${b.length} floats, expected ${size}`);
  });
}
