/*
 * The fused cell kernels and gate nonlinearities (what asm/cells.ts and asm/elementwise.ts do in
 * WebAssembly), written once and compiled once per instruction set (cells_avx512.c,
 * cells_avx2.c, cells_generic.c fix the vector width VW and WEFT_NAME first).
 *
 * Every value is computed lane by lane with the same operations, in the same order, on the same
 * float32 constants as the WebAssembly code: Cephes' expf (range reduction by ln 2, the degree-5
 * polynomial by Estrin's scheme, 2ⁿ added to the exponent bits), σ(x) = 1/(1 + exp(−x)), tanh
 * by 1 − 2/(e^{2|x|} + 1) above 0.625 and Cephes' odd polynomial below. With multiply-add
 * contraction OFF (the pragma below; the product's files want it on), each lane is IEEE float32
 * arithmetic step for step, so every variant, whatever its width, gives the WebAssembly path's
 * bits: the native and WebAssembly paths differ in the matrix product only.
 *
 * Rows: gates G·H floats apart, states H floats, `out` / `dOut` rows `ld` floats apart. A row
 * whose width is not a multiple of VW ends with a partial vector read into zeroed lanes and
 * written back lane by lane: nothing outside a row is read or written.
 *
 * The entry point, WEFT_NAME(weft_cells)(kernel, args, base), reads a kernel's arguments from
 * the argument block (uint32 each: sizes, flags, leading dimensions in floats; byte addresses
 * relative to base), in the order of asm/cells.ts and asm/elementwise.ts.
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include <stdint.h>
#include <string.h>
#include "cells.h"

typedef float cf __attribute__((vector_size(VW * 4)));
typedef int ci __attribute__((vector_size(VW * 4)));
typedef float cfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));

#define CINLINE static inline __attribute__((always_inline))

/* Constants as the WebAssembly module has them: the decimal read as a double, then rounded to float. */
#define K(x) ((float)(x))

/* x in every lane (x − (+0) is x, −0 included; +0 + x would turn −0 into +0). */
CINLINE cf splat(float x) { return x - (cf){0}; }
/* m ? a : b, lane by lane (m all ones or all zeros per lane). */
CINLINE cf sel(ci m, cf a, cf b) { return (cf)(((ci)a & m) | ((ci)b & ~m)); }

/* 2 ulp expf on [−86.5, 88], NaN kept: asm/elementwise.ts expv, lane for lane. */
CINLINE cf expv(cf x) {
  const cf hi = splat(K(88.0)), lo = splat(K(-86.5));
  x = sel(hi < x, hi, x); /* f32x4.pmin(x, hi) */
  x = sel(x < lo, lo, x); /* f32x4.pmax(x, lo) */
  const cf magic = splat(K(12582912.0));
  const cf nm = x * splat(K(1.44269504088896341)) + magic;
  const cf n = nm - magic;
  cf r = x - n * splat(K(0.693359375));
  r = r - n * splat(K(-2.12194440e-4));
  const cf r2 = r * r;
  const cf q0 = splat(K(1.6666665459e-1)) * r + splat(K(5.0000001201e-1));
  const cf q1 = splat(K(8.3334519073e-3)) * r + splat(K(4.1665795894e-2));
  const cf q2 = splat(K(1.9875691500e-4)) * r + splat(K(1.3981999507e-3));
  const cf p = (q0 + q1 * r2) + q2 * (r2 * r2);
  const cf e = (p * r2 + r) + splat(1.0f);
  return (cf)((ci)e + ((ci)nm << 23));
}

CINLINE cf sigmoidv(cf x) { return splat(1.0f) / (splat(1.0f) + expv(-x)); }

CINLINE cf tanhv(cf x) {
  const ci sign = (ci)splat(-0.0f);
  const cf ax = (cf)((ci)x & ~sign);
  const cf one = splat(1.0f);
  const cf big = one - splat(2.0f) / (expv(ax + ax) + one);
  const cf z = x * x;
  cf p = splat(K(-5.70498872745e-3));
  p = p * z + splat(K(2.06390887954e-2));
  p = p * z + splat(K(-5.37397155531e-2));
  p = p * z + splat(K(1.33314422036e-1));
  p = p * z + splat(K(-3.33332819422e-1));
  const cf small = (p * z) * ax + ax;
  const cf t = sel(ax < splat(K(0.625)), small, big);
  return (cf)((ci)t | ((ci)x & sign));
}

/* n (1..VW) floats at p; lanes past n are zero. */
CINLINE cf ld(const float *p, int n) {
  if (n >= VW) return (cf)(*(const cfu *)p);
  cf v = (cf){0};
  memcpy(&v, p, (size_t)n * sizeof(float));
  return v;
}

CINLINE void st(float *p, int n, cf v) {
  if (n >= VW) *(cfu *)p = v;
  else memcpy(p, &v, (size_t)n * sizeof(float));
}

/* for j in [0, H) by vectors, the last one partial: BODY sees j and n (lanes). */
#define ROW_LOOP(H, BODY)                          \
  do {                                             \
    int j = 0;                                     \
    for (; j + VW <= (H); j += VW) {               \
      const int n = VW;                            \
      BODY;                                        \
    }                                              \
    if (j < (H)) {                                 \
      const int n = (H) - j;                       \
      BODY;                                        \
    }                                              \
  } while (0)

static void elementwise(int tanh_, float *x, int count) {
  if (tanh_) ROW_LOOP(count, st(x + j, n, tanhv(ld(x + j, n))));
  else ROW_LOOP(count, st(x + j, n, sigmoidv(ld(x + j, n))));
}

/* ---- LSTM (gates i|f|g|o) ---------------------------------------------------------------------- */

CINLINE void lstm_fwd(float *g, long H, const float *cp, float *c, float *h, float *out, int n) {
  const cf i = sigmoidv(ld(g, n));
  const cf f = sigmoidv(ld(g + H, n));
  const cf gg = tanhv(ld(g + 2 * H, n));
  const cf o = sigmoidv(ld(g + 3 * H, n));
  st(g, n, i);
  st(g + H, n, f);
  st(g + 2 * H, n, gg);
  st(g + 3 * H, n, o);
  const cf cn = f * ld(cp, n) + i * gg;
  st(c, n, cn);
  const cf hn = o * tanhv(cn);
  st(h, n, hn);
  st(out, n, hn);
}

static void lstm_forward(int rows, int H, float *g, const float *cp, float *c, float *h, float *out, long ldo) {
  for (int r = 0; r < rows; r++, g += 4L * H, cp += H, c += H, h += H, out += ldo)
    ROW_LOOP(H, lstm_fwd(g + j, H, cp + j, c + j, h + j, out + j, n));
}

CINLINE void lstm_bwd(const float *g, long H, const float *cp, const float *c, const float *dOut, float *dh,
                      float *dc, float *dz, int n) {
  const cf one = splat(1.0f);
  const cf i = ld(g, n), f = ld(g + H, n), gg = ld(g + 2 * H, n), o = ld(g + 3 * H, n);
  const cf tc = tanhv(ld(c, n));
  const cf dhT = ld(dh, n) + ld(dOut, n);
  const cf dcT = ld(dc, n) + (dhT * o) * (one - tc * tc);
  st(dz, n, ((dcT * gg) * i) * (one - i));
  st(dz + H, n, ((dcT * ld(cp, n)) * f) * (one - f));
  st(dz + 2 * H, n, (dcT * i) * (one - gg * gg));
  st(dz + 3 * H, n, ((dhT * tc) * o) * (one - o));
  st(dc, n, dcT * f);
  st(dh, n, (cf){0});
}

static void lstm_backward(int rows, int H, const float *g, const float *cp, const float *c, const float *dOut, long ldd,
                          float *dh, float *dc, float *dz) {
  for (int r = 0; r < rows; r++, g += 4L * H, dz += 4L * H, cp += H, c += H, dh += H, dc += H, dOut += ldd)
    ROW_LOOP(H, lstm_bwd(g + j, H, cp + j, c + j, dOut + j, dh + j, dc + j, dz + j, n));
}

/* ---- Elman RNN (tanh or relu) -------------------------------------------------------------------- */

CINLINE void rnn_fwd(int relu, float *z, float *h, float *out, int n) {
  const cf x = ld(z, n);
  /* relu: x where x > 0, else 0 (NaN too). */
  const cf a = relu ? sel(x > splat(0.0f), x, (cf){0}) : tanhv(x);
  st(z, n, a);
  st(h, n, a);
  st(out, n, a);
}

static void rnn_forward(int relu, int rows, int H, float *z, float *h, float *out, long ldo) {
  for (int r = 0; r < rows; r++, z += H, h += H, out += ldo) {
    if (relu) ROW_LOOP(H, rnn_fwd(1, z + j, h + j, out + j, n));
    else ROW_LOOP(H, rnn_fwd(0, z + j, h + j, out + j, n));
  }
}

CINLINE void rnn_bwd(int relu, const float *h, const float *dOut, float *dh, float *dz, int n) {
  const cf g = ld(dh, n) + ld(dOut, n);
  const cf v = ld(h, n);
  const cf d = relu ? (cf)((ci)g & (v > splat(0.0f))) : g * (splat(1.0f) - v * v);
  st(dz, n, d);
  st(dh, n, (cf){0});
}

static void rnn_backward(int relu, int rows, int H, const float *h, const float *dOut, long ldd, float *dh, float *dz) {
  for (int r = 0; r < rows; r++, h += H, dz += H, dh += H, dOut += ldd) {
    if (relu) ROW_LOOP(H, rnn_bwd(1, h + j, dOut + j, dh + j, dz + j, n));
    else ROW_LOOP(H, rnn_bwd(0, h + j, dOut + j, dh + j, dz + j, n));
  }
}

/* ---- GRU (gates r|z|n) ------------------------------------------------------------------------- */

CINLINE void gru_fwd(float *gx, const float *gh, long H, float *hn, const float *hp, float *h, float *out, int n) {
  const cf one = splat(1.0f);
  const cf r = sigmoidv(ld(gx, n) + ld(gh, n));
  const cf z = sigmoidv(ld(gx + H, n) + ld(gh + H, n));
  const cf a = ld(gh + 2 * H, n);
  const cf nn = tanhv(ld(gx + 2 * H, n) + r * a);
  st(gx, n, r);
  st(gx + H, n, z);
  st(gx + 2 * H, n, nn);
  st(hn, n, a);
  const cf v = (one - z) * nn + z * ld(hp, n);
  st(h, n, v);
  st(out, n, v);
}

static void gru_forward(int rows, int H, float *gx, const float *gh, float *hn, const float *hp, float *h, float *out,
                        long ldo) {
  for (int r = 0; r < rows; r++, gx += 3L * H, gh += 3L * H, hn += H, hp += H, h += H, out += ldo)
    ROW_LOOP(H, gru_fwd(gx + j, gh + j, H, hn + j, hp + j, h + j, out + j, n));
}

CINLINE void gru_bwd(const float *g, long H, const float *hn, const float *hp, const float *dOut, float *dh, float *dzx,
                     float *dzh, int n) {
  const cf one = splat(1.0f);
  const cf r = ld(g, n), z = ld(g + H, n), nn = ld(g + 2 * H, n);
  const cf dhT = ld(dh, n) + ld(dOut, n);
  const cf dan = (dhT * (one - z)) * (one - nn * nn);
  const cf dar = ((dan * ld(hn, n)) * r) * (one - r);
  const cf daz = ((dhT * (ld(hp, n) - nn)) * z) * (one - z);
  st(dzx, n, dar);
  st(dzx + H, n, daz);
  st(dzx + 2 * H, n, dan);
  st(dzh, n, dar);
  st(dzh + H, n, daz);
  st(dzh + 2 * H, n, dan * r);
  st(dh, n, dhT * z);
}

static void gru_backward(int rows, int H, const float *g, const float *hn, const float *hp, const float *dOut, long ldd,
                         float *dh, float *dzx, float *dzh) {
  for (int r = 0; r < rows; r++, g += 3L * H, dzx += 3L * H, dzh += 3L * H, hn += H, hp += H, dh += H, dOut += ldd)
    ROW_LOOP(H, gru_bwd(g + j, H, hn + j, hp + j, dOut + j, dh + j, dzx + j, dzh + j, n));
}

/* ---- entry ------------------------------------------------------------------------------------- */

void WEFT_NAME(weft_cells)(int kernel, const uint32_t *x, char *base) {
#define F(i) ((float *)(base + x[i]))
#define I(i) ((int)x[i])
  switch (kernel) {
    case WEFT_SIGMOID: elementwise(0, F(0), I(1)); break;
    case WEFT_TANH: elementwise(1, F(0), I(1)); break;
    /* rows, H, g, cp, c, h, out, ldo */
    case WEFT_LSTM_FORWARD: lstm_forward(I(0), I(1), F(2), F(3), F(4), F(5), F(6), I(7)); break;
    /* rows, H, g, cp, c, dOut, ldd, dh, dc, dz */
    case WEFT_LSTM_BACKWARD: lstm_backward(I(0), I(1), F(2), F(3), F(4), F(5), I(6), F(7), F(8), F(9)); break;
    /* relu, rows, H, z, h, out, ldo */
    case WEFT_RNN_FORWARD: rnn_forward(I(0), I(1), I(2), F(3), F(4), F(5), I(6)); break;
    /* relu, rows, H, h, dOut, ldd, dh, dz */
    case WEFT_RNN_BACKWARD: rnn_backward(I(0), I(1), I(2), F(3), F(4), I(5), F(6), F(7)); break;
    /* rows, H, gx, gh, hn, hp, h, out, ldo */
    case WEFT_GRU_FORWARD: gru_forward(I(0), I(1), F(2), F(3), F(4), F(5), F(6), F(7), I(8)); break;
    /* rows, H, g, hn, hp, dOut, ldd, dh, dzx, dzh */
    case WEFT_GRU_BACKWARD: gru_backward(I(0), I(1), F(2), F(3), F(4), F(5), I(6), F(7), F(8), F(9)); break;
    default: break;
  }
#undef F
#undef I
}
