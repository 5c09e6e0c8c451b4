/* The cell kernels with AVX-512: 16-float vectors. Same bits as every variant (cells_impl.h). */
#if defined(__x86_64__)
#include <stdint.h>
#include <string.h>
#include "cells.h"
#define WEFT_TARGET "avx512f,avx2,fma"
#include "isa_begin.h"
#define VW 16
#define WEFT_NAME(x) x##_avx512
#include "cells_impl.h"
#include "isa_end.h"
#endif
