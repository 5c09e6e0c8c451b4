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

/*
 * The nonlinearities are written for two vectors at a time (cf2): each operation done for both,
 * one after the other. A gate's nonlinearity is a chain of ~30 dependent operations and the LSTM
 * step chains three of them (σ of the gates, c', tanh(c')): one vector's chain alone leaves the
 * processor waiting on latencies; two independent ones, interleaved in program order, overlap
 * (lstm_fwd2). One vector (expv, sigmoidv, tanhv) is the pair's first half; the compiler drops
 * the other. Either way the same lane operations in the same order: the same bits.
 */
typedef struct {
  cf a, b;
} cf2;

/* 2 ulp expf on [−86.5, 88], NaN kept: asm/elementwise.ts expv, lane for lane. */
CINLINE cf2 expv2(cf2 x) {
  const cf hi = splat(K(88.0)), lo = splat(K(-86.5));
  x.a = sel(hi < x.a, hi, x.a); /* f32x4.pmin(x, hi) */
  x.b = sel(hi < x.b, hi, x.b);
  x.a = sel(x.a < lo, lo, x.a); /* f32x4.pmax(x, lo) */
  x.b = sel(x.b < lo, lo, x.b);
  const cf magic = splat(K(12582912.0)), l2e = splat(K(1.44269504088896341));
  const cf nma = x.a * l2e + magic, nmb = x.b * l2e + magic;
  const cf na = nma - magic, nb = nmb - magic;
  const cf c1 = splat(K(0.693359375)), c2 = splat(K(-2.12194440e-4));
  cf ra = x.a - na * c1, rb = x.b - nb * c1;
  ra = ra - na * c2;
  rb = rb - nb * c2;
  const cf r2a = ra * ra, r2b = rb * rb;
  const cf p0 = splat(K(1.6666665459e-1)), p1 = splat(K(5.0000001201e-1));
  const cf p2 = splat(K(8.3334519073e-3)), p3 = splat(K(4.1665795894e-2));
  const cf p4 = splat(K(1.9875691500e-4)), p5 = splat(K(1.3981999507e-3));
  const cf q0a = p0 * ra + p1, q0b = p0 * rb + p1;
  const cf q1a = p2 * ra + p3, q1b = p2 * rb + p3;
  const cf q2a = p4 * ra + p5, q2b = p4 * rb + p5;
  const cf pa = (q0a + q1a * r2a) + q2a * (r2a * r2a), pb = (q0b + q1b * r2b) + q2b * (r2b * r2b);
  const cf ea = (pa * r2a + ra) + splat(1.0f), eb = (pb * r2b + rb) + splat(1.0f);
  return (cf2){(cf)((ci)ea + ((ci)nma << 23)), (cf)((ci)eb + ((ci)nmb << 23))};
}

/* σ(x) = 1/(1 + exp(−x)). */
CINLINE cf2 sigmoidv2(cf2 x) {
  const cf one = splat(1.0f);
  const cf2 e = expv2((cf2){-x.a, -x.b});
  return (cf2){one / (one + e.a), one / (one + e.b)};
}

/* tanh: 1 − 2/(e^{2|x|} + 1) from 0.625 on, Cephes' odd polynomial below, the sign put back. */
CINLINE cf2 tanhv2(cf2 x) {
  const ci sign = (ci)splat(-0.0f);
  const cf axa = (cf)((ci)x.a & ~sign), axb = (cf)((ci)x.b & ~sign);
  const cf one = splat(1.0f), two = splat(2.0f);
  const cf2 e = expv2((cf2){axa + axa, axb + axb});
  const cf biga = one - two / (e.a + one), bigb = one - two / (e.b + one);
  const cf za = x.a * x.a, zb = x.b * x.b;
  const cf t0 = splat(K(-5.70498872745e-3)), t1 = splat(K(2.06390887954e-2)), t2 = splat(K(-5.37397155531e-2));
  const cf t3 = splat(K(1.33314422036e-1)), t4 = splat(K(-3.33332819422e-1));
  cf pa = t0, pb = t0;
  pa = pa * za + t1;
  pb = pb * zb + t1;
  pa = pa * za + t2;
  pb = pb * zb + t2;
  pa = pa * za + t3;
  pb = pb * zb + t3;
  pa = pa * za + t4;
  pb = pb * zb + t4;
  const cf smalla = (pa * za) * axa + axa, smallb = (pb * zb) * axb + axb;
  const cf lim = splat(K(0.625));
  const cf ta = sel(axa < lim, smalla, biga), tb = sel(axb < lim, smallb, bigb);
  return (cf2){(cf)((ci)ta | ((ci)x.a & sign)), (cf)((ci)tb | ((ci)x.b & sign))};
}

CINLINE cf expv(cf x) { return expv2((cf2){x, x}).a; }
CINLINE cf sigmoidv(cf x) { return sigmoidv2((cf2){x, x}).a; }
CINLINE cf tanhv(cf x) { return tanhv2((cf2){x, x}).a; }

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

/* ROW_LOOP two vectors at a time where it can: PAIR for each 2·VW whole units from j, then ONE
   (seeing j and n) for the rest, by vectors, the last one partial. */
#define PAIR_LOOP(H, PAIR, ONE)                     \
  do {                                              \
    int j = 0;                                      \
    for (; j + 2 * VW <= (H); j += 2 * VW) PAIR;    \
    for (; j < (H); j += VW) {                      \
      const int n = (H) - j < VW ? (H) - j : VW;    \
      ONE;                                          \
    }                                               \
  } while (0)

/* Two whole vectors from p, and to p (the pair functions' loads and stores). */
#define LD2(p) ((cf2){ld((p), VW), ld((p) + VW, VW)})
#define ST2(p, v) (st((p), VW, (v).a), st((p) + VW, VW, (v).b))

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

/* lstm_fwd for the 2·VW units from g (whole vectors), two vectors at a time. */
CINLINE void lstm_fwd2(float *g, long H, const float *cp, float *c, float *h, float *out) {
  const cf2 i = sigmoidv2(LD2(g));
  const cf2 f = sigmoidv2(LD2(g + H));
  const cf2 gg = tanhv2(LD2(g + 2 * H));
  const cf2 o = sigmoidv2(LD2(g + 3 * H));
  ST2(g, i);
  ST2(g + H, f);
  ST2(g + 2 * H, gg);
  ST2(g + 3 * H, o);
  const cf2 cpv = LD2(cp);
  const cf2 cn = {f.a * cpv.a + i.a * gg.a, f.b * cpv.b + i.b * gg.b};
  ST2(c, cn);
  const cf2 tc = tanhv2(cn);
  const cf2 hn = {o.a * tc.a, o.b * tc.b};
  ST2(h, hn);
  ST2(out, hn);
}

static void lstm_forward(int rows, int H, float *g, const float *cp, float *c, float *h, float *out, long ldo) {
  for (int r = 0; r < rows; r++, g += 4L * H, cp += H, c += H, h += H, out += ldo)
    PAIR_LOOP(H, lstm_fwd2(g + j, H, cp + j, c + j, h + j, out + j),
              lstm_fwd(g + j, H, cp + j, c + j, h + j, out + j, n));
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

/* rnn_fwd (tanh) for the 2·VW units from z (whole vectors), two vectors at a time (tanhv2). */
CINLINE void rnn_fwd2(float *z, float *h, float *out) {
  const cf2 a = tanhv2(LD2(z));
  ST2(z, a);
  ST2(h, a);
  ST2(out, a);
}

static void rnn_forward(int relu, int rows, int H, float *z, float *h, float *out, long ldo) {
  for (int r = 0; r < rows; r++, z += H, h += H, out += ldo) {
    if (relu) ROW_LOOP(H, rnn_fwd(1, z + j, h + j, out + j, n));
    else PAIR_LOOP(H, rnn_fwd2(z + j, h + j, out + j), rnn_fwd(0, z + j, h + j, out + j, n));
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

/* gru_fwd for the 2·VW units from gx (whole vectors), two vectors at a time (sigmoidv2, tanhv2). */
CINLINE void gru_fwd2(float *gx, const float *gh, long H, float *hn, const float *hp, float *h, float *out) {
  const cf one = splat(1.0f);
  const cf2 xr = LD2(gx), hr = LD2(gh), xz = LD2(gx + H), hz = LD2(gh + H);
  const cf2 r = sigmoidv2((cf2){xr.a + hr.a, xr.b + hr.b});
  const cf2 z = sigmoidv2((cf2){xz.a + hz.a, xz.b + hz.b});
  const cf2 a = LD2(gh + 2 * H), xn = LD2(gx + 2 * H);
  const cf2 nn = tanhv2((cf2){xn.a + r.a * a.a, xn.b + r.b * a.b});
  ST2(gx, r);
  ST2(gx + H, z);
  ST2(gx + 2 * H, nn);
  ST2(hn, a);
  const cf2 p = LD2(hp);
  const cf2 v = {(one - z.a) * nn.a + z.a * p.a, (one - z.b) * nn.b + z.b * p.b};
  ST2(h, v);
  ST2(out, v);
}

static void gru_forward(int rows, int H, float *gx, const float *gh, float *hn, const float *hp, float *h, float *out,
                        long ldo) {
  for (int r = 0; r < rows; r++, gx += 3L * H, gh += 3L * H, hn += H, hp += H, h += H, out += ldo)
    PAIR_LOOP(H, gru_fwd2(gx + j, gh + j, H, hn + j, hp + j, h + j, out + j),
              gru_fwd(gx + j, gh + j, H, hn + j, hp + j, h + j, out + j, n));
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
