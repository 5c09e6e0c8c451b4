/**
 * The kernel table: every hot loop of weft is called through `kernels`, so the fast
 * WebAssembly SIMD implementation and the TypeScript reference are interchangeable and can be
 * tested against each other, and the native addon (native.ts) can replace the product.
 * `useKernels('native' | 'wasm' | 'reference' | 'auto')` (choose.ts) picks the path;
 * `kernels.name` says which one runs (the CLI prints it).
 *
 * Arrays are addressed by (array, offset): a fast path whose memory is a WebAssembly.Memory
 * checks that the array views that memory (memory.ts `isInMemory`: after growth the buffer
 * object changes) and uses `array.byteOffset + 4 * offset` as the pointer; anything else falls
 * back to the reference for that call.
 *
 * What each kernel computes: gemm.ts (products), rows.ts (bias rows, column sums, gather and
 * scatter-add of rows), copy.ts (zero), cells.ts (one step of a cell's gate math over a run of
 * active rows), loss.ts (softmax cross-entropy and squared error with their gradients),
 * optimizers.ts (the element loops of Adam/AdamW, SGD and RMSprop).
 */
import { gemmReference } from './gemm.js';
import { gemmRowsBy, type GemmRows } from './group-product.js';
import {
  gruBackwardReference, gruForwardReference, lstmBackwardReference, lstmForwardReference,
  rnnBackwardReference, rnnForwardReference,
} from './cells.js';
import {
  accumulateReference, fillRowsReference, gatherRowsReference, scatterAddRowsReference, sumRowsReference,
  transposeReference,
} from './rows.js';
import { zeroInto } from './copy.js';
import { meanSquaredErrorReference, softmaxCrossEntropyReference } from './loss.js';
import { adamUpdateReference, rmspropUpdateReference, sgdUpdateReference } from './optimizers.js';

export type Gemm = typeof gemmReference;

export interface Kernels {
  /** 'reference' (TypeScript), 'wasm-simd' or 'native'. */
  name: string;
  /** The path in words (which native variant runs the product, say), for `weft inspect`. */
  detail: string;
  gemm: Gemm;
  /**
   * The recurrent layers' per-step product over a group's rows (group-product.ts): the bits of one
   * product over every member's rows (native: that product, by row pointers; the other paths: a
   * product per member of a multiple of 4 rows, one over the others gathered), the same for each
   * member as alone.
   */
  gemmRows: GemmRows;
  /** a[off..off+n) = σ(a). The wasm version is within 3 ulp of the exact value. */
  sigmoid(a: Float32Array, off: number, n: number): void;
  /** a[off..off+n) = tanh(a). The wasm version is within 2 ulp of the exact value. */
  tanh(a: Float32Array, off: number, n: number): void;
  /** x[r, :] = b (+ b2) for r < rows, rows of n floats (b2 null: none). */
  fillRows: typeof fillRowsReference;
  /** db[:] += Σ_r dz[r, :] over rows of n floats, in row order (float32). */
  sumRows: typeof sumRowsReference;
  /** x[r, :] = table[ids[r], :]. ids must be valid row indices of the table. */
  gatherRows: typeof gatherRowsReference;
  /** table[ids[r], :] += src[r, :], in row order. */
  scatterAddRows: typeof scatterAddRowsReference;
  /** dst[off..+n) = 0 (the gradient slots each step, the stack's summed gradients). */
  zero: typeof zeroInto;
  /** dst[dOff..+n) += src[sOff..+n). Float32 adds: every path gives the same bits. */
  accumulate: typeof accumulateReference;
  /** dst [cols, rows] (rows ldd apart) = src [rows, cols]ᵀ (no overlap). */
  transpose: typeof transposeReference;
  /** LSTM step over a run of active rows (cells.ts). */
  lstmForward: typeof lstmForwardReference;
  lstmBackward: typeof lstmBackwardReference;
  /** RNN (tanh or relu) step over a run of active rows. */
  rnnForward: typeof rnnForwardReference;
  rnnBackward: typeof rnnBackwardReference;
  /** GRU step over a run of active rows. */
  gruForward: typeof gruForwardReference;
  gruBackward: typeof gruBackwardReference;
  /**
   * Softmax cross-entropy over `rows` rows of `classes` logits and its gradient (loss.ts);
   * returns { sum, count, correct }. Both paths give the same bits (the wasm exp and log are
   * ports of the fdlibm routines behind V8's Math.exp and Math.log).
   */
  softmaxCrossEntropy: typeof softmaxCrossEntropyReference;
  /** Squared error and its gradient, rows masked out by mask[r] === 0 (loss.ts). Same bits on both paths. */
  meanSquaredError: typeof meanSquaredErrorReference;
  /**
   * Sizes the loss kernels' scratch up front for calls of up to `rows` rows of `width` classes
   * or values, so that such calls allocate nothing (the WebAssembly path keeps its scratch in the
   * arena, which never frees); nothing to do on the reference path.
   */
  reserveLoss(rows: number, width: number): void;
  /** Adam / AdamW over params[start, end) (optimizers.ts). Same bits on both paths, slice-invariant. */
  adamUpdate: typeof adamUpdateReference;
  /** SGD with momentum, dampening, Nesterov, L2 decay over params[start, end). Same bits, slice-invariant. */
  sgdUpdate: typeof sgdUpdateReference;
  /** RMSprop (centered, momentum, L2 decay) over params[start, end). Same bits, slice-invariant. */
  rmspropUpdate: typeof rmspropUpdateReference;
}

export const referenceKernels: Kernels = {
  name: 'reference',
  detail: 'TypeScript reference',
  gemm: gemmReference,
  gemmRows: gemmRowsBy(gemmReference, 0),
  sigmoid(a, off, n) {
    for (let i = off; i < off + n; i++) a[i] = 1 / (1 + Math.exp(-a[i]!));
  },
  tanh(a, off, n) {
    for (let i = off; i < off + n; i++) a[i] = Math.tanh(a[i]!);
  },
  fillRows: fillRowsReference,
  sumRows: sumRowsReference,
  gatherRows: gatherRowsReference,
  scatterAddRows: scatterAddRowsReference,
  zero: zeroInto,
  accumulate: accumulateReference,
  transpose: transposeReference,
  lstmForward: lstmForwardReference,
  lstmBackward: lstmBackwardReference,
  rnnForward: rnnForwardReference,
  rnnBackward: rnnBackwardReference,
  gruForward: gruForwardReference,
  gruBackward: gruBackwardReference,
  softmaxCrossEntropy: softmaxCrossEntropyReference,
  meanSquaredError: meanSquaredErrorReference,
  reserveLoss() {},
  adamUpdate: adamUpdateReference,
  sgdUpdate: sgdUpdateReference,
  rmspropUpdate: rmspropUpdateReference,
};

/** The active kernels. Mutated in place by `setKernels` so hot code can hold a reference. */
export const kernels: Kernels = { ...referenceKernels };

const KERNEL_KEYS = Object.keys(referenceKernels) as (keyof Kernels)[];

/** Makes `k`'s functions (only those of the Kernels interface) the active ones. */
export function setKernels(k: Kernels): void {
  const dst = kernels as unknown as Record<string, unknown>;
  for (const key of KERNEL_KEYS) dst[key] = k[key];
}

export { gemmReference };
export type { AdamScalars, RmspropScalars, SgdScalars } from './optimizers.js';
