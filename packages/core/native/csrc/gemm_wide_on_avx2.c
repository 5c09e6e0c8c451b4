/*
 * For tests only: the AVX-512 variant's code (16-float vectors, 8×32 tile) compiled for AVX2, so
 * that its packing, tiling and edges are checked on machines without AVX-512 (the compiler
 * splits each 16-float vector in two). Same source as gemm_avx512.c; only the target differs.
 */
#if defined(__x86_64__)
#include <stddef.h>
#include <string.h>
#include <immintrin.h>
#define WEFT_TARGET "avx2,fma"
#include "isa_begin.h"
#define VW 16
#define WEFT_FMA 256
#define MR 8
#define NV 2
#define WEFT_NAME(x) x##_wide_on_avx2
#include "gemm_impl.h"
#include "isa_end.h"
#endif
