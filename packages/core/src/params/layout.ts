/**
 * THE parameter layout table. Every parameter of a model is a named, row-major window of one
 * flat Float32Array; gradients and optimizer moments use the same table over buffers of the
 * same length. Names and shapes are PyTorch's (`weight_ih_l0`, `weight_hh_l1_reverse`,
 * `head.weight`, ...), so a state_dict moves between weft and PyTorch with no transposes and
 * no gate shuffles. Nothing else in weft lists parameters: views, checkpoints, safetensors,
 * the optimizer and the worker arena are all derived from a Layout.
 */
import { Rng } from '../rng.js';

/** How a parameter is initialised: uniform in (-bound, bound), or a constant. */
export type Init = { kind: 'uniform'; bound: number } | { kind: 'constant'; value: number } | { kind: 'normal'; std: number };

export interface ParamSpec {
  name: string;
  shape: readonly number[];
  init: Init;
}

export interface ParamEntry extends ParamSpec {
  /** Offset in floats from the start of the flat buffer. */
  offset: number;
  /** Number of floats (the product of the shape). */
  size: number;
}

export class Layout {
  readonly entries: readonly ParamEntry[];
  readonly size: number;
  private readonly byName: Map<string, ParamEntry>;

  constructor(specs: readonly ParamSpec[]) {
    let offset = 0;
    const entries: ParamEntry[] = [];
    this.byName = new Map();
    for (const s of specs) {
      if (this.byName.has(s.name)) throw new Error(`duplicate parameter name ${s.name}`);
      const size = s.shape.reduce((a, b) => a * b, 1);
      const e: ParamEntry = { ...s, offset, size };
      entries.push(e);
      this.byName.set(s.name, e);
      offset += size;
    }
    this.entries = entries;
    this.size = offset;
  }

  get(name: string): ParamEntry {
    const e = this.byName.get(name);
    if (!e) throw new RangeError(`unknown parameter '${name}'; expected one of: ${this.names().join(', ')}`);
    return e;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** Named views (no copies) into `buf`, which must hold at least `size` floats. */
  views(buf: Float32Array): Map<string, Float32Array> {
    if (buf.length < this.size) {
      throw new RangeError(`parameter buffer has ${buf.length} floats, the layout needs ${this.size}`);
    }
    const m = new Map<string, Float32Array>();
    for (const e of this.entries) m.set(e.name, buf.subarray(e.offset, e.offset + e.size));
    return m;
  }

  /** Fill `buf` with each parameter's initial values, drawn in table order from `rng`. */
  initialize(buf: Float32Array, rng: Rng): void {
    for (const e of this.entries) {
      const { init } = e;
      for (let i = e.offset; i < e.offset + e.size; i++) {
        buf[i] =
          init.kind === 'uniform' ? rng.range(-init.bound, init.bound)
          : init.kind === 'normal' ? init.std * rng.normal()
          : init.value;
      }
    }
  }

  /** A copy of this layout with every name prefixed (`rnn.` + `weight_ih_l0`). */
  prefixed(prefix: string): ParamSpec[] {
    return this.entries.map((e) => ({ name: prefix + e.name, shape: e.shape, init: e.init }));
  }

  /** Plain-object description: name, shape, offset (for `weft inspect`, checkpoints). */
  describe(): { name: string; shape: number[]; offset: number; size: number }[] {
    return this.entries.map((e) => ({ name: e.name, shape: [...e.shape], offset: e.offset, size: e.size }));
  }
}

export const CELL_KINDS = ['rnn', 'lstm', 'gru'] as const;

export type CellKind = (typeof CELL_KINDS)[number];

/** Gates per cell: the G in PyTorch's weight shapes (G*H, in). */
export const GATES: Record<CellKind, number> = { rnn: 1, lstm: 4, gru: 3 };

/**
 * The recurrent stack's parameters in PyTorch's order: per layer, per direction,
 * weight_ih, weight_hh, bias_ih, bias_hh; `_reverse` for the backward direction.
 * PyTorch initialises all of them uniform in ±1/sqrt(hidden).
 */
export function stackParamSpecs(cfg: {
  cell: CellKind; inputSize: number; hiddenSize: number; numLayers: number;
  bidirectional: boolean; bias: boolean; layerInputSize: (layer: number) => number;
}): ParamSpec[] {
  const G = GATES[cfg.cell];
  const H = cfg.hiddenSize;
  const init: Init = { kind: 'uniform', bound: 1 / Math.sqrt(H) };
  const specs: ParamSpec[] = [];
  const D = cfg.bidirectional ? 2 : 1;
  for (let l = 0; l < cfg.numLayers; l++) {
    for (let d = 0; d < D; d++) {
      const sfx = `_l${l}${d === 1 ? '_reverse' : ''}`;
      specs.push({ name: `weight_ih${sfx}`, shape: [G * H, cfg.layerInputSize(l)], init });
      specs.push({ name: `weight_hh${sfx}`, shape: [G * H, H], init });
      if (cfg.bias) {
        specs.push({ name: `bias_ih${sfx}`, shape: [G * H], init });
        specs.push({ name: `bias_hh${sfx}`, shape: [G * H], init });
      }
    }
  }
  return specs;
}
