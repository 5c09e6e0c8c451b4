/* The AVX2 + FMA variant: 8-float vectors, a 6×16 tile (12 of the 16 vector registers). */
#if defined(__x86_64__)
#include <stddef.h>
#include <string.h>
#include <immintrin.h>
#define WEFT_TARGET "avx2,fma"
#include "isa_begin.h"
#define VW 8
#define WEFT_FMA 256
#define MR 6
#define NV 2
#define WEFT_NAME(x) x##_avx2
#include "gemm_impl.h"
#include "isa_end.h"
#endif
