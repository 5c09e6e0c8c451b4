/* The cell kernels with AVX2: 8-float vectors. Same bits as every variant (cells_impl.h). */
#if defined(__x86_64__)
#include <stdint.h>
#include <string.h>
#include "cells.h"
#define WEFT_TARGET "avx2,fma"
#include "isa_begin.h"
#define VW 8
#define WEFT_NAME(x) x##_avx2
#include "cells_impl.h"
#include "isa_end.h"
#endif
