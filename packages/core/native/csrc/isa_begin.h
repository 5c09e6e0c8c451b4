/*
 * Compiles the rest of a translation unit for the instruction set named by WEFT_TARGET (a string
 * for the target attribute), whatever the compiler's flags: one binary carries every variant
 * and addon.c calls only those the CPU runs. Close with isa_end.h.
 */
#define WEFT_DO_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define WEFT_TARGET_PRAGMA(t) WEFT_DO_PRAGMA(clang attribute push(__attribute__((target(t))), apply_to = function))
WEFT_TARGET_PRAGMA(WEFT_TARGET)
#elif defined(__GNUC__)
#define WEFT_TARGET_PRAGMA(t) WEFT_DO_PRAGMA(GCC target(t))
#pragma GCC push_options
WEFT_TARGET_PRAGMA(WEFT_TARGET)
#endif
