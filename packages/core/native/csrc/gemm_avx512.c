/* The AVX-512 variant: 16-float vectors, an 8×32 tile (16 of the 32 vector registers). */
#if defined(__x86_64__)
#include <stddef.h>
#include <string.h>
#include <immintrin.h>
#define WEFT_TARGET "avx512f,avx2,fma"
#include "isa_begin.h"
#define VW 16
#define WEFT_FMA 512
#define MR 8
#define NV 2
#define WEFT_NAME(x) x##_avx512
#include "gemm_impl.h"
#include "isa_end.h"
#endif
