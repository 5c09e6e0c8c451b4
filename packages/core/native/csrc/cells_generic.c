/* The cell kernels, portable: 4-float vectors (SSE2, NEON, or scalar code). Same bits as every variant. */
#define VW 4
#define WEFT_NAME(x) x##_generic
#include "cells_impl.h"
