/**
 * The stack's scratch memory: everything forward saves for backward, and backward's working
 * buffers, allocated once for a (steps, batch) capacity and reused; a larger shape reallocates
 * (never per step). Internally time-major: a [T, B, W] buffer holds step t's rows for the whole
 * batch contiguously, so that one step is one small matrix and all steps are one large one.
 * Buffers are packed for the CURRENT batch size: row (t, b) starts at (t*B + b) * W.
 */
import type { ResolvedStackOptions } from './config.js';
import { GATES } from '../params/layout.js';
import { ALLOC_ALIGN, allocF32, allocI32 } from '../kernels/memory.js';
import { productRows } from '../kernels/group-product.js';

const EMPTY = new Float32Array(0);
const EMPTY_I32 = new Int32Array(0);

/** Where a scratch gets its buffers: the thread's arena (allocF32/allocI32), or a counter (StackScratch.bytes). */
interface ScratchAlloc {
  f32(n: number): Float32Array;
  i32(n: number): Int32Array;
}

const ARENA: ScratchAlloc = { f32: allocF32, i32: allocI32 };

/**
 * Floats of padding after each row of the lead's W_hh copies (one cache line): rows a power of two
 * of floats apart would all fall in the same few cache sets as the product reads down a strip.
 */
export const WHH_PAD = 16;

/** What forward saves for one layer and direction. */
export interface DirScratch {
  /** Pre-activations, then (after each step) gate activations: [T, B, G*H]. For GRU the input side only. */
  gates: Float32Array;
  /** States by slot: [T+1, B, H]. Forward direction: slot 0 = h0, slot t+1 = state after step t. Reverse: slot T = h0, slot t = state after step t. */
  h: Float32Array;
  /** LSTM cell states, slots as `h`: [T+1, B, H] (empty for RNN/GRU). */
  c: Float32Array;
  /** GRU's W_hn h + b_hn of every step: [T, B, H] (empty otherwise). */
  hn: Float32Array;
  /** Recurrent dropout: the masked previous state fed to W_hh at step t: [T, B, H] (empty without). */
  hDrop: Float32Array;
  /** Input dropout: this direction's masked layer input: [T, B, I_l] (empty without). */
  xDrop: Float32Array;
  /** Input dropout mask, one per sequence, scale included: [B, I_l]. */
  inMask: Float32Array;
  /** Recurrent dropout mask, one per sequence, scale included: [B, H]. */
  recMask: Float32Array;
}

export interface LayerScratch {
  dirs: DirScratch[];
  /** The layer's output, directions concatenated: [T, B, D*H]. */
  out: Float32Array;
  /** Inter-layer dropout (not on the last layer): mask [T, B, D*H], scale included... */
  dropMask: Float32Array;
  /** ...and the dropped output, the next layer's input: [T, B, D*H]. */
  dropped: Float32Array;
}

export class StackScratch {
  readonly capSteps: number;
  readonly capBatch: number;
  readonly layers: LayerScratch[];
  /** Layer 0's input, time-major, padding zeroed: [T, B, I]. */
  readonly x: Float32Array;
  /** Layer 0's input as token ids (forwardTokens), time-major, 0 at padding: [T, B]. */
  readonly ids: Int32Array;
  /** One-hot input: W_ihᵀ plus biases, the rows the projection gathers; in backward, dW_ihᵀ: [I, G*H]. */
  readonly table: Float32Array;
  /** Results handed to the caller (sliced to the current shape). */
  readonly output: Float32Array;   // [B, T, outputSize]
  readonly hN: Float32Array;       // [L*D, B, H]
  readonly cN: Float32Array;       // [L*D, B, H] (LSTM)
  // Backward.
  /** Gate pre-activation gradients of one layer and direction (input side for GRU): [T, B, G*H]. */
  readonly dzx: Float32Array;
  /** GRU: recurrent-side pre-activation gradients: [T, B, 3H] (aliases dzx otherwise). */
  readonly dzh: Float32Array;
  /** Gradient w.r.t. a layer's output and w.r.t. its input, swapped layer by layer: [T, B, max(D*H, I)] each. */
  readonly dA: Float32Array;
  readonly dB: Float32Array;
  /** Input dropout: one direction's dL/d(masked input) before the mask: [T, B, max(D*H, I)]. */
  readonly dXTmp: Float32Array;
  /** Σ over rows of dz, the bias gradient of one layer and direction: [G*H]. */
  readonly db: Float32Array;
  /** Carried dL/dh and dL/dc: [B, H] each. */
  readonly dh: Float32Array;
  readonly dc: Float32Array;
  readonly dInput: Float32Array;   // [B, T, I]
  readonly dH0: Float32Array;      // [L*D, B, H]
  readonly dC0: Float32Array;      // [L*D, B, H] (LSTM)

  /**
   * Bytes a scratch of capacity (steps, batch) takes in the arena, each buffer rounded up to the
   * arena's alignment as arenaAlloc does: the constructor's own list of buffers, counted, not
   * allocated (train/limits.ts sizes runs with it before anything is built).
   */
  static bytes(o: ResolvedStackOptions, steps: number, batch: number): number {
    let total = 0;
    const count = (n: number, bytesPer: number) => { total += Math.ceil((n * bytesPer) / ALLOC_ALIGN) * ALLOC_ALIGN; };
    new StackScratch(o, steps, batch, {
      f32: (n) => { count(n, 4); return EMPTY; },
      i32: (n) => { count(n, 4); return EMPTY_I32; },
    });
    return total;
  }

  constructor(o: ResolvedStackOptions, capSteps: number, capBatch: number, alloc: ScratchAlloc = ARENA) {
    this.capSteps = capSteps;
    this.capBatch = capBatch;
    const T = capSteps;
    const B = capBatch;
    const H = o.hiddenSize;
    const D = o.bidirectional ? 2 : 1;
    const GH = GATES[o.cell] * H;
    const L = o.numLayers;
    const TB = T * B;
    // allocF32: in the thread's shared arena when one is attached, so the WebAssembly kernels
    // work on scratch in place.
    const f = (n: number): Float32Array => (n > 0 ? alloc.f32(n) : EMPTY);
    this.layers = [];
    for (let l = 0; l < L; l++) {
      const I = l === 0 ? o.inputSize : D * H;
      const dirs: DirScratch[] = [];
      for (let d = 0; d < D; d++) {
        dirs.push({
          gates: f(TB * GH),
          h: f((T + 1) * B * H),
          c: o.cell === 'lstm' ? f((T + 1) * B * H) : EMPTY,
          hn: o.cell === 'gru' ? f(TB * H) : EMPTY,
          hDrop: o.recurrentDropout > 0 ? f(TB * H) : EMPTY,
          xDrop: o.inputDropout > 0 ? f(TB * I) : EMPTY,
          inMask: o.inputDropout > 0 ? f(B * I) : EMPTY,
          recMask: o.recurrentDropout > 0 ? f(B * H) : EMPTY,
        });
      }
      const inner = l < L - 1 && o.dropout > 0;
      this.layers.push({
        dirs,
        out: f(TB * D * H),
        dropMask: inner ? f(TB * D * H) : EMPTY,
        dropped: inner ? f(TB * D * H) : EMPTY,
      });
    }
    const W = Math.max(D * H, o.inputSize);
    this.x = f(TB * o.inputSize);
    this.ids = alloc.i32(TB);
    this.table = f(o.inputSize * GH);
    this.db = f(GH);
    this.output = f(TB * (o.merge === 'concat' ? D * H : H));
    this.hN = f(L * D * B * H);
    this.cN = o.cell === 'lstm' ? f(L * D * B * H) : EMPTY;
    this.dzx = f(TB * GH);
    this.dzh = o.cell === 'gru' ? f(TB * GH) : this.dzx;
    this.dA = f(TB * W);
    this.dB = f(TB * W);
    this.dXTmp = o.inputDropout > 0 ? f(TB * W) : EMPTY;
    this.dh = f(B * H);
    this.dc = f(B * H);
    this.dInput = f(TB * o.inputSize);
    this.dH0 = f(L * D * B * H);
    this.dC0 = o.cell === 'lstm' ? f(L * D * B * H) : EMPTY;
  }

  fits(steps: number, batch: number): boolean {
    return steps <= this.capSteps && batch <= this.capBatch;
  }
}

/**
 * What a group of stacks run in lockstep shares (RecurrentStack.forwardGroup), held by its lead:
 * one step's rows of every member, where a step's product puts what no member holds (a GRU's
 * W_hh h + b_hh, the product with recurrent dropout before each member's mask) and where the
 * reference and WebAssembly paths gather rows (kernels.gemmRows). (The lead's padded W_hh copy,
 * which does not grow with the rows, is allocated once beside it: `whhCopyFloats`.)
 */
export class GroupScratch {
  readonly capRows: number;
  /** One step's h (forward) or dh (backward) rows: [rows, H]. */
  readonly rowsH: Float32Array;
  /** One step's gate pre-activations (forward; GRU: W_hh h + b_hh) or dz (backward) rows: [rows, G*H]. */
  readonly rowsG: Float32Array;

  /** Bytes a group scratch for `rows` rows and the lead's W_hhᵀ take in the arena (see StackScratch.bytes). */
  static bytes(o: ResolvedStackOptions, rows: number): number {
    const H = o.hiddenSize;
    const GH = GATES[o.cell] * H;
    const aligned = (n: number) => Math.ceil((4 * n) / ALLOC_ALIGN) * ALLOC_ALIGN;
    const M = productRows(rows);
    return aligned(M * H) + aligned(M * GH) + aligned(whhCopyFloats(o));
  }

  constructor(o: ResolvedStackOptions, rows: number) {
    const H = o.hiddenSize;
    this.capRows = productRows(rows);
    this.rowsH = allocF32(this.capRows * H);
    this.rowsG = allocF32(this.capRows * GATES[o.cell] * H);
  }
}

/**
 * Floats of the lead's copy of W_hh with its rows padded: W_hhᵀ [H, G*H + WHH_PAD] during the
 * forward steps, W_hh [G*H, H + WHH_PAD] during the backward ones (NN 64×128×512 with bilstm's
 * W_hh, out of cache: rows 128 floats apart 68–70 GFLOP/s, 144 apart 73–77; charlm's 32×256×1024:
 * 65–68, padded 69–79).
 */
export function whhCopyFloats(o: ResolvedStackOptions): number {
  const H = o.hiddenSize;
  const GH = GATES[o.cell] * H;
  return Math.max(H * (GH + WHH_PAD), GH * (H + WHH_PAD));
}
