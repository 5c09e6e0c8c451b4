/*
 * The portable variant of the native kernels (gemm_generic.c, cells_generic.c) checked outside
 * Node, so that a machine of another architecture can be checked from this one: cross.mjs builds
 * this program for the machine it runs on and for arm64 (where the portable variant's 4-float
 * vectors are NEON) with a cross compiler, and runs the arm64 build under qemu. There is no arm64
 * Node here to load the addon itself; this runs the same C.
 *
 * Prints one line per case and exits 1 if any product failed:
 *   gemm <form> <M>x<N>x<K> acc <0|1> ok|FAIL ...     against a float64 sum, within the bound of
 *                                                    a float32 dot product (testkit's checkGemmCase),
 *                                                    nothing written outside C's window, the same
 *                                                    bits at another alignment; one column (N = 1)
 *                                                    as column 0 of two, and gemm_rows as the
 *                                                    gathered product, bit for bit
 *   cells <kernel> <rows>x<H> <hash>                 a hash of the whole arena after the call
 * The cell kernels compute IEEE float32 step by step (no contraction: cells_impl.h), so their
 * hashes must be the same on every machine and variant; cross.mjs compares them between builds
 * (NaN hashed as one value: its payload is the CPU's business). The products round differently
 * where the compiler fuses multiply-adds (arm64 does, x86-64's SSE2 cannot): bounds, not bits.
 */
/* This file's own arithmetic (its random inputs, its float64 sums) unfused on every machine: the
   inputs must be the same numbers here and on arm64, where the compiler would fuse them. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../csrc/cells.h"

void weft_gemm_generic(int, int, int, int, int, const float *, long, const float *, long, float *, long, int, float *);
void weft_gemm_rows_generic(int, int, int, const float *const *, const float *, long, float *const *, int, float *);
size_t weft_gemm_scratch_generic(void);
void weft_cells_generic(int, const uint32_t *, char *);

/* xorshift64: the same numbers on every machine (doubles rounded to float the same way). */
static uint64_t state = 88172645463325252ull;
static uint64_t next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}
static int irand(int n) { return (int)(next() % (uint64_t)n); }
static float uni(double lo, double hi) { return (float)(lo + (hi - lo) * ((double)(next() >> 11) / 9007199254740992.0)); }

static float *scratch;
static int failures;

/* ---- the product ------------------------------------------------------------------------------ */

/* Floats from p, shift floats into a fresh 64-byte-aligned block (n + shift + 16 of them). */
static float *block(size_t n, int shift) {
  float *p = aligned_alloc(64, ((n + (size_t)shift + 16) * sizeof(float) + 63) / 64 * 64);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p + shift;
}

static void gemm_case(int tA, int tB, int M, int N, int K, int acc) {
  const long lda = (tA ? M : K) + irand(3), ldb = (tB ? K : N) + irand(3), ldc = N + irand(3);
  const size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? N : K) * ldb, nc = (size_t)M * ldc;
  float *A = block(na, 0), *B = block(nb, 0), *C = block(nc, 0), *C0 = block(nc, 0);
  for (size_t i = 0; i < na; i++) A[i] = uni(-1, 1);
  for (size_t i = 0; i < nb; i++) B[i] = uni(-1, 1);
  for (size_t i = 0; i < nc; i++) C0[i] = C[i] = uni(-1, 1);
  weft_gemm_generic(tA, tB, M, N, K, A, lda, B, ldb, C, ldc, acc, scratch);

  double worst = 0;
  int bad = 0;
  for (int i = 0; i < M && !bad; i++)
    for (long j = 0; j < ldc; j++) {
      const size_t at = (size_t)i * ldc + (size_t)j;
      if (j >= N) { /* padding between rows: untouched */
        if (memcmp(&C[at], &C0[at], sizeof(float))) bad = 1;
        continue;
      }
      double s = acc ? C0[at] : 0, mag = acc ? fabs(C0[at]) : 0;
      for (int k = 0; k < K; k++) {
        const double p = (double)A[tA ? (size_t)k * lda + i : (size_t)i * lda + k] *
                         (double)B[tB ? (size_t)j * ldb + k : (size_t)k * ldb + j];
        s += p;
        mag += fabs(p);
      }
      const double tol = 2.0 * (K + 2) * ldexp(1, -24) * mag, err = fabs((double)C[at] - s);
      if (!(err <= tol)) bad = 1;
      else if (tol > 0 && err / tol > worst) worst = err / tol;
    }

  /* The same operands one to three floats further on: the same bits. */
  const int shift = 1 + irand(3);
  float *A2 = block(na, shift), *B2 = block(nb, shift), *C2 = block(nc, shift);
  memcpy(A2, A, na * sizeof(float));
  memcpy(B2, B, nb * sizeof(float));
  memcpy(C2, C0, nc * sizeof(float));
  weft_gemm_generic(tA, tB, M, N, K, A2, lda, B2, ldb, C2, ldc, acc, scratch);
  const int moved = memcmp(C, C2, nc * sizeof(float)) != 0;

  printf("gemm %c%c %dx%dx%d acc %d %s (worst error %.3f of the bound%s)\n", tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K,
         acc, bad || moved ? "FAIL" : "ok", worst, moved ? "; other bits at another alignment" : "");
  if (bad || moved) failures++;
  free(A);
  free(B);
  free(C);
  free(C0);
  free(A2 - shift);
  free(B2 - shift);
  free(C2 - shift);
}

/* N = 1 (gemm_impl.h's column) against column 0 of the same product with two columns (the packed
   path): the same bits, whatever this machine fuses. */
static void column_case(int tA, int tB, int M, int K, int acc) {
  const long lda = (tA ? M : K) + irand(3), ldb = tB ? K + irand(3) : 2 + irand(3), ldc = 1 + irand(3);
  const size_t na = (size_t)(tA ? K : M) * lda, nb = (size_t)(tB ? 2 : K) * ldb;
  float *A = block(na, 0), *B = block(nb, 0), *one = block((size_t)M * ldc, 0), *two = block((size_t)M * 2, 0);
  for (size_t i = 0; i < na; i++) A[i] = uni(-1, 1);
  for (size_t i = 0; i < nb; i++) B[i] = uni(-1, 1);
  for (int i = 0; i < M; i++) {
    one[(size_t)i * ldc] = two[2 * i] = uni(-1, 1);
    two[2 * i + 1] = 0.0f;
  }
  weft_gemm_generic(tA, tB, M, 1, K, A, lda, B, ldb, one, ldc, acc, scratch);
  weft_gemm_generic(tA, tB, M, 2, K, A, lda, B, ldb, two, 2, acc, scratch);
  int same = 1;
  for (int i = 0; i < M; i++) same &= memcmp(&one[(size_t)i * ldc], &two[2 * i], sizeof(float)) == 0;
  printf("gemm column %c%c %dx1x%d acc %d %s\n", tA ? 'T' : 'N', tB ? 'T' : 'N', M, K, acc,
         same ? "ok" : "FAIL (not column 0 of the two-column product's bits)");
  if (!same) failures++;
  free(A);
  free(B);
  free(one);
  free(two);
}

/* gemm_rows (the group's per-step product): M rows of A and C scattered, against weft_gemm on them gathered. */
static void gemm_rows_case(int M, int N, int K, int acc) {
  float *B = block((size_t)K * N, 0), *A = block((size_t)M * K, 0), *C = block((size_t)M * N, 0);
  float *rows = block((size_t)M * (K + N + 8), 0);
  const float *ar[512];
  float *cr[512];
  for (size_t i = 0; i < (size_t)K * N; i++) B[i] = uni(-1, 1);
  for (int i = 0; i < M; i++) {
    const int r = (i * 7) % M; /* out of order in memory */
    float *a = rows + (size_t)r * (K + N + 8), *c = a + K + 4;
    for (int k = 0; k < K; k++) a[k] = A[(size_t)i * K + k] = uni(-1, 1);
    for (int j = 0; j < N; j++) c[j] = C[(size_t)i * N + j] = uni(-1, 1);
    ar[i] = a;
    cr[i] = c;
  }
  weft_gemm_rows_generic(M, N, K, ar, B, N, cr, acc, scratch);
  weft_gemm_generic(0, 0, M, N, K, A, K, B, N, C, N, acc, scratch);
  int same = 1;
  for (int i = 0; i < M; i++) same &= memcmp(cr[i], C + (size_t)i * N, (size_t)N * sizeof(float)) == 0;
  printf("gemm rows %dx%dx%d acc %d %s\n", M, N, K, acc, same ? "ok" : "FAIL (not the gathered product's bits)");
  if (!same) failures++;
  free(B);
  free(A);
  free(C);
  free(rows);
}

/* ---- the cell kernels ------------------------------------------------------------------------- */

#define ARENA_FLOATS (1 << 16)
static float arena[ARENA_FLOATS] __attribute__((aligned(64)));
static size_t used;

/* A fresh array of n floats in the arena at any alignment (its byte address), values up to ±12
   with NaN, ±0, ±Infinity and ±40 mixed in, or gates in [−1, 1] (what backward reads; x/(1 + |x|) in
   float64, rounded: the same on every machine, where libm's tanhf need not be). */
static uint32_t arr(int n, int gates) {
  used += (size_t)irand(16);
  const size_t at = used;
  used += (size_t)n;
  if (used > ARENA_FLOATS) {
    fprintf(stderr, "arena full\n");
    exit(2);
  }
  static const float specials[] = {NAN, 0.0f, -0.0f, INFINITY, -INFINITY, 40.0f, -40.0f};
  for (int i = 0; i < n; i++) {
    float x = irand(50) == 0 ? specials[irand(7)] : uni(-12, 12);
    arena[at + i] = gates ? (float)((double)x / (1.0 + fabs((double)x))) : x;
  }
  return (uint32_t)(at * sizeof(float));
}

/* FNV-1a over the arena's floats so far, every NaN as one value. */
static uint64_t arena_hash(void) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < used; i++) {
    uint32_t u;
    memcpy(&u, &arena[i], 4);
    if (arena[i] != arena[i]) u = 0x7fc00000u;
    for (int b = 0; b < 4; b++) h = (h ^ ((u >> (8 * b)) & 0xff)) * 1099511628211ull;
  }
  return h;
}

static void cells_case(const char *name, int kernel, int rows, int H, const uint32_t *args) {
  weft_cells_generic(kernel, args, (char *)arena);
  printf("cells %s %dx%d %016llx\n", name, rows, H, (unsigned long long)arena_hash());
}

/* The arguments of one call, in order: sizes, flags and leading dimensions as they are, arrays
   (A(n) or G(n), gates) made one after the other (each its own statement: the order of the calls
   of arr, and so the arena's contents, is the same on every compiler). */
#define A(n) a[c++] = arr((n), 0)
#define G(n) a[c++] = arr((n), 1)
#define V(x) a[c++] = (uint32_t)(x)

static void cells_all(void) {
  static const int widths[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100};
  for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
    const int H = widths[w], rows = 1 + irand(5), n = rows * H, ld = H + irand(3), span = (rows - 1) * ld + H;
    uint32_t a[12];
    int c;
    used = 0;
    c = 0; A(n); V(n); cells_case("sigmoid", WEFT_SIGMOID, rows, H, a);
    c = 0; A(n); V(n); cells_case("tanh", WEFT_TANH, rows, H, a);
    /* rows, H, g, cp, c, h, out, ldo */
    c = 0; V(rows); V(H); A(4 * n); A(n); A(n); A(n); A(span); V(ld);
    cells_case("lstmForward", WEFT_LSTM_FORWARD, rows, H, a);
    /* rows, H, g, cp, c, dOut, ldd, dh, dc, dz */
    c = 0; V(rows); V(H); G(4 * n); A(n); A(n); A(span); V(ld); A(n); A(n); A(4 * n);
    cells_case("lstmBackward", WEFT_LSTM_BACKWARD, rows, H, a);
    for (int relu = 0; relu < 2; relu++) {
      /* relu, rows, H, z, h, out, ldo */
      c = 0; V(relu); V(rows); V(H); A(n); A(n); A(span); V(ld);
      cells_case(relu ? "reluForward" : "rnnForward", WEFT_RNN_FORWARD, rows, H, a);
      /* relu, rows, H, h, dOut, ldd, dh, dz */
      c = 0; V(relu); V(rows); V(H); G(n); A(span); V(ld); A(n); A(n);
      cells_case(relu ? "reluBackward" : "rnnBackward", WEFT_RNN_BACKWARD, rows, H, a);
    }
    /* rows, H, gx, gh, hn, hp, h, out, ldo */
    c = 0; V(rows); V(H); A(3 * n); A(3 * n); A(n); A(n); A(n); A(span); V(ld);
    cells_case("gruForward", WEFT_GRU_FORWARD, rows, H, a);
    /* rows, H, g, hn, hp, dOut, ldd, dh, dzx, dzh */
    c = 0; V(rows); V(H); G(3 * n); A(n); A(n); A(span); V(ld); A(n); A(3 * n); A(3 * n);
    cells_case("gruBackward", WEFT_GRU_BACKWARD, rows, H, a);
  }
}

int main(void) {
  scratch = aligned_alloc(64, (weft_gemm_scratch_generic() * sizeof(float) + 63) / 64 * 64);
  /* Every path of gemm_impl.h: a few rows in place (M ≤ 3), dot products (M ≤ 3, Bᵀ), one column
     (N = 1), K = 1, and the packed product with its edges: a block of M past MC (240), of K past
     KC (256), of N past NC (1024), B read in place and B's rows a multiple of 4 KiB apart. */
  static const int shapes[][3] = {
      {1, 1, 1},    {2, 9, 2},     {3, 21, 9},    {3, 301, 258}, {1, 600, 40},  {4, 1, 7},     {37, 1, 257},
      {32, 1, 800}, {800, 1, 32},  {800, 32, 1},  {5, 9, 1},     {4, 4, 4},     {7, 13, 5},    {17, 250, 260},
      {64, 96, 72}, {250, 37, 260}, {13, 300, 530}, {32, 1030, 40}, {6, 16, 256},  {241, 17, 3},
  };
  for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
    for (int f = 0; f < 4; f++) gemm_case(f >> 1, f & 1, shapes[s][0], shapes[s][1], shapes[s][2], irand(2));
  gemm_case(0, 0, 8, 1024, 64, 1); /* ldb 1024..1026: in place, or packed where rows are 4 KiB apart */
  static const int columns[][2] = {{4, 7}, {5, 256}, {32, 800}, {37, 257}, {300, 32}, {9, 600}};
  for (size_t s = 0; s < sizeof(columns) / sizeof(columns[0]); s++)
    for (int f = 0; f < 4; f++) column_case(f >> 1, f & 1, columns[s][0], columns[s][1], f & 1);
  gemm_rows_case(32, 64, 48, 1);
  gemm_rows_case(12, 40, 33, 0);
  cells_all();
  printf("%s: %d product case(s) failed\n", failures ? "FAIL" : "ok", failures);
  return failures ? 1 : 0;
}
