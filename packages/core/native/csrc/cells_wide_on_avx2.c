/* For tests only: the AVX-512 variant's 16-float cell code compiled for AVX2 (its partial vectors checked here). */
#if defined(__x86_64__)
#include <stdint.h>
#include <string.h>
#include "cells.h"
#define WEFT_TARGET "avx2,fma"
#include "isa_begin.h"
#define VW 16
#define WEFT_NAME(x) x##_wide_on_avx2
#include "cells_impl.h"
#include "isa_end.h"
#endif
