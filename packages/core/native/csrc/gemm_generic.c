/*
 * The portable variant: 4-float vectors (SSE2 on any x86-64, NEON on arm64, scalar code where
 * the compiler has neither), a 4×8 tile. Built with the compiler's default target.
 */
#include <stddef.h>
#include <string.h>
#define VW 4
#define MR 4
#define NV 2
#define WEFT_NAME(x) x##_generic
#include "gemm_impl.h"
