// WebAssembly SIMD (128-bit) matrix product for weft, in AssemblyScript.
//
//   C[M,N] (+)= op(A)[M,K] · op(B)[K,N]      row-major, op(X) = X or Xᵀ
//
// Same contract as kernels/gemm.ts (gemmReference), but with byte addresses into the one
// (shared) memory and leading dimensions in floats. C must not overlap A or B. Sums are taken
// in a different order than the reference's, so results differ from it by rounding only.
// Measured (packages/core/bench/gemm.mjs) at ~55 GFLOP/s on one Zen 5 core for layer-sized
// products, about 30× the reference: close to what two multiply and two add pipes of 128 bits
// can do per cycle at that clock.
//
// How it is fast (GotoBLAS/BLIS shape, sized for 128-bit SIMD without fused multiply-add):
// - The micro-kernel keeps a 4×8 block of C in eight f32x4 registers and, per k, loads one row
//   of an 8-wide strip of op(B) (two vectors) and broadcasts four values of op(A): 6 loads for
//   16 vector multiply/adds, so it is bound by the floating-point pipes, not by memory. V8 on
//   x64 has 15 usable vector registers: 8 accumulators + 2 B + 1 A + 1 product fit; a 4×12 or
//   6×8 tile would spill (and unrolling k made V8 spill: measured ~40% slower).
// - Operands are packed so the micro-kernel reads both contiguously whatever the transposes:
//   op(A) four rows at a time as [k][4], op(B) in 8-column strips as [k][8], zero-padded at the
//   edges. Packing also removes cache-set conflicts from power-of-two leading dimensions (a
//   1024-float stride put every row of an unpacked strip in the same L1 set: 2× slower).
// - K is cut into blocks of KC so one A panel (KC×4) and one B strip (KC×8) sit in L1, and N into
//   blocks of NC so a packed B panel (KC×NC, 512 KiB) stays in L2 while all of M streams past.
// - With M ≤ ROWS_M (a batch of one, say) a 4-row tile wastes most of its work and the product
//   is a matrix-vector one, bound by streaming B: each row of C is made from rows of B read in
//   order (dot products with the rows of B for NT, sums of scaled rows of B otherwise).
// - With ROWS_M < M ≤ SMALL_M there is too little reuse to pay for packing B: strips of B are then read
//   in place (NN, TN) or transposed one strip at a time into an L1 buffer (NT).
// - TN with one column of C (a layer with one input: dW_ih) is not packed (column): the rows of C
//   lie side by side in A's rows; each element's sums as the packed path makes them.
//
// Scratch: every call needs scratchBytes() bytes at `scratch`, private to the calling thread (the memory
// is shared between workers; module globals are not, so the caller passes its own area).

// c + a·b. In the relaxed-SIMD build (kernels-relaxed.wasm, loaded where the engine validates
// relaxed SIMD: Node 22+, or Node 20 with --experimental-wasm-relaxed-simd) a fused
// multiply-add where the CPU has one (V8 on x64 with FMA; one rounding instead of two), else
// a multiply and an add as in the plain build. Either way the order of the sums is the same.
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

const MR: i32 = 4; // rows of the micro-tile
const NR: i32 = 8; // columns of the micro-tile (two f32x4)
const KC: i32 = 256; // K block
const NC: i32 = 512; // N block
const SMALL_M: i32 = 8;
const ROWS_M: i32 = 3;

const BPANEL_BYTES: usize = <usize>(KC * NC) << 2; // [NC/8 strips][KC][8]
const APANEL_BYTES: usize = <usize>(KC * SMALL_M) << 2; // [SMALL_M/4 panels][KC][4]
const STRIP_BYTES: usize = <usize>(KC * NR) << 2; // [KC][8]
const TILE_BYTES: usize = <usize>(MR * NR) << 2; // [4][8]

/** Bytes of per-thread scratch that `gemm` needs. */
export function scratchBytes(): i32 {
  return <i32>(BPANEL_BYTES + APANEL_BYTES + STRIP_BYTES + TILE_BYTES);
}

// ---- 4×4 transpose (rows v0..v3 → column q) -------------------------------------------------

@inline function lo(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 0, 4, 1, 5); }
@inline function hi(x: v128, y: v128): v128 { return f32x4.shuffle(x, y, 2, 6, 3, 7); }
@inline function col0(v0: v128, v1: v128, v2: v128, v3: v128): v128 { return f32x4.shuffle(lo(v0, v1), lo(v2, v3), 0, 1, 4, 5); }
@inline function col1(v0: v128, v1: v128, v2: v128, v3: v128): v128 { return f32x4.shuffle(lo(v0, v1), lo(v2, v3), 2, 3, 6, 7); }
@inline function col2(v0: v128, v1: v128, v2: v128, v3: v128): v128 { return f32x4.shuffle(hi(v0, v1), hi(v2, v3), 0, 1, 4, 5); }
@inline function col3(v0: v128, v1: v128, v2: v128, v3: v128): v128 { return f32x4.shuffle(hi(v0, v1), hi(v2, v3), 2, 3, 6, 7); }

// ---- packing -----------------------------------------------------------------------------------

/** op(A)[ic..ic+mr, pc..pc+kb] → dst as [k][4]; rows past mr are zero. */
function packA(transA: i32, a: usize, ldaB: usize, ic: i32, mr: i32, pc: i32, kb: i32, dst: usize): void {
  if (transA) {
    // op(A)(i, k) = A[k, i]: four rows of op(A) are four adjacent floats of one row of A.
    let src = a + <usize>pc * ldaB + (<usize>ic << 2);
    if (mr == MR) {
      for (let k = 0; k < kb; k++) {
        v128.store(dst, v128.load(src));
        src += ldaB; dst += 16;
      }
    } else {
      for (let k = 0; k < kb; k++) {
        v128.store(dst, f32x4.splat(0));
        for (let r = 0; r < mr; r++) store<f32>(dst + (<usize>r << 2), load<f32>(src + (<usize>r << 2)));
        src += ldaB; dst += 16;
      }
    }
    return;
  }
  const r0 = a + <usize>ic * ldaB + (<usize>pc << 2);
  if (mr == MR) {
    const r1 = r0 + ldaB, r2 = r1 + ldaB, r3 = r2 + ldaB;
    let k = 0;
    for (; k + 4 <= kb; k += 4) {
      const o = <usize>k << 2;
      const v0 = v128.load(r0 + o), v1 = v128.load(r1 + o), v2 = v128.load(r2 + o), v3 = v128.load(r3 + o);
      v128.store(dst, col0(v0, v1, v2, v3));
      v128.store(dst, col1(v0, v1, v2, v3), 16);
      v128.store(dst, col2(v0, v1, v2, v3), 32);
      v128.store(dst, col3(v0, v1, v2, v3), 48);
      dst += 64;
    }
    for (; k < kb; k++) {
      const o = <usize>k << 2;
      store<f32>(dst, load<f32>(r0 + o));
      store<f32>(dst, load<f32>(r1 + o), 4);
      store<f32>(dst, load<f32>(r2 + o), 8);
      store<f32>(dst, load<f32>(r3 + o), 12);
      dst += 16;
    }
  } else {
    for (let k = 0; k < kb; k++) {
      v128.store(dst, f32x4.splat(0));
      for (let r = 0; r < mr; r++) store<f32>(dst + (<usize>r << 2), load<f32>(r0 + <usize>r * ldaB + (<usize>k << 2)));
      dst += 16;
    }
  }
}

/** op(B)[pc..pc+kb, j0..j0+nr] → dst as [k][8]; columns past nr are zero. */
function packB(transB: i32, b: usize, ldbB: usize, j0: i32, nr: i32, pc: i32, kb: i32, dst: usize): void {
  if (!transB) {
    let src = b + <usize>pc * ldbB + (<usize>j0 << 2);
    if (nr == NR) {
      for (let k = 0; k < kb; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += ldbB; dst += 32;
      }
    } else {
      for (let k = 0; k < kb; k++) {
        v128.store(dst, f32x4.splat(0));
        v128.store(dst, f32x4.splat(0), 16);
        for (let c = 0; c < nr; c++) store<f32>(dst + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
        src += ldbB; dst += 32;
      }
    }
    return;
  }
  // op(B)(k, j) = B[j, k]: eight rows of B, transposed 4×4 at a time.
  const r0 = b + <usize>j0 * ldbB + (<usize>pc << 2);
  if (nr == NR) {
    const r1 = r0 + ldbB, r2 = r1 + ldbB, r3 = r2 + ldbB;
    const r4 = r3 + ldbB, r5 = r4 + ldbB, r6 = r5 + ldbB, r7 = r6 + ldbB;
    let k = 0;
    for (; k + 4 <= kb; k += 4) {
      const o = <usize>k << 2;
      let v0 = v128.load(r0 + o), v1 = v128.load(r1 + o), v2 = v128.load(r2 + o), v3 = v128.load(r3 + o);
      v128.store(dst, col0(v0, v1, v2, v3));
      v128.store(dst, col1(v0, v1, v2, v3), 32);
      v128.store(dst, col2(v0, v1, v2, v3), 64);
      v128.store(dst, col3(v0, v1, v2, v3), 96);
      v0 = v128.load(r4 + o); v1 = v128.load(r5 + o); v2 = v128.load(r6 + o); v3 = v128.load(r7 + o);
      v128.store(dst, col0(v0, v1, v2, v3), 16);
      v128.store(dst, col1(v0, v1, v2, v3), 48);
      v128.store(dst, col2(v0, v1, v2, v3), 80);
      v128.store(dst, col3(v0, v1, v2, v3), 112);
      dst += 128;
    }
    for (; k < kb; k++) {
      const o = <usize>k << 2;
      store<f32>(dst, load<f32>(r0 + o));
      store<f32>(dst, load<f32>(r1 + o), 4);
      store<f32>(dst, load<f32>(r2 + o), 8);
      store<f32>(dst, load<f32>(r3 + o), 12);
      store<f32>(dst, load<f32>(r4 + o), 16);
      store<f32>(dst, load<f32>(r5 + o), 20);
      store<f32>(dst, load<f32>(r6 + o), 24);
      store<f32>(dst, load<f32>(r7 + o), 28);
      dst += 32;
    }
  } else {
    for (let k = 0; k < kb; k++) {
      v128.store(dst, f32x4.splat(0));
      v128.store(dst, f32x4.splat(0), 16);
      for (let c = 0; c < nr; c++) store<f32>(dst + (<usize>c << 2), load<f32>(r0 + <usize>c * ldbB + (<usize>k << 2)));
      dst += 32;
    }
  }
}

/** A whole KC×NC block of op(B) → strips of [k][8]. Row-major B is read a cache line (16
 * floats, two strips) at a time, so each line of B is fetched once. */
function packBPanel(transB: i32, b: usize, ldbB: usize, jc: i32, nb: i32, pc: i32, kb: i32, dst: usize): void {
  const stripBytes = <usize>(kb * NR) << 2;
  const strips = (nb + NR - 1) / NR;
  let s = 0;
  if (!transB) {
    for (; s + 2 <= strips && (s + 2) * NR <= nb; s += 2) {
      let src = b + <usize>pc * ldbB + (<usize>(jc + s * NR) << 2);
      let d0 = dst + <usize>s * stripBytes;
      let d1 = d0 + stripBytes;
      for (let k = 0; k < kb; k++) {
        v128.store(d0, v128.load(src));
        v128.store(d0, v128.load(src, 16), 16);
        v128.store(d1, v128.load(src, 32));
        v128.store(d1, v128.load(src, 48), 16);
        src += ldbB; d0 += 32; d1 += 32;
      }
    }
  }
  for (; s < strips; s++) {
    const j0 = jc + s * NR;
    packB(transB, b, ldbB, j0, min(NR, jc + nb - j0), pc, kb, dst + <usize>s * stripBytes);
  }
}

// ---- micro-kernels -----------------------------------------------------------------------------
// C[r, 0..7] (+)= Σ_k Ap[k][r] · B(k, 0..7) with Ap packed [k][4] and B(k, c) at bp + k·bStep + 4c.
// `load` false: C is overwritten (first K block of a non-accumulating call).

@inline
function micro4x8(kb: i32, ap: usize, bp: usize, bStep: usize, cp: usize, ldcB: usize, load: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kb; k++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 16;
    bp += bStep;
  }
  const p1 = cp + ldcB, p2 = p1 + ldcB, p3 = p2 + ldcB;
  if (load) {
    c00 = f32x4.add(c00, v128.load(cp)); c01 = f32x4.add(c01, v128.load(cp, 16));
    c10 = f32x4.add(c10, v128.load(p1)); c11 = f32x4.add(c11, v128.load(p1, 16));
    c20 = f32x4.add(c20, v128.load(p2)); c21 = f32x4.add(c21, v128.load(p2, 16));
    c30 = f32x4.add(c30, v128.load(p3)); c31 = f32x4.add(c31, v128.load(p3, 16));
  }
  v128.store(cp, c00); v128.store(cp, c01, 16);
  v128.store(p1, c10); v128.store(p1, c11, 16);
  v128.store(p2, c20); v128.store(p2, c21, 16);
  v128.store(p3, c30); v128.store(p3, c31, 16);
}

// One or two rows (M = 1, 2, or the last rows of M): the 4-row tile would waste half or more,
// and with only two or four accumulators the add latency would be the limit, so k is split
// into even and odd halves with separate accumulators.
@inline
function micro2x8(kb: i32, ap: usize, bp: usize, bStep: usize, cp: usize, ldcB: usize, load: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let d00 = f32x4.splat(0), d01 = f32x4.splat(0), d10 = f32x4.splat(0), d11 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= kb; k += 2) {
    const bq = bp + bStep;
    let b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    b0 = v128.load(bq); b1 = v128.load(bq, 16);
    a = v128.load32_splat(ap, 16);
    d00 = madd(a, b0, d00);
    d01 = madd(a, b1, d01);
    a = v128.load32_splat(ap, 20);
    d10 = madd(a, b0, d10);
    d11 = madd(a, b1, d11);
    ap += 32;
    bp = bq + bStep;
  }
  if (k < kb) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
  }
  c00 = f32x4.add(c00, d00); c01 = f32x4.add(c01, d01);
  c10 = f32x4.add(c10, d10); c11 = f32x4.add(c11, d11);
  const p1 = cp + ldcB;
  if (load) {
    c00 = f32x4.add(c00, v128.load(cp)); c01 = f32x4.add(c01, v128.load(cp, 16));
    c10 = f32x4.add(c10, v128.load(p1)); c11 = f32x4.add(c11, v128.load(p1, 16));
  }
  v128.store(cp, c00); v128.store(cp, c01, 16);
  v128.store(p1, c10); v128.store(p1, c11, 16);
}

@inline
function micro1x8(kb: i32, ap: usize, bp: usize, bStep: usize, cp: usize, load: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= kb; k += 2) {
    const bq = bp + bStep;
    let a = v128.load32_splat(ap);
    c0 = madd(a, v128.load(bp), c0);
    c1 = madd(a, v128.load(bp, 16), c1);
    a = v128.load32_splat(ap, 16);
    d0 = madd(a, v128.load(bq), d0);
    d1 = madd(a, v128.load(bq, 16), d1);
    ap += 32;
    bp = bq + bStep;
  }
  if (k < kb) {
    const a = v128.load32_splat(ap);
    c0 = madd(a, v128.load(bp), c0);
    c1 = madd(a, v128.load(bp, 16), c1);
  }
  c0 = f32x4.add(c0, d0); c1 = f32x4.add(c1, d1);
  if (load) {
    c0 = f32x4.add(c0, v128.load(cp)); c1 = f32x4.add(c1, v128.load(cp, 16));
  }
  v128.store(cp, c0); v128.store(cp, c1, 16);
}

/** One mr×nr block of C (mr ≤ 4, nr ≤ 8). Ragged blocks go through a 4×8 tile in scratch. */
@inline
function block(mr: i32, nr: i32, kb: i32, ap: usize, bp: usize, bStep: usize, cp: usize, ldcB: usize, first: bool, tile: usize): void {
  if (nr == NR) {
    if (mr == 4) micro4x8(kb, ap, bp, bStep, cp, ldcB, !first);
    else if (mr == 1) micro1x8(kb, ap, bp, bStep, cp, !first);
    else if (mr == 2) micro2x8(kb, ap, bp, bStep, cp, ldcB, !first);
    else {
      micro2x8(kb, ap, bp, bStep, cp, ldcB, !first);
      micro1x8(kb, ap + 8, bp, bStep, cp + 2 * ldcB, !first);
    }
    return;
  }
  micro4x8(kb, ap, bp, bStep, tile, NR << 2, false);
  for (let r = 0; r < mr; r++) {
    const row = cp + <usize>r * ldcB;
    const t = tile + (<usize>(r * NR) << 2);
    for (let c = 0; c < nr; c++) {
      const q = row + (<usize>c << 2);
      const v = load<f32>(t + (<usize>c << 2));
      store<f32>(q, first ? v : load<f32>(q) + v);
    }
  }
}

// ---- driver ------------------------------------------------------------------------------------

/**
 * C[M,N] (+)= op(A)·op(B). a, b, c: byte addresses; lda, ldb, ldc: leading dimensions in floats;
 * transA, transB, accumulate: 0 or 1; scratch: `scratchBytes()` bytes owned by the caller.
 */
export function gemm(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32,
  accumulate: i32, scratch: usize,
): void {
  if (M <= 0 || N <= 0) return;
  const ldaB = <usize>lda << 2;
  const ldbB = <usize>ldb << 2;
  const ldcB = <usize>ldc << 2;
  if (K <= 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldcB, 0, <usize>N << 2);
    return;
  }
  const bpanel = scratch;
  const apanel = bpanel + BPANEL_BYTES;
  const strip = apanel + APANEL_BYTES;
  const tile = strip + STRIP_BYTES;
  if (M <= ROWS_M) {
    gemmRows(transA, transB, M, N, K, a, ldaB, b, ldbB, c, ldcB, accumulate, strip);
    return;
  }
  if (N == 1 && transA) {
    column(transB, M, K, a, ldaB, b, ldbB, c, ldcB, accumulate, strip);
    return;
  }
  if (M <= SMALL_M) {
    gemmSmall(transA, transB, M, N, K, a, ldaB, b, ldbB, c, ldcB, accumulate, apanel, strip, tile);
    return;
  }
  for (let pc = 0; pc < K; pc += KC) {
    const kb = min(KC, K - pc);
    const first = pc == 0 && !accumulate;
    const stripBytes = <usize>(kb * NR) << 2;
    for (let jc = 0; jc < N; jc += NC) {
      const nb = min(NC, N - jc);
      const strips = (nb + NR - 1) / NR;
      packBPanel(transB, b, ldbB, jc, nb, pc, kb, bpanel);
      for (let ic = 0; ic < M; ic += MR) {
        const mr = min(MR, M - ic);
        packA(transA, a, ldaB, ic, mr, pc, kb, apanel);
        const crow = c + <usize>ic * ldcB;
        for (let s = 0; s < strips; s++) {
          const j0 = jc + s * NR;
          block(mr, min(NR, N - j0), kb, apanel, bpanel + <usize>s * stripBytes, 32,
            crow + (<usize>j0 << 2), ldcB, first, tile);
        }
      }
    }
  }
}

// ---- one column of C from Aᵀ: nothing to pack ---------------------------------------------------
// A layer with one input's dW_ih = dZᵀ·X (TN, N = 1) leaves the packed tile mostly zeros (one
// column of 8): 2.1 GFLOP/s (gemm.mjs; 5.2 without packing). Here the rows of C lie side by side
// in A's rows: each element's own operations unchanged (from 0, madd over k in order, a block of
// KC at a time, then stored or added to C), the packed path's bits, a row's bits its own. (The
// other N = 1 forms and K = 1 measured no faster without packing in WebAssembly: they keep the
// packed path.)

/** Lane l of s to C[i + l, 0] for l < n: stored (first) or added. */
@inline
function putColumn(s: v128, n: i32, c: usize, ldcB: usize, i: i32, first: bool): void {
  for (let l = 0; l < n; l++) {
    const q = c + <usize>(i + l) * ldcB;
    const v = f32x4.extract_lane(s, 0);
    store<f32>(q, first ? v : load<f32>(q) + v);
    s = f32x4.shuffle(s, s, 1, 2, 3, 0);
  }
}

/** N = 1, op(A) = Aᵀ: C[i, 0] (+)= Σ_k A[k, i]·b(k), four adjacent rows of C (four adjacent floats
    of a row of A) in the lanes of one sum, eight at a time where there are. b (op(B)'s column) is
    copied to buf a block of K at a time. */
function column(
  transB: i32, M: i32, K: i32, a: usize, ldaB: usize, b: usize, ldbB: usize, c: usize, ldcB: usize,
  accumulate: i32, buf: usize,
): void {
  for (let pc = 0; pc < K; pc += KC) {
    const kb = min(KC, K - pc);
    const first = pc == 0 && !accumulate;
    for (let k = 0; k < kb; k++) {
      store<f32>(buf + (<usize>k << 2), load<f32>(transB ? b + (<usize>(pc + k) << 2) : b + <usize>(pc + k) * ldbB));
    }
    const a0 = a + <usize>pc * ldaB;
    let i = 0;
    for (; i + 8 <= M; i += 8) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      let p = a0 + (<usize>i << 2);
      for (let k = 0; k < kb; k++) {
        const bk = v128.load32_splat(buf + (<usize>k << 2));
        s0 = madd(v128.load(p), bk, s0);
        s1 = madd(v128.load(p, 16), bk, s1);
        p += ldaB;
      }
      putColumn(s0, 4, c, ldcB, i, first);
      putColumn(s1, 4, c, ldcB, i + 4, first);
    }
    for (; i < M; i += 4) {
      const n = min(4, M - i);
      let s = f32x4.splat(0);
      let p = a0 + (<usize>i << 2);
      for (let k = 0; k < kb; k++) {
        let v = f32x4.splat(0);
        if (n == 4) v = v128.load(p);
        else {
          v = f32x4.replace_lane(v, 0, load<f32>(p));
          if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
          if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
        }
        s = madd(v, v128.load32_splat(buf + (<usize>k << 2)), s);
        p += ldaB;
      }
      putColumn(s, n, c, ldcB, i, first);
    }
  }
}

/** M ≤ SMALL_M: all of op(A)'s rows packed once per K block; B read in place where it can be. */
function gemmSmall(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, ldaB: usize, b: usize, ldbB: usize, c: usize, ldcB: usize,
  accumulate: i32, apanel: usize, strip: usize, tile: usize,
): void {
  const panels = (M + MR - 1) / MR;
  for (let pc = 0; pc < K; pc += KC) {
    const kb = min(KC, K - pc);
    const first = pc == 0 && !accumulate;
    const panelBytes = <usize>(kb * MR) << 2;
    for (let p = 0; p < panels; p++) {
      const ic = p * MR;
      packA(transA, a, ldaB, ic, min(MR, M - ic), pc, kb, apanel + <usize>p * panelBytes);
    }
    for (let j0 = 0; j0 < N; j0 += NR) {
      const nr = min(NR, N - j0);
      let bp: usize, bStep: usize;
      if (transB || nr < NR) {
        packB(transB, b, ldbB, j0, nr, pc, kb, strip);
        bp = strip;
        bStep = NR << 2;
      } else {
        bp = b + <usize>pc * ldbB + (<usize>j0 << 2);
        bStep = ldbB;
      }
      for (let p = 0; p < panels; p++) {
        const ic = p * MR;
        block(min(MR, M - ic), nr, kb, apanel + <usize>p * panelBytes, bp, bStep,
          c + <usize>ic * ldcB + (<usize>j0 << 2), ldcB, first, tile);
      }
    }
  }
}

// ---- a few rows: matrix-vector products streaming B -----------------------------------------

const KD: i32 = KC * NR; // floats of op(A)'s row gathered at a time (fits the strip buffer)

/** Σ lanes of each of v0..v3, as one vector. */
@inline
function hsum4(v0: v128, v1: v128, v2: v128, v3: v128): v128 {
  const t0 = f32x4.add(f32x4.shuffle(v0, v1, 0, 4, 1, 5), f32x4.shuffle(v0, v1, 2, 6, 3, 7));
  const t1 = f32x4.add(f32x4.shuffle(v2, v3, 0, 4, 1, 5), f32x4.shuffle(v2, v3, 2, 6, 3, 7));
  return f32x4.add(f32x4.shuffle(t0, t1, 0, 1, 4, 5), f32x4.shuffle(t0, t1, 2, 3, 6, 7));
}

/** Σ_k x[k]·y[k] over kb floats, both contiguous. */
@inline
function dot(x: usize, y: usize, kb: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let k = 0;
  for (; k + 8 <= kb; k += 8) {
    const o = <usize>k << 2;
    s0 = f32x4.add(s0, f32x4.mul(v128.load(x + o), v128.load(y + o)));
    s1 = f32x4.add(s1, f32x4.mul(v128.load(x + o, 16), v128.load(y + o, 16)));
  }
  const s = f32x4.add(s0, s1);
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; k < kb; k++) r += load<f32>(x + (<usize>k << 2)) * load<f32>(y + (<usize>k << 2));
  return r;
}

/** C[i, 0..N) (+)= x · Bᵀ, x = kb contiguous floats, B rows of kb floats at b + j·ldbB. */
function dotRows(x: usize, N: i32, kb: i32, b: usize, ldbB: usize, crow: usize, first: bool): void {
  const k4 = kb & ~3;
  let j = 0;
  for (; j + 8 <= N; j += 8) {
    const r0 = b + <usize>j * ldbB;
    const r1 = r0 + ldbB, r2 = r1 + ldbB, r3 = r2 + ldbB;
    const r4 = r3 + ldbB, r5 = r4 + ldbB, r6 = r5 + ldbB, r7 = r6 + ldbB;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
    for (let k = 0; k < k4; k += 4) {
      const o = <usize>k << 2;
      const v = v128.load(x + o);
      a0 = madd(v, v128.load(r0 + o), a0);
      a1 = madd(v, v128.load(r1 + o), a1);
      a2 = madd(v, v128.load(r2 + o), a2);
      a3 = madd(v, v128.load(r3 + o), a3);
      a4 = madd(v, v128.load(r4 + o), a4);
      a5 = madd(v, v128.load(r5 + o), a5);
      a6 = madd(v, v128.load(r6 + o), a6);
      a7 = madd(v, v128.load(r7 + o), a7);
    }
    let s0 = hsum4(a0, a1, a2, a3), s1 = hsum4(a4, a5, a6, a7);
    for (let k = k4; k < kb; k++) {
      const o = <usize>k << 2;
      const v = v128.load32_splat(x + o);
      s0 = f32x4.add(s0, f32x4.mul(v, f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(
        f32x4.splat(load<f32>(r0 + o)), 1, load<f32>(r1 + o)), 2, load<f32>(r2 + o)), 3, load<f32>(r3 + o))));
      s1 = f32x4.add(s1, f32x4.mul(v, f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(
        f32x4.splat(load<f32>(r4 + o)), 1, load<f32>(r5 + o)), 2, load<f32>(r6 + o)), 3, load<f32>(r7 + o))));
    }
    const cp = crow + (<usize>j << 2);
    if (!first) {
      s0 = f32x4.add(s0, v128.load(cp));
      s1 = f32x4.add(s1, v128.load(cp, 16));
    }
    v128.store(cp, s0);
    v128.store(cp, s1, 16);
  }
  for (; j < N; j++) {
    const q = crow + (<usize>j << 2);
    const d = dot(x, b + <usize>j * ldbB, kb);
    store<f32>(q, first ? d : load<f32>(q) + d);
  }
}

/** C[i, 0..N) += Σ_k x(k)·B[k, 0..N), x(k) at xp + k·xStep, B rows at b + k·ldbB, four k at a time. */
function axpyRows(xp: usize, xStep: usize, N: i32, K: i32, b: usize, ldbB: usize, crow: usize): void {
  let k = 0;
  for (; k + 4 <= K; k += 4) {
    const x0 = v128.load32_splat(xp), x1 = v128.load32_splat(xp + xStep);
    const x2 = v128.load32_splat(xp + 2 * xStep), x3 = v128.load32_splat(xp + 3 * xStep);
    const r0 = b + <usize>k * ldbB, r1 = r0 + ldbB, r2 = r1 + ldbB, r3 = r2 + ldbB;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2;
      const t = f32x4.add(
        f32x4.add(f32x4.mul(x0, v128.load(r0 + o)), f32x4.mul(x1, v128.load(r1 + o))),
        f32x4.add(f32x4.mul(x2, v128.load(r2 + o)), f32x4.mul(x3, v128.load(r3 + o))),
      );
      v128.store(crow + o, f32x4.add(v128.load(crow + o), t));
    }
    for (; j < N; j++) {
      const o = <usize>j << 2;
      const t = f32x4.extract_lane(x0, 0) * load<f32>(r0 + o) + f32x4.extract_lane(x1, 0) * load<f32>(r1 + o) +
        (f32x4.extract_lane(x2, 0) * load<f32>(r2 + o) + f32x4.extract_lane(x3, 0) * load<f32>(r3 + o));
      store<f32>(crow + o, load<f32>(crow + o) + t);
    }
    xp += 4 * xStep;
  }
  for (; k < K; k++) {
    const x0 = v128.load32_splat(xp);
    const r0 = b + <usize>k * ldbB;
    let j = 0;
    for (; j + 4 <= N; j += 4) {
      const o = <usize>j << 2;
      v128.store(crow + o, f32x4.add(v128.load(crow + o), f32x4.mul(x0, v128.load(r0 + o))));
    }
    for (; j < N; j++) {
      const o = <usize>j << 2;
      store<f32>(crow + o, load<f32>(crow + o) + f32x4.extract_lane(x0, 0) * load<f32>(r0 + o));
    }
    xp += xStep;
  }
}

/**
 * Two rows of C at once, C[i, 0..N) += Σ_k x(k)·B[k, 0..N) and C[i+1, ..) with y(k): each line of
 * B is read once for both rows (B, a weight matrix of a few hundred KiB, comes from L2 or L3:
 * reading it once instead of once per row is what counts). 16 columns (one cache line of a
 * row of B) at a time, with the 2×16 block of C in registers over a block of KR rows of B; the
 * blocks of k keep the rows of B being walked (often 4 KiB apart: one page each) few, so that
 * they stay in the TLB and the prefetcher follows each row along.
 */
function axpyRows2(xp: usize, yp: usize, xStep: usize, N: i32, K: i32, b: usize, ldbB: usize, c0: usize, c1: usize): void {
  for (let pk = 0; pk < K; pk += KR) {
    const kb = min(KR, K - pk);
    axpyRows2Block(xp + <usize>pk * xStep, yp + <usize>pk * xStep, xStep, N, kb, b + <usize>pk * ldbB, ldbB, c0, c1);
  }
}

const KR: i32 = 64;

@inline
function axpyRows2Block(xp: usize, yp: usize, xStep: usize, N: i32, K: i32, b: usize, ldbB: usize, c0: usize, c1: usize): void {
  let j = 0;
  for (; j + 16 <= N; j += 16) {
    const o = <usize>j << 2;
    let a0 = v128.load(c0 + o), a1 = v128.load(c0 + o, 16), a2 = v128.load(c0 + o, 32), a3 = v128.load(c0 + o, 48);
    let d0 = v128.load(c1 + o), d1 = v128.load(c1 + o, 16), d2 = v128.load(c1 + o, 32), d3 = v128.load(c1 + o, 48);
    let bp = b + o, px = xp, py = yp;
    for (let k = 0; k < K; k++) {
      const x = v128.load32_splat(px), y = v128.load32_splat(py);
      const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
      a0 = madd(x, b0, a0); d0 = madd(y, b0, d0);
      a1 = madd(x, b1, a1); d1 = madd(y, b1, d1);
      a2 = madd(x, b2, a2); d2 = madd(y, b2, d2);
      a3 = madd(x, b3, a3); d3 = madd(y, b3, d3);
      bp += ldbB; px += xStep; py += xStep;
    }
    v128.store(c0 + o, a0); v128.store(c0 + o, a1, 16); v128.store(c0 + o, a2, 32); v128.store(c0 + o, a3, 48);
    v128.store(c1 + o, d0); v128.store(c1 + o, d1, 16); v128.store(c1 + o, d2, 32); v128.store(c1 + o, d3, 48);
  }
  for (; j + 4 <= N; j += 4) {
    const o = <usize>j << 2;
    let a0 = v128.load(c0 + o), d0 = v128.load(c1 + o);
    let bp = b + o, px = xp, py = yp;
    for (let k = 0; k < K; k++) {
      const b0 = v128.load(bp);
      a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(px), b0));
      d0 = f32x4.add(d0, f32x4.mul(v128.load32_splat(py), b0));
      bp += ldbB; px += xStep; py += xStep;
    }
    v128.store(c0 + o, a0);
    v128.store(c1 + o, d0);
  }
  for (; j < N; j++) {
    const o = <usize>j << 2;
    let s0 = load<f32>(c0 + o), s1 = load<f32>(c1 + o);
    let bp = b + o, px = xp, py = yp;
    for (let k = 0; k < K; k++) {
      const v = load<f32>(bp);
      s0 += load<f32>(px) * v;
      s1 += load<f32>(py) * v;
      bp += ldbB; px += xStep; py += xStep;
    }
    store<f32>(c0 + o, s0);
    store<f32>(c1 + o, s1);
  }
}

/** M ≤ ROWS_M: one row of C at a time (two at a time for op(B) = B). */
function gemmRows(
  transA: i32, transB: i32, M: i32, N: i32, K: i32,
  a: usize, ldaB: usize, b: usize, ldbB: usize, c: usize, ldcB: usize,
  accumulate: i32, buf: usize,
): void {
  let i0 = 0;
  if (!transB) {
    const aStep: usize = transA ? ldaB : 4;
    const aNext: usize = transA ? 4 : ldaB; // from row i of op(A) to row i+1
    for (; i0 + 2 <= M; i0 += 2) {
      const c0 = c + <usize>i0 * ldcB;
      const c1 = c0 + ldcB;
      if (!accumulate) {
        memory.fill(c0, 0, <usize>N << 2);
        memory.fill(c1, 0, <usize>N << 2);
      }
      const x = transA ? a + (<usize>i0 << 2) : a + <usize>i0 * ldaB;
      axpyRows2(x, x + aNext, aStep, N, K, b, ldbB, c0, c1);
    }
  }
  for (let i = i0; i < M; i++) {
    const crow = c + <usize>i * ldcB;
    // op(A)(i, k) at arow + k·aStep
    const arow = transA ? a + (<usize>i << 2) : a + <usize>i * ldaB;
    const aStep: usize = transA ? ldaB : 4;
    if (transB) {
      for (let pc = 0; pc < K; pc += KD) {
        const kb = min(KD, K - pc);
        let x = arow + <usize>pc * aStep;
        if (transA) {
          for (let k = 0; k < kb; k++) store<f32>(buf + (<usize>k << 2), load<f32>(x + <usize>k * aStep));
          x = buf;
        }
        dotRows(x, N, kb, b + (<usize>pc << 2), ldbB, crow, pc == 0 && !accumulate);
      }
    } else {
      if (!accumulate) memory.fill(crow, 0, <usize>N << 2);
      axpyRows(arow, aStep, N, K, b, ldbB, crow);
    }
  }
}
