/*
 * The native matrix product, written once and compiled once per instruction set (gemm_avx512.c,
 * gemm_avx2.c, gemm_generic.c include this file after fixing the vector width and tile):
 *
 *   C[M,N] (+)= op(A)[M,K] · op(B)[K,N]      row-major, op(X) = X or Xᵀ
 *
 * Same contract as kernels/gemm.ts (gemmReference) and asm/gemm.ts: leading dimensions in
 * floats, C must not overlap A or B, `accumulate` 0 overwrites C. The caller (addon.c) passes
 * this thread's scratch (WEFT_SCRATCH_FLOATS floats, 64-byte aligned).
 *
 * Shape (GotoBLAS/BLIS): op(B) is packed in strips of NR columns as [k][NR] and op(A) in panels
 * of MR rows as [k][MR], both zero-padded at the edges, K cut into blocks of KC and M into
 * blocks of MC (an A block of MC×KC stays in L2 while one B strip, KC×NR, stays in L1). The
 * micro-kernel keeps an MR×NR tile of C in MR·NV vector registers and per k loads NV vectors of
 * the B strip and broadcasts MR values of the A panel, one fused multiply-add per pair.
 * With M ≤ 3 (a batch of one or two) there is too little reuse to pay for packing: rows of C
 * are made straight from op(B) in place (sums of scaled rows of B, or dot products with rows
 * of B for op(B) = Bᵀ); sums of rows of B read row after row where B's rows are far apart
 * (rows_stream). With op(B) = B, one block of M and B's rows not a multiple of 4 KiB apart, the
 * micro-kernel reads B in place too (a strip of B is then read once per panel of A, from L1 or
 * L2; packing it cost more than that for every M measured, 4 to 240); only the ragged right
 * edge is packed. op(A) = Aᵀ is packed row by row of A (see pack_a).
 * One column of C (N = 1) or one k (K = 1) past those few-row paths is not packed either (column,
 * outer): the tile would be mostly zeros; each element still gets the packed path's sums.
 *
 * Determinism: the order of every sum depends on (form, M, N, K, accumulate) only, never on
 * addresses, alignment or the thread, so any worker computing a shard gets the same bits.
 * Each variant rounds differently (fused multiply-add or not, vector width), which is why a
 * process picks one variant for all its threads.
 * The unpacked paths (rows_stream, column, outer) give the packed paths' bits because every
 * multiply-add is written as one (madd, below).
 *
 * Expects: VW (floats per vector), MR (rows of the tile), NV (vectors per row of the tile),
 * WEFT_NAME(x) (appends the variant's suffix), WEFT_FMA (256 or 512: the variant's target has FMA
 * for vectors of that many bits; undefined for the portable variant), and for WEFT_FMA
 * <immintrin.h> included before the target region (isa_begin.h: under clang, declarations
 * inside it would take a second target attribute).
 */
#include <stddef.h>
#include <string.h>

#define NR (NV * VW)
#define KC 256
#define MC 240 /* a multiple of every MR (4, 6, 8) */
#define NC 1024
/* op(B) = B is read in place unless its rows are a multiple of 4 KiB apart (from 4 KiB on): then
   the rows of a strip all fall in the same L1 sets and evict each other (NN 32×1024×256, one
   thread, B in cache: ldb 1024 in place 50, packed 63–64 GFLOP/s; ldb 1040, the stack's padded
   W_hhᵀ, in place 83, packed 65; ldb 2064 in place 72, packed 60; ldb 512 or 528 alike). */
#define INPLACE_LDB 1024
#define INPLACE_OK(ldb) ((ldb) < INPLACE_LDB || (ldb) % INPLACE_LDB != 0)
#define ROWS_M 3 /* op(B) = B: rows_nn up to here */
#define DOTS_M 3 /* op(B) = Bᵀ: dots up to here (above, packing Bᵀ costs less than the sums across lanes) */

typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));
typedef float v4 __attribute__((vector_size(16)));
typedef float v4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef int v4i __attribute__((vector_size(16)));

#if defined(__clang__)
#define SHUF4(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define SHUF4(a, b, i, j, k, l) __builtin_shuffle(a, b, (v4i){i, j, k, l})
#endif

#define INLINE static inline __attribute__((always_inline))
#define LD(p) ((vf)(*(const vfu *)(p)))
#define ST(p, v) (*(vfu *)(p) = (v))

INLINE int imin(int a, int b) { return a < b ? a : b; }

/*
 * Multiply-adds, c + x·y: one rounding (a fused multiply-add) where the variant has FMA, said
 * explicitly rather than left to the compiler's contraction, which need not fuse every chain alike:
 * GCC tuned for Zen (-mtune=znver*, which CFLAGS=-march=native implies there) leaves chains of
 * 128- and 256-bit multiply-adds unfused in some loops and not in others, and the unpacked paths
 * (rows_stream, column) then differed from the packed path by rounding (native.test.ts showed it).
 * arm64 always has FMA (NEON's vfmaq; there too a compiler's tuning for some cores may avoid
 * fusing chains).
 * Where there is no FMA (the portable variant on a plain x86-64) each is a product rounded, then
 * a sum rounded, everywhere alike. madds and madd4s broadcast a scalar y (as y − 0, which keeps
 * −0).
 */
#if defined(WEFT_FMA) || (defined(__x86_64__) && defined(__FMA__))
#include <immintrin.h>
#define FUSED 1
INLINE v4 madd4(v4 c, v4 x, v4 y) { return (v4)_mm_fmadd_ps((__m128)x, (__m128)y, (__m128)c); }
INLINE vf madd(vf c, vf x, vf y) {
#if VW == 4
  return madd4(c, x, y);
#elif VW == 8
  return (vf)_mm256_fmadd_ps((__m256)x, (__m256)y, (__m256)c);
#elif WEFT_FMA == 512
  return (vf)_mm512_fmadd_ps((__m512)x, (__m512)y, (__m512)c);
#else /* 16 floats on AVX2 (gemm_wide_on_avx2.c, for tests): two halves */
  union {
    vf v;
    __m256 h[2];
  } X = {x}, Y = {y}, C = {c};
  C.h[0] = _mm256_fmadd_ps(X.h[0], Y.h[0], C.h[0]);
  C.h[1] = _mm256_fmadd_ps(X.h[1], Y.h[1], C.h[1]);
  return C.v;
#endif
}
#elif defined(__aarch64__) && VW == 4
#include <arm_neon.h>
#define FUSED 1
INLINE v4 madd4(v4 c, v4 x, v4 y) { return (v4)vfmaq_f32((float32x4_t)c, (float32x4_t)x, (float32x4_t)y); }
INLINE vf madd(vf c, vf x, vf y) { return madd4(c, x, y); }
#else
INLINE v4 madd4(v4 c, v4 x, v4 y) { return c + x * y; }
INLINE vf madd(vf c, vf x, vf y) { return c + x * y; }
#endif
#if defined(FUSED)
INLINE float maddf(float c, float x, float y) { return __builtin_fmaf(x, y, c); }
#else
INLINE float maddf(float c, float x, float y) { return c + x * y; }
#endif
INLINE vf madds(vf c, vf x, float y) { return madd(c, x, y - (vf){0}); }
INLINE v4 madd4s(v4 c, v4 x, float y) { return madd4(c, x, y - (v4){0}); }

/* Rows r0..r3 (4 floats each) → columns c0..c3. */
INLINE void transpose4(v4 r0, v4 r1, v4 r2, v4 r3, v4 *c0, v4 *c1, v4 *c2, v4 *c3) {
  const v4 t0 = SHUF4(r0, r1, 0, 4, 1, 5), t1 = SHUF4(r0, r1, 2, 6, 3, 7);
  const v4 t2 = SHUF4(r2, r3, 0, 4, 1, 5), t3 = SHUF4(r2, r3, 2, 6, 3, 7);
  *c0 = SHUF4(t0, t2, 0, 1, 4, 5);
  *c1 = SHUF4(t0, t2, 2, 3, 6, 7);
  *c2 = SHUF4(t1, t3, 0, 1, 4, 5);
  *c3 = SHUF4(t1, t3, 2, 3, 6, 7);
}

typedef float v2u __attribute__((vector_size(8), aligned(4), may_alias));

/* The first n (1..4) lanes of v to p. */
INLINE void store_lanes(float *p, v4 v, int n) {
  if (n == 4) {
    *(v4u *)p = v;
  } else {
    if (n >= 2) *(v2u *)p = (v2u){v[0], v[1]};
    else p[0] = v[0];
    if (n == 3) p[2] = v[2];
  }
}

/*
 * dst[k*ld + q] = s_q[k] for q < n (1..4), k < kb: n rows of kb floats (s_q for q ≥ n: any row
 * that can be read) become kb rows of n floats, ld apart (4×4 transposes; the last kb % 4 one at
 * a time).
 */
INLINE void transpose_rows(const float *s0, const float *s1, const float *s2, const float *s3, int n, int kb,
                           float *dst, long ld) {
  int k = 0;
  for (; k + 4 <= kb; k += 4) {
    v4 c0, c1, c2, c3;
    transpose4(*(const v4u *)(s0 + k), *(const v4u *)(s1 + k), *(const v4u *)(s2 + k), *(const v4u *)(s3 + k),
               &c0, &c1, &c2, &c3);
    store_lanes(dst + k * ld, c0, n);
    store_lanes(dst + (k + 1) * ld, c1, n);
    store_lanes(dst + (k + 2) * ld, c2, n);
    store_lanes(dst + (k + 3) * ld, c3, n);
  }
  for (; k < kb; k++) {
    float *d = dst + k * ld;
    d[0] = s0[k];
    if (n > 1) d[1] = s1[k];
    if (n > 2) d[2] = s2[k];
    if (n > 3) d[3] = s3[k];
  }
}

/* transpose_rows of rows s[0..n) (n ≤ 4), with n a constant in each copy. */
static void transpose_rows_n(const float *const *s, int n, int kb, float *dst, long ld) {
  const float *s1 = n > 1 ? s[1] : s[0], *s2 = n > 2 ? s[2] : s[0], *s3 = n > 3 ? s[3] : s[0];
  switch (n) {
    case 1: transpose_rows(s[0], s1, s2, s3, 1, kb, dst, ld); break;
    case 2: transpose_rows(s[0], s1, s2, s3, 2, kb, dst, ld); break;
    case 3: transpose_rows(s[0], s1, s2, s3, 3, kb, dst, ld); break;
    default: transpose_rows(s[0], s1, s2, s3, 4, kb, dst, ld); break;
  }
}

/* Prefetch distance of the packing, in rows of the operand read. */
#define PF_ROWS 8

/* Asks for the cache lines of n floats from p. */
INLINE void prefetch_run(const float *p, int n) {
  for (int q = 0; q < n; q += 16) __builtin_prefetch(p + q, 0, 3);
  __builtin_prefetch(p + n - 1, 0, 3);
}

/* Rows r0.., n ≤ 4 of them, of a matrix given by rows (row pointers) or by X and ld, from column p0. */
INLINE void row_ptrs(const float *const *rows, const float *X, long ld, int r0, int n, int p0, const float **out) {
  for (int q = 0; q < n; q++) out[q] = (rows ? rows[r0 + q] : X + (long)(r0 + q) * ld) + p0;
}

/* dst[k*ld + c] = 0 for c0 <= c < c1, k < kb (the zero padding of a panel). */
static void zero_columns(float *dst, long ld, int c0, int c1, int kb) {
  if (c0 >= c1) return;
  for (int k = 0; k < kb; k++) memset(dst + k * ld + c0, 0, (size_t)(c1 - c0) * sizeof(float));
}

/*
 * dst[k*W + c] = src[k*lds + c] for c < n (≤ W), 0 for n ≤ c < W, k < kb: kb rows of n floats
 * copied as they are into rows of W (the panel's width), zero-padded.
 */
INLINE void copy_rows(const float *src, long lds, int n, int kb, float *dst, int W) {
  for (int k = 0; k < kb; k++, src += lds, dst += W) {
    int c = 0;
    if (n == W)
      for (; c + 4 <= W; c += 4) *(v4u *)(dst + c) = *(const v4u *)(src + c);
    for (; c < n; c++) dst[c] = src[c];
    for (; c < W; c++) dst[c] = 0.0f;
  }
}

/* ---- packing --------------------------------------------------------------------------------- */

/* op(A)[i0.., p0..] (mb × kb) → panels of MR rows, each [k][MR]; rows past mb are zero. With
   op(A) = A its rows may come as row pointers (arow, not NULL) instead of A and lda. */
static void pack_a(int tA, const float *A, long lda, const float *const *arow, int i0, int mb, int p0, int kb,
                   float *dst) {
  if (tA) {
    /* op(A)(i, k) = A[k, i]: each row of A (mb adjacent floats) is read once, start to end, and
       dealt MR at a time to the panels. (Panel by panel instead, MR floats from each of kb rows
       lda apart, the rows share L1 sets and pages, and the packing waited on L2: ~20% of a
       1024×256×4096 dW product.) */
    const int full = mb - mb % MR, mr = mb - full;
    const float *src = A + (long)p0 * lda + i0;
    for (int k = 0; k < kb; k++, src += lda) {
      /* A row PF_ROWS ahead is asked for now: A is often a dZ written long before (a layer's
         backward steps), in L3 or memory, and one short run a row is too little for the hardware
         prefetcher (TN 512×128×256 over 16 shards' operands, out of cache: 54–64 → 62–75 GFLOP/s). */
      if (k + PF_ROWS < kb) prefetch_run(src + PF_ROWS * lda, mb);
      float *d = dst + k * MR;
      int ip = 0;
      for (; ip < full; ip += MR, d += (long)kb * MR) {
        int r = 0;
        for (; r + 4 <= MR; r += 4) *(v4u *)(d + r) = *(const v4u *)(src + ip + r);
        for (; r < MR; r++) d[r] = src[ip + r];
      }
      if (mr) {
        int r = 0;
        for (; r < mr; r++) d[r] = src[ip + r];
        for (; r < MR; r++) d[r] = 0.0f;
      }
    }
    return;
  }
  for (int ip = 0; ip < mb; ip += MR, dst += (long)kb * MR) {
    const int mr = imin(MR, mb - ip);
    /* op(A)(i, k) = A[i, k]: rows of A, each contiguous in k, transposed four at a time. */
    for (int r = 0; r < mr; r += 4) {
      const float *s[4];
      const int n = imin(4, mr - r);
      row_ptrs(arow, A, lda, i0 + ip + r, n, p0, s);
      transpose_rows_n(s, n, kb, dst + r, MR);
    }
    zero_columns(dst, MR, mr, MR, kb);
  }
}

/* op(B)[p0..p0+kb, j0..j0+nr] → dst as [k][NR]; columns past nr are zero. */
static void pack_b(int tB, const float *B, long ldb, int p0, int kb, int j0, int nr, float *dst) {
  if (!tB) {
    copy_rows(B + (long)p0 * ldb + j0, ldb, nr, kb, dst, NR);
    return;
  }
  /* op(B)(k, j) = B[j, k]: nr rows of B, each contiguous in k, transposed four at a time. */
  for (int c = 0; c < nr; c += 4) {
    const float *s[4];
    const int n = imin(4, nr - c);
    row_ptrs(NULL, B, ldb, j0 + c, n, p0, s);
    transpose_rows_n(s, n, kb, dst + c, NR);
  }
  zero_columns(dst, NR, nr, NR, kb);
}

/* ---- micro-kernel ---------------------------------------------------------------------------- */

/*
 * C[0..R, 0..NR) (+)= Σ_k ap[k][r] · bp[k·bs + 0..NR) for the first R (≤ MR) rows of a panel, row r
 * of C at cr[r]: the tile sums in registers from zero, then is stored (first) or added to C. bs is
 * NR for a packed strip, ldb for one read in place.
 */
INLINE void micro(int R, int kb, const float *restrict ap, const float *restrict bp, long bs, float *const *cr,
                  int first) {
  vf acc[MR][NV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = (vf){0};
  /* The tile of C is added to at the end: ask for its lines now, so that a C larger than the
     caches (a dW product's, passed over once per block of K) is not waited on then. */
  if (!first)
    for (int r = 0; r < R; r++) {
      __builtin_prefetch(cr[r], 1, 3);
      __builtin_prefetch(cr[r] + NR - 1, 1, 3);
    }
#pragma GCC unroll 4
  for (int k = 0; k < kb; k++) {
    vf b[NV];
    for (int v = 0; v < NV; v++) b[v] = LD(bp + v * VW);
    for (int r = 0; r < R; r++) {
      const float a = ap[r];
      for (int v = 0; v < NV; v++) acc[r][v] = madds(acc[r][v], b[v], a);
    }
    ap += MR;
    bp += bs;
  }
  for (int r = 0; r < R; r++) {
    float *c = cr[r];
    for (int v = 0; v < NV; v++) ST(c + v * VW, first ? acc[r][v] : LD(c + v * VW) + acc[r][v]);
  }
}

/* micro for the last mr < MR rows of M, with the row count a constant in each copy. */
static void micro_rows(int mr, int kb, const float *ap, const float *bp, long bs, float *const *cr, int first) {
#define ROWS_CASE(n) \
  case n: micro((n) < MR ? (n) : MR, kb, ap, bp, bs, cr, first); break;
  switch (mr) {
    ROWS_CASE(1) ROWS_CASE(2) ROWS_CASE(3) ROWS_CASE(4) ROWS_CASE(5) ROWS_CASE(6) ROWS_CASE(7)
    default: micro(MR, kb, ap, bp, bs, cr, first);
  }
#undef ROWS_CASE
}

/* An mr × nr corner (mr ≤ MR, nr ≤ NR). A narrow one goes through `tile`, then the part inside C. */
static void micro_edge(int mr, int nr, int kb, const float *ap, const float *bp, long bs, float *const *cr, int first,
                       float *tile) {
  if (nr == NR) {
    micro_rows(mr, kb, ap, bp, bs, cr, first);
    return;
  }
  float *tr[MR];
  for (int r = 0; r < MR; r++) tr[r] = tile + r * NR;
  micro_rows(mr, kb, ap, bp, bs, tr, 1);
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++) cr[r][j] = first ? tile[r * NR + j] : cr[r][j] + tile[r * NR + j];
}

/* ---- a few rows: op(B) read in place ----------------------------------------------------------- */

/*
 * op(B) = B: C[r, :] (+)= Σ_k a(r, k)·B[k, :] for R rows, a(r, k) at A + r·ar + k·ak. JV vectors
 * of columns at a time, all of K summed in registers, then stored or added.
 */
INLINE void rows_nn(int R, int N, int K, const float *A, long ar, long ak, const float *B, long ldb, float *C,
                    long ldc, int first) {
  enum { JV = 4 };
  const int jv = (R == 3 && VW < 16) ? 3 : JV; /* 16 vector registers below AVX-512 */
  int j = 0;
  for (; j + jv * VW <= N; j += jv * VW) {
    vf acc[ROWS_M][JV];
    for (int r = 0; r < R; r++)
      for (int v = 0; v < jv; v++) acc[r][v] = (vf){0};
    const float *b = B + j;
    for (int k = 0; k < K; k++, b += ldb) {
      vf bv[JV];
      for (int v = 0; v < jv; v++) bv[v] = LD(b + v * VW);
      for (int r = 0; r < R; r++) {
        const float a = A[r * ar + k * ak];
        for (int v = 0; v < jv; v++) acc[r][v] = madds(acc[r][v], bv[v], a);
      }
    }
    for (int r = 0; r < R; r++) {
      float *cr = C + r * ldc + j;
      for (int v = 0; v < jv; v++) ST(cr + v * VW, first ? acc[r][v] : LD(cr + v * VW) + acc[r][v]);
    }
  }
  for (; j + VW <= N; j += VW) {
    vf acc[ROWS_M];
    for (int r = 0; r < R; r++) acc[r] = (vf){0};
    const float *b = B + j;
    for (int k = 0; k < K; k++, b += ldb) {
      const vf bv = LD(b);
      for (int r = 0; r < R; r++) acc[r] = madds(acc[r], bv, A[r * ar + k * ak]);
    }
    for (int r = 0; r < R; r++) {
      float *cr = C + r * ldc + j;
      ST(cr, first ? acc[r] : LD(cr) + acc[r]);
    }
  }
  for (; j < N; j++) {
    for (int r = 0; r < R; r++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s = maddf(s, A[r * ar + k * ak], B[(long)k * ldb + j]);
      C[r * ldc + j] = first ? s : C[r * ldc + j] + s;
    }
  }
}

/* v's lanes folded to four: lane l of the result is the sum of lanes l, l+4, l+8, ... in order. */
INLINE v4 fold4(vf v) {
  v4 s = {v[0], v[1], v[2], v[3]};
  for (int l = 4; l < VW; l += 4) s += (v4){v[l], v[l + 1], v[l + 2], v[l + 3]};
  return s;
}

/* The sums of the lanes of a, b, c, d, as one vector (a fixed order: fold, transpose, add). */
INLINE v4 hsum4(vf a, vf b, vf c, vf d) {
  v4 c0, c1, c2, c3;
  transpose4(fold4(a), fold4(b), fold4(c), fold4(d), &c0, &c1, &c2, &c3);
  return (c0 + c1) + (c2 + c3);
}

/*
 * op(A) = A, op(B) = Bᵀ with few rows: C[r, j] (+)= A[r, :]·B[j, :] as dot products along k, both
 * operands read in place (rows contiguous in k), R ≤ 4 rows of A against Q rows of B at a time
 * (R·Q accumulators), so each row of B is read once per call of this function.
 */
INLINE void dots(int R, int N, int K, const float *A, long lda, const float *B, long ldb, float *C, long ldc,
                 int first) {
  enum { QMAX = 4 };
  const int Q = (R == 4 && VW < 16) ? 3 : QMAX; /* 16 vector registers below AVX-512 */
  const int kv = K - K % VW;
  for (int j = 0; j < N; j += Q) {
    const int q4 = imin(Q, N - j);
    vf acc[4][QMAX];
    for (int r = 0; r < R; r++)
      for (int q = 0; q < QMAX; q++) acc[r][q] = (vf){0};
    const float *b = B + (long)j * ldb;
    if (q4 == Q) {
      for (int k = 0; k < kv; k += VW) {
        vf bv[QMAX];
        for (int q = 0; q < Q; q++) bv[q] = LD(b + q * ldb + k);
        for (int r = 0; r < R; r++) {
          const vf a = LD(A + r * lda + k);
          for (int q = 0; q < Q; q++) acc[r][q] = madd(acc[r][q], a, bv[q]);
        }
      }
    } else {
      for (int k = 0; k < kv; k += VW)
        for (int r = 0; r < R; r++)
          for (int q = 0; q < q4; q++) acc[r][q] = madd(acc[r][q], LD(A + r * lda + k), LD(b + q * ldb + k));
    }
    for (int r = 0; r < R; r++) {
      const v4 sum = hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
      for (int q = 0; q < q4; q++) {
        float s = sum[q];
        for (int k = kv; k < K; k++) s = maddf(s, A[r * lda + k], b[q * ldb + k]);
        float *cp = C + r * ldc + j + q;
        *cp = first ? s : *cp + s;
      }
    }
  }
}

/* dots over any M, in groups of at most four rows, as even as can be (each group reads all of B). */
static void dots_rows(int M, int N, int K, const float *A, long lda, const float *B, long ldb, float *C, long ldc,
                      int first) {
  const int groups = (M + 3) / 4;
  for (int g = 0, i = 0; g < groups; g++) {
    const int R = (M - i + (groups - g) - 1) / (groups - g);
    const float *a = A + (long)i * lda;
    float *c = C + (long)i * ldc;
    switch (R) {
      case 1: dots(1, N, K, a, lda, B, ldb, c, ldc, first); break;
      case 2: dots(2, N, K, a, lda, B, ldb, c, ldc, first); break;
      case 3: dots(3, N, K, a, lda, B, ldb, c, ldc, first); break;
      default: dots(4, N, K, a, lda, B, ldb, c, ldc, first); break;
    }
    i += R;
  }
}

/*
 * rows_nn for a wide B (many columns, rows far apart): the same sums, in the same order, with B
 * read row after row instead of down strips of columns. Down a strip every row of B lies on a
 * page of its own once ldb ≥ 1024 (a 1024×256 recurrent weight: each of the 256 rows of a
 * strip is a new 4 KiB page), where the hardware prefetchers stop, so the product waited on
 * memory (~23 GFLOP/s). Here the R rows of C (up to RB floats each) are summed in `acc`, an L1
 * buffer, four rows of B at a time, each read from start to end. Every element is still
 * 0 + a₀b₀ + a₁b₁ + ... in k order, one multiply-add at a time, then stored or added to C as
 * rows_nn does: the same bits as rows_nn for every shape.
 */
#define RB 1024
INLINE void rows_stream(int R, int N, int K, const float *A, long ar, long ak, const float *B, long ldb, float *C,
                        long ldc, int first, float *restrict acc) {
  for (int jc = 0; jc < N; jc += RB) {
    const int nb = imin(RB, N - jc), nv = nb - nb % VW;
    for (int r = 0; r < R; r++) memset(acc + r * RB, 0, (size_t)nb * sizeof(float));
    const float *b = B + jc;
    int k = 0;
    for (; k + 4 <= K; k += 4, b += 4 * ldb) {
      float a[ROWS_M][4];
      for (int r = 0; r < R; r++)
        for (int q = 0; q < 4; q++) a[r][q] = A[r * ar + (k + q) * ak];
      for (int j = 0; j < nv; j += VW) {
        const vf b0 = LD(b + j), b1 = LD(b + ldb + j), b2 = LD(b + 2 * ldb + j), b3 = LD(b + 3 * ldb + j);
        for (int r = 0; r < R; r++) {
          vf s = LD(acc + r * RB + j);
          s = madds(s, b0, a[r][0]);
          s = madds(s, b1, a[r][1]);
          s = madds(s, b2, a[r][2]);
          s = madds(s, b3, a[r][3]);
          ST(acc + r * RB + j, s);
        }
      }
      for (int j = nv; j < nb; j++)
        for (int r = 0; r < R; r++) {
          float s = acc[r * RB + j];
          s = maddf(s, a[r][0], b[j]);
          s = maddf(s, a[r][1], b[ldb + j]);
          s = maddf(s, a[r][2], b[2 * ldb + j]);
          s = maddf(s, a[r][3], b[3 * ldb + j]);
          acc[r * RB + j] = s;
        }
    }
    for (; k < K; k++, b += ldb)
      for (int r = 0; r < R; r++) {
        const float a = A[r * ar + k * ak];
        int j = 0;
        for (; j < nv; j += VW) ST(acc + r * RB + j, madds(LD(acc + r * RB + j), LD(b + j), a));
        for (; j < nb; j++) acc[r * RB + j] = maddf(acc[r * RB + j], a, b[j]);
      }
    for (int r = 0; r < R; r++) {
      float *cr = C + r * ldc + jc;
      const float *s = acc + r * RB;
      if (first) memcpy(cr, s, (size_t)nb * sizeof(float));
      else
        for (int j = 0; j < nb; j++) cr[j] += s[j];
    }
  }
}

/*
 * op(B) = B with R ≤ ROWS_M rows, with R a constant in each copy: down strips of columns where
 * B's rows are close (a strip of B then spans few pages), row after row (rows_stream, the same
 * bits) where they are far apart. (Measured with M = 4 too, on bilstm's 4×512×128 step product
 * with B in L2: the packed path's 6×16 tile stays faster there, 44 against 29 GFLOP/s.)
 */
static void rows(int R, int tA, int N, int K, const float *A, long lda, const float *B, long ldb, float *C, long ldc,
                 int first, float *scratch) {
  const long ar = tA ? 1 : lda, ak = tA ? lda : 1;
  if (ldb >= 256 && N >= 4 * VW) {
    if (R == 1) rows_stream(1, N, K, A, ar, ak, B, ldb, C, ldc, first, scratch);
    else if (R == 2) rows_stream(2, N, K, A, ar, ak, B, ldb, C, ldc, first, scratch);
    else rows_stream(3, N, K, A, ar, ak, B, ldb, C, ldc, first, scratch);
  } else if (R == 1) rows_nn(1, N, K, A, ar, ak, B, ldb, C, ldc, first);
  else if (R == 2) rows_nn(2, N, K, A, ar, ak, B, ldb, C, ldc, first);
  else rows_nn(3, N, K, A, ar, ak, B, ldb, C, ldc, first);
}

/* ---- one column of C, or K = 1: nothing to pack for ------------------------------------------ */

/*
 * Shapes with N = 1 (a head with one output: TN M×1×K, NT M×1×K) or K = 1 (a layer with one
 * input: NN M×N×1) leave the packed path's tile mostly zeros (one column of 16, one k of 256):
 * a 32×1×800 product took 29 µs there, 1.8 GFLOP/s. These compute each element exactly as the
 * packed path does (per block of KC: a sum from 0 of a(i,k)·b(k) in k order, one multiply-add at
 * a time, then stored or added to C), so the bits are the packed path's; only the order in
 * which elements are visited changes.
 */

/* K = 1: C[i, j] (+)= a(i)·b(j), the product rounded once (0 + a·b), then stored or added. b is
   op(B)'s one row, copied to buf where it is a column of B (NC floats at a time). */
static void outer(int tA, int tB, int M, int N, const float *A, long lda, const float *B, long ldb, float *C,
                  long ldc, int first, float *buf) {
  for (int jc = 0; jc < N; jc += NC) {
    const int nb = imin(NC, N - jc), nv = nb - nb % VW;
    const float *b = B + jc;
    if (tB) {
      for (int j = 0; j < nb; j++) buf[j] = B[(long)(jc + j) * ldb];
      b = buf;
    }
    for (int i = 0; i < M; i++) {
      const float a = tA ? A[i] : A[(long)i * lda];
      float *c = C + (long)i * ldc + jc;
      int j = 0;
      for (; j < nv; j += VW) {
        const vf acc = madds((vf){0}, LD(b + j), a);
        ST(c + j, first ? acc : LD(c + j) + acc);
      }
      for (; j < nb; j++) {
        const float s = maddf(0.0f, b[j], a);
        c[j] = first ? s : c[j] + s;
      }
    }
  }
}

/* C[i + r, 0] for r < n from lanes of s (sums of one block of K): stored or added. */
INLINE void put_column(float *C, long ldc, int i, const float *s, int n, int first) {
  for (int r = 0; r < n; r++) {
    float *c = C + (long)(i + r) * ldc;
    *c = first ? s[r] : *c + s[r];
  }
}

/* op(A) = Aᵀ: W·VW adjacent rows of C from W vectors of each row of A (a, lda apart; kb of them), the
   first n of them stored. */
INLINE void column_lanes(int W, const float *a, long lda, int kb, const float *b, float *C, long ldc, int i, int n,
                         int first) {
  vf acc[4];
  for (int v = 0; v < W; v++) acc[v] = (vf){0};
  for (int k = 0; k < kb; k++, a += lda)
    for (int v = 0; v < W; v++) acc[v] = madds(acc[v], LD(a + v * VW), b[k]);
  float out[4 * VW];
  for (int v = 0; v < W; v++) ST(out + v * VW, acc[v]);
  put_column(C, ldc, i, out, n, first);
}

/* op(A) = A: rows r[0..4Q) of A (contiguous in k), four to a sum of four lanes, each lane
   Σ_k r[q][k]·b[k] in k order: four k at a time through transpose4. n of the 4Q rows go to C. */
INLINE void column_rows(int Q, const float *const *r, int kb, const float *b, float *C, long ldc, int i, int n,
                        int first) {
  v4 acc[4];
  for (int q = 0; q < Q; q++) acc[q] = (v4){0};
  int k = 0;
  for (; k + 4 <= kb; k += 4)
    for (int q = 0; q < Q; q++) {
      const float *const *g = r + 4 * q;
      v4 c0, c1, c2, c3;
      transpose4(*(const v4u *)(g[0] + k), *(const v4u *)(g[1] + k), *(const v4u *)(g[2] + k), *(const v4u *)(g[3] + k),
                 &c0, &c1, &c2, &c3);
      acc[q] = madd4s(acc[q], c0, b[k]);
      acc[q] = madd4s(acc[q], c1, b[k + 1]);
      acc[q] = madd4s(acc[q], c2, b[k + 2]);
      acc[q] = madd4s(acc[q], c3, b[k + 3]);
    }
  for (; k < kb; k++)
    for (int q = 0; q < Q; q++) {
      const float *const *g = r + 4 * q;
      acc[q] = madd4s(acc[q], (v4){g[0][k], g[1][k], g[2][k], g[3][k]}, b[k]);
    }
  float out[16];
  for (int q = 0; q < Q; q++) *(v4u *)(out + 4 * q) = acc[q];
  put_column(C, ldc, i, out, n, first);
}

/*
 * N = 1: C[i, 0] (+)= Σ_k a(i, k)·b(k), rows of C side by side in the lanes of vector sums (vector
 * code throughout: a scalar chain of multiply-adds is one the compiler may turn into vector
 * products added one by one, unfused, which would not be the packed path's bits). b (op(B)'s one
 * column) is copied to buf, a block of K at a time. op(A) = Aᵀ: A's rows hold adjacent rows of
 * C, read in place; the last rows (fewer than VW) are copied to buf, zero-padded. op(A) = A:
 * rows of A four at a time, transposed; past the last row, the first stands in (not stored).
 */
static void column(int tA, int tB, int M, int K, const float *A, long lda, const float *B, long ldb, float *C,
                   long ldc, int accumulate, float *buf) {
  enum { CV = 4, CQ = 4 };
  for (int pc = 0; pc < K; pc += KC) {
    const int kb = imin(KC, K - pc), first = pc == 0 && !accumulate;
    for (int k = 0; k < kb; k++) buf[k] = tB ? B[pc + k] : B[(long)(pc + k) * ldb];
    int i = 0;
    if (tA) {
      const float *a0 = A + (long)pc * lda;
      for (; i + CV * VW <= M; i += CV * VW) column_lanes(CV, a0 + i, lda, kb, buf, C, ldc, i, CV * VW, first);
      for (; i + VW <= M; i += VW) column_lanes(1, a0 + i, lda, kb, buf, C, ldc, i, VW, first);
      if (i < M) {
        float *t = buf + KC; /* [kb][VW]: the last M − i rows of C, as A has them */
        for (int k = 0; k < kb; k++)
          for (int r = 0; r < VW; r++) t[k * VW + r] = i + r < M ? a0[(long)k * lda + i + r] : 0.0f;
        column_lanes(1, t, VW, kb, buf, C, ldc, i, M - i, first);
      }
      continue;
    }
    for (; i < M; i += 4 * CQ) {
      const int n = imin(4 * CQ, M - i);
      const float *r[4 * CQ];
      for (int q = 0; q < 4 * CQ; q++) r[q] = A + (long)(i + (q < n ? q : 0)) * lda + pc;
      if (n > 4) column_rows(CQ, r, kb, buf, C, ldc, i, n, first);
      else column_rows(1, r, kb, buf, C, ldc, i, n, first);
    }
  }
}

/* ---- driver ---------------------------------------------------------------------------------- */

/* Floats of scratch a call needs: a KC×NC block of op(B), an MC×KC block of op(A), one tile, one strip. */
size_t WEFT_NAME(weft_gemm_scratch)(void) { return (size_t)KC * NC + (size_t)MC * KC + (size_t)MR * NR + (size_t)KC * NR; }

/*
 * The packed product, what weft_gemm runs past its few-row paths: rows of op(A) (op(A) = A) and
 * of C either as a matrix and its leading dimension, or as row pointers (arow, crow not NULL:
 * weft_gemm_rows). Either way the same sums in the same order.
 */
static void packed(int tA, int tB, int M, int N, int K, const float *A, long lda, const float *const *arow,
                   const float *B, long ldb, float *C, long ldc, float *const *crow, int accumulate, float *scratch) {
  float *bblock = scratch;                           /* [strips][kb][NR] */
  float *ablock = bblock + (size_t)KC * NC;          /* [panels][kb][MR] */
  float *tile = ablock + (size_t)MC * KC;            /* [MR][NR] */
  float *strip = tile + (size_t)MR * NR;             /* [kb][NR] */
  const int oneblock = M <= MC;
  const int inplace = !tB && oneblock && INPLACE_OK(ldb);
  for (int jc = 0; jc < N; jc += NC) {
    const int nb = imin(NC, N - jc);
    for (int pc = 0; pc < K; pc += KC) {
      const int kb = imin(KC, K - pc);
      const int first = pc == 0 && !accumulate;
      for (int ic = 0; ic < M; ic += MC) {
        const int mb = imin(MC, M - ic);
        pack_a(tA, A, lda, arow, ic, mb, pc, kb, ablock);
        for (int jr = 0; jr < nb; jr += NR) {
          const int j0 = jc + jr, nr = imin(NR, nb - jr);
          /* Each strip is packed just before its first use (while M's first block runs), so it is
             still in L1 for that pass; later blocks of M read it back from L2. With one block of
             M there are no later ones: every strip goes through the same L1-sized buffer. */
          const float *bp;
          long bs = NR;
          if (inplace && nr == NR) {
            bp = B + (long)pc * ldb + j0;
            bs = ldb;
          } else {
            float *dst = oneblock ? strip : bblock + (size_t)jr * kb;
            if (ic == 0) pack_b(tB, B, ldb, pc, kb, j0, nr, dst);
            bp = dst;
          }
          for (int ir = 0; ir < mb; ir += MR) {
            const int mr = imin(MR, mb - ir);
            const float *ap = ablock + (size_t)ir * kb;
            float *cr[MR];
            for (int r = 0; r < mr; r++) cr[r] = (crow ? crow[ic + ir + r] : C + (long)(ic + ir + r) * ldc) + j0;
            if (mr == MR && nr == NR) micro(MR, kb, ap, bp, bs, cr, first);
            else micro_edge(mr, nr, kb, ap, bp, bs, cr, first, tile);
          }
        }
      }
    }
  }
}

void WEFT_NAME(weft_gemm)(int tA, int tB, int M, int N, int K, const float *A, long lda, const float *B, long ldb,
                          float *C, long ldc, int accumulate, float *scratch) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  if (M <= ROWS_M && !tB) {
    rows(M, tA, N, K, A, lda, B, ldb, C, ldc, !accumulate, scratch);
    return;
  }
  if (M <= DOTS_M && tB && !tA) {
    dots_rows(M, N, K, A, lda, B, ldb, C, ldc, !accumulate);
    return;
  }
  if (K == 1) {
    outer(tA, tB, M, N, A, lda, B, ldb, C, ldc, !accumulate, scratch);
    return;
  }
  if (N == 1) {
    column(tA, tB, M, K, A, lda, B, ldb, C, ldc, accumulate, scratch);
    return;
  }
  packed(tA, tB, M, N, K, A, lda, NULL, B, ldb, C, ldc, NULL, accumulate, scratch);
}

/*
 * C (+)= A · B with the M rows of A and of C given as row pointers (addon.c gemmRows: the rows of
 * a group's members, where they lie): for M > 3 (the caller's product sizes are multiples of 4)
 * the sums weft_gemm(0, 0, ...) makes over the same rows gathered, in the same order: the same
 * bits, without the copies. K > 0, N > 0.
 */
void WEFT_NAME(weft_gemm_rows)(int M, int N, int K, const float *const *arow, const float *B, long ldb,
                               float *const *crow, int accumulate, float *scratch) {
  packed(0, 0, M, N, K, NULL, 0, arow, B, ldb, NULL, 0, crow, accumulate, scratch);
}
