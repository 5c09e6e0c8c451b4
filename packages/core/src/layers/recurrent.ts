/**
 * `recurrent`: the RecurrentStack (nn.RNN/LSTM/GRU, batch_first) as a layer, with every option
 * of the stack but `inputSize` (what flows in sets it) and `seed` (the model's layout
 * initialises every parameter): `<name>.weight_ih_l0`, ... in PyTorch's names and shapes.
 *
 * It takes token ids (one-hot, gathered: no [T, B, V] matrix), the model's batch-first dense
 * input, or a time-major sequence, and always outputs a time-major sequence [T, B, outputSize]
 * (the stack's own layout, uncopied where the directions are concatenated), with its final
 * states attached for a `pool` 'last' right after it. Dropout masks come from `pass.rng` in the
 * stack's fixed order.
 */
import { RecurrentStack } from '../stack/stack.js';
import { resolveStackOptions, STACK_KEYS, type ResolvedStackOptions, type StackOptions } from '../stack/config.js';
import type { Grad, LayerDef, LayerEnv, LayerInstance, Pass, Value } from './types.js';

/** The stack's options a recurrent layer takes. */
export type RecurrentOptions = Omit<StackOptions, 'inputSize' | 'seed'>;
export type ResolvedRecurrentOptions = Omit<ResolvedStackOptions, 'inputSize' | 'seed'>;

export const RECURRENT_KEYS = STACK_KEYS.filter((k) => k !== 'inputSize' && k !== 'seed') as readonly (keyof RecurrentOptions & string)[];

function stackOptions(o: ResolvedRecurrentOptions, inputSize: number): StackOptions {
  return { ...o, inputSize };
}

export const recurrent: LayerDef<ResolvedRecurrentOptions> = {
  type: 'recurrent',
  what: 'a recurrent layer',
  keys: RECURRENT_KEYS,
  accepts: { tokens: true, batchFirst: true },
  resolve(o, where, input) {
    // The input's width stands in for inputSize while the other options are checked.
    const { inputSize: _i, seed: _s, ...r } = resolveStackOptions({ ...(o as unknown as RecurrentOptions), inputSize: input.size }, where);
    if (input.kind === 'rows') throw new RangeError(`${where}: a recurrent layer needs a sequence, but a pool layer before it made one row per sequence`);
    return r;
  },
  output(o) {
    return { kind: 'sequence', size: o.merge === 'concat' && o.bidirectional ? 2 * o.hiddenSize : o.hiddenSize };
  },
  params: (o, input) => RecurrentStack.layoutFor(stackOptions(o, input.size)).prefixed(''),
  create(o, input, env) {
    return new RecurrentLayer(stackOptions(o, input.size), env);
  },
};

/** The instance: a RecurrentStack whose parameters and gradients are windows of the model's buffers. */
export class RecurrentLayer implements LayerInstance {
  readonly stack: RecurrentStack;
  private readonly offset: number;
  private readonly end: number;
  private grads: Float32Array;
  private last: { hN: Float32Array; cN?: Float32Array } | undefined; // the stack's ForwardResult

  constructor(o: StackOptions, env: LayerEnv) {
    const layout = RecurrentStack.layoutFor(o);
    this.offset = env.offset(layout.entries[0]!.name);
    this.end = this.offset + layout.size;
    this.grads = env.grads;
    this.stack = new RecurrentStack(o, {
      params: env.params.subarray(this.offset, this.end), grads: env.grads.subarray(this.offset, this.end),
    });
  }

  get lastState(): { hN: Float32Array; cN?: Float32Array } | undefined {
    return this.last;
  }

  /** Follows the model to another gradient buffer (a worker's slot). */
  private bindGrads(grads: Float32Array): void {
    if (grads === this.grads) return;
    this.stack.bindGrads(grads.subarray(this.offset, this.end));
    this.grads = grads;
  }

  forward(x: Value, p: Pass): Value {
    return RecurrentLayer.forwardGroup([this], [x], [p])[0]!;
  }

  backward(dy: Grad, p: Pass): Grad {
    return RecurrentLayer.backwardGroup([this], [dy], [p])[0]!;
  }

  /**
   * The same layer of several model replicas (the shards of a batch, each with its own pass)
   * forward in lockstep: RecurrentStack.forwardGroup, whose results are each member's own.
   */
  static forwardGroup(members: readonly RecurrentLayer[], xs: readonly Value[], ps: readonly Pass[]): Value[] {
    const res = RecurrentStack.forwardGroup(members.map((m, i) => {
      const x = xs[i]!;
      const p = ps[i]!;
      const st = m.stack;
      m.bindGrads(p.grads);
      const B = p.batch;
      const T = p.steps;
      const opts = {
        batch: B, steps: T, lengths: p.lengths, h0: p.h0, c0: p.c0, training: p.training, rng: p.rng, timeMajor: true,
        inputTimeMajor: !x.tokens && !x.batchFirst,
      };
      return x.tokens
        ? { stack: st, tokens: x.tokens.subarray(0, B * T), opts }
        : { stack: st, x: x.data.subarray(0, B * T * st.options.inputSize), opts };
    }));
    return members.map((m, i) => {
      const r = res[i]!;
      m.last = r;
      const o = m.stack.options;
      return {
        data: r.output,
        final: { hN: r.hN, numLayers: o.numLayers, directions: m.stack.numDirections, hidden: o.hiddenSize, merge: o.merge },
      };
    });
  }

  /** Backward of a group's last forwardGroup: RecurrentStack.backwardGroup. */
  static backwardGroup(members: readonly RecurrentLayer[], dys: readonly Grad[], ps: readonly Pass[]): Grad[] {
    const res = RecurrentStack.backwardGroup(members.map((m, i) => {
      const dy = dys[i]!;
      m.bindGrads(ps[i]!.grads);
      return { stack: m.stack, g: { dOutput: dy.data ?? undefined, dHN: dy.final, inputGrad: ps[i]!.inputGrad } };
    }));
    return res.map((r, i) => ({ data: ps[i]!.inputGrad ? r.dInput : null }));
  }
}
