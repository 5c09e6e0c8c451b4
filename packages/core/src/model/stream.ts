/**
 * Stateful inference: a long input (a live signal, a text read as it arrives) fed chunk by
 * chunk, the recurrent state carried from each chunk into the next, so that the outputs of the
 * chunks are those of the whole sequence run at once. It holds only for a model whose output at
 * step t depends on steps 0..t alone: one recurrent layer running forwards (a backward direction
 * reads the future), every other layer working step by step, and outputs per step (no pooling
 * over time). Such a model is refused at construction with what stands in the way.
 */
import { SequenceModel } from './model.js';
import { embedding } from '../layers/embedding.js';
import { linear } from '../layers/linear.js';
import { dropout } from '../layers/dropout.js';
import { layerNorm } from '../layers/layer-norm.js';
import { recurrent, type RecurrentOptions } from '../layers/recurrent.js';
import { OptionError } from '../options/errors.js';
import { knownKeys, objectOption, positiveInt } from '../options/validate.js';

/** Layers that work on each step alone (dropout is off in inference). */
const STEPWISE = new Set<unknown>([embedding, linear, dropout, layerNorm]);

export interface StreamOptions {
  /** Independent streams fed side by side, each with its own state (default 1). */
  streams?: number;
}

export class InferenceStream {
  /** Streams fed side by side. */
  readonly streams: number;
  /** Steps fed since the start (or the last reset). */
  position = 0;
  private h?: Float32Array;
  private c?: Float32Array;

  constructor(readonly model: SequenceModel, options: StreamOptions = {}) {
    objectOption(options, 'stream options');
    knownKeys(options, ['streams'], '', 'a stream');
    this.streams = options.streams ?? 1;
    positiveInt(this.streams, 'streams');
    const layers = model.plan.layers;
    const rec = layers.filter((l) => l.def === recurrent);
    if (rec.length !== 1) {
      throw new OptionError(`streaming needs a model with exactly one recurrent layer (its state is what is carried), this one has ${rec.length}`, 'model.layers');
    }
    if ((rec[0]!.options as RecurrentOptions).bidirectional) {
      throw new OptionError(
        `streaming cannot carry the state of a bidirectional layer ('${rec[0]!.name}'): its backward direction reads the steps after each one, ` +
        'which a stream has not seen yet; run the whole sequence at once (predict), or train a unidirectional model to stream', 'model.bidirectional',
      );
    }
    const other = layers.find((l) => l.def !== recurrent && !STEPWISE.has(l.def));
    if (other) {
      throw new OptionError(`streaming needs every layer but the recurrent one to work step by step; '${other.name}' (${other.def.type}) does not`, 'model.layers');
    }
    if (layers.at(-1)!.output.kind !== 'sequence') {
      throw new OptionError(`streaming needs outputs per step; this model outputs one per sequence ('${model.task}')`, 'model.task');
    }
  }

  /**
   * Feeds the next `steps` steps of every stream, batch-first: tokens [streams, steps] or dense
   * [streams, steps, inputSize]. Returns their outputs [streams, steps, outputSize] (a copy).
   */
  feed(inputs: Int32Array | Float32Array, steps: number): Float32Array {
    positiveInt(steps, 'steps');
    const B = this.streams;
    const m = this.model;
    const per = m.spec.input.kind === 'tokens' ? 1 : m.plan.inputSize;
    if (inputs.length !== B * steps * per) {
      throw new RangeError(`inputs has ${inputs.length} values, expected ${B * steps * per} ([${B} streams, ${steps} steps${per > 1 ? `, ${per}` : ''}])`);
    }
    const y = m.infer({
      batch: B, steps, lengths: new Int32Array(B).fill(steps), inputs, targets: new Int32Array(0),
      ...(this.h ? { h0: this.h } : {}), ...(this.c ? { c0: this.c } : {}),
    }).slice();
    // Copies: the next forward writes its final states where these views point.
    const s = m.lastState;
    this.h = s.hN.slice();
    this.c = s.cN?.slice();
    this.position += steps;
    return y;
  }

  /** Starts every stream again from a zero state. */
  reset(): void {
    this.h = undefined;
    this.c = undefined;
    this.position = 0;
  }
}
