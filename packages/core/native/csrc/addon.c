/*
 * weft's native kernels, a Node-API addon: the matrix product (gemm_impl.h) and the fused cell
 * kernels with their gate nonlinearities (cells_impl.h), in the variant this CPU runs best
 * (AVX-512, AVX2 + FMA, or portable), working in place on the shared WebAssembly.Memory arena
 * that the WebAssembly kernels use. kernels/native.ts loads it.
 *
 *   variants          names of the variants this CPU runs, best first
 *   testVariants      further variants for tests only ("wide-on-avx2": the AVX-512 code for AVX2)
 *   bind(args, name[, kernel])
 *                     a function over the memory that `args` (a Uint32Array of at least 12 in
 *                     it, private to the calling thread) belongs to, running `kernel` ('gemm' by
 *                     default) of variant `name`; it reads its arguments from `args`. gemm:
 *                     transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, where a, b, c
 *                     are byte addresses in the memory and lda, ldb, ldc leading dimensions in
 *                     floats. The cell kernels (sigmoid, tanh, lstmForward, lstmBackward,
 *                     rnnForward, rnnBackward, gruForward, gruBackward): the arguments of
 *                     asm/cells.ts and asm/elementwise.ts, in their order (cells_impl.h).
 *                     gemmRows (the stack's per-step product over a group's rows,
 *                     kernels/group-product.ts): M, N, K, b, ldb, lda, ldc, accumulate, count,
 *                     then per segment a, c, rows; `args` then holds 9 + 3·count values. The
 *                     JavaScript side has checked every window against its array.
 *   address(view)     the address of view's first byte (tests: it never moves)
 *   adviseHugePages(view, bytes)
 *                     madvise(MADV_HUGEPAGE) over the 2 MiB-aligned part of [view's buffer,
 *                     + bytes): the arena's reservation on transparent huge pages (Linux; false
 *                     where it is refused or unknown). kernels/native.ts says why.
 *   threadCpuMs()     CPU time of the calling thread in ms (ns resolution where the OS has it; the
 *                     step profile's clock on a shared machine: bench/step.mjs --clock cpu)
 *
 * The memory's address is read once, at bind: a shared WebAssembly.Memory reserves its maximum
 * size up front and grows in place (other threads read it without asking), so it never moves.
 * Context-aware (NAPI_MODULE_INIT): every worker thread loads its own instance, with its own
 * packing scratch; the addon starts no threads of its own.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include "cells.h"

typedef void (*gemm_fn)(int tA, int tB, int M, int N, int K, const float *A, long lda, const float *B, long ldb,
                        float *C, long ldc, int accumulate, float *scratch);
typedef void (*gemm_rows_fn)(int M, int N, int K, const float *const *arow, const float *B, long ldb,
                             float *const *crow, int accumulate, float *scratch);
typedef size_t (*scratch_fn)(void);
typedef void (*cells_fn)(int kernel, const uint32_t *args, char *base);

#define DECLARE(suffix)                                                                                       \
  void weft_gemm_##suffix(int, int, int, int, int, const float *, long, const float *, long, float *, long, int, \
                          float *);                                                                          \
  void weft_gemm_rows_##suffix(int, int, int, const float *const *, const float *, long, float *const *, int,  \
                               float *);                                                                     \
  size_t weft_gemm_scratch_##suffix(void);                                                                   \
  void weft_cells_##suffix(int, const uint32_t *, char *);
DECLARE(generic)
#if defined(__x86_64__)
DECLARE(avx512)
DECLARE(avx2)
DECLARE(wide_on_avx2)
#endif

struct variant {
  const char *name;
  gemm_fn gemm;
  gemm_rows_fn gemm_rows;
  scratch_fn scratch;
  cells_fn cells;
  int test_only;
};

static int cpu_has(const char *name) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (!strcmp(name, "avx512")) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (!strcmp(name, "avx2") || !strcmp(name, "wide-on-avx2"))
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return !strcmp(name, "generic");
}

/* Best first. */
static const struct variant VARIANTS[] = {
#if defined(__x86_64__)
    {"avx512", weft_gemm_avx512, weft_gemm_rows_avx512, weft_gemm_scratch_avx512, weft_cells_avx512, 0},
    {"avx2", weft_gemm_avx2, weft_gemm_rows_avx2, weft_gemm_scratch_avx2, weft_cells_avx2, 0},
#endif
    {"generic", weft_gemm_generic, weft_gemm_rows_generic, weft_gemm_scratch_generic, weft_cells_generic, 0},
#if defined(__x86_64__)
    {"wide-on-avx2", weft_gemm_wide_on_avx2, weft_gemm_rows_wide_on_avx2, weft_gemm_scratch_wide_on_avx2,
     weft_cells_wide_on_avx2, 1},
#endif
};
#define NVARIANTS (sizeof(VARIANTS) / sizeof(VARIANTS[0]))

/* Per thread (per Node-API environment): the packing scratch, shared by every bound gemm, and
   gemmRows' row pointers. */
struct env_data {
  float *scratch;
  size_t floats;
  float *rows;
  size_t rowFloats;
};

struct bound {
  char *base;
  const uint32_t *args;
  size_t nargs; /* values in args */
  const struct variant *v;
  struct env_data *ed;
  int kernel; /* a WEFT_* of cells.h; 0: gemm; GEMM_ROWS */
};

/* The kernels bind() knows, by name. */
#define GEMM_ROWS -1
static const struct {
  const char *name;
  int id;
} KERNELS[] = {
    {"gemm", 0},
    {"gemmRows", GEMM_ROWS},
    {"sigmoid", WEFT_SIGMOID},
    {"tanh", WEFT_TANH},
    {"lstmForward", WEFT_LSTM_FORWARD},
    {"lstmBackward", WEFT_LSTM_BACKWARD},
    {"rnnForward", WEFT_RNN_FORWARD},
    {"rnnBackward", WEFT_RNN_BACKWARD},
    {"gruForward", WEFT_GRU_FORWARD},
    {"gruBackward", WEFT_GRU_BACKWARD},
};

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "WEFT_NATIVE", "weft native: " #call " failed"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static void free_env_data(napi_env env, void *data, void *hint) {
  struct env_data *ed = data;
  free(ed->scratch);
  free(ed->rows);
  free(ed);
}

static void free_bound(napi_env env, void *data, void *hint) { free(data); }

/* A cell kernel: its arguments are in the bound argument block, as for gemm. */
static napi_value call_cells(napi_env env, napi_callback_info info) {
  void *data;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  struct bound *b = data;
  b->v->cells(b->kernel, b->args, b->base);
  return NULL;
}

/* At least `need` floats of 64-byte aligned scratch in *buf (grown, never shrunk); 0 when out of memory. */
static int ensure(float **buf, size_t *have, size_t need) {
  if (*have >= need) return 1;
  free(*buf);
  *buf = aligned_alloc(64, (need * sizeof(float) + 63) & ~(size_t)63);
  *have = *buf ? need : 0;
  return *buf != NULL;
}

/*
 * gemm(): the twelve arguments are in the bound argument block (uint32 each, in the order of
 * the header comment), written there by the caller just before: a call with no arguments costs
 * a fraction of one with twelve numbers to convert.
 */
static napi_value call_gemm(napi_env env, napi_callback_info info) {
  void *data;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  struct bound *b = data;
  struct env_data *ed = b->ed;
  if (!ensure(&ed->scratch, &ed->floats, b->v->scratch())) {
    napi_throw_error(env, NULL, "weft native gemm: out of memory for packing scratch");
    return NULL;
  }
  const uint32_t *x = b->args;
  b->v->gemm((int)x[0], (int)x[1], (int)x[2], (int)x[3], (int)x[4], (const float *)(b->base + x[5]), (long)x[6],
             (const float *)(b->base + x[7]), (long)x[8], (float *)(b->base + x[9]), (long)x[10], (int)x[11],
             ed->scratch);
  return NULL;
}

/*
 * gemmRows(): the segments' rows of A and C handed to the product as row pointers
 * (gemm_impl.h weft_gemm_rows: packing reads A's rows where they lie, the tiles of C are stored
 * to them), so the group's rows are neither gathered nor scattered: the bits of one product over
 * the gathered rows. M is a multiple of 4 (kernels/group-product.ts productRows); rows past the
 * segments' read a zero row of A and write to a row that is dropped.
 */
static napi_value call_gemm_rows(napi_env env, napi_callback_info info) {
  void *data;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &data));
  struct bound *b = data;
  struct env_data *ed = b->ed;
  const uint32_t *x = b->args;
  const int M = (int)x[0], N = (int)x[1], K = (int)x[2], acc = (int)x[7], count = (int)x[8];
  const long ldb = (long)x[4], lda = (long)x[5], ldc = (long)x[6];
  const float *B = (const float *)(b->base + x[3]);
  const uint32_t *seg = x + 9;
  if (9 + 3 * (size_t)count > b->nargs || M < 4 || M % 4 || N < 1 || K < 1) {
    napi_throw_range_error(env, NULL, "weft native gemmRows: bad arguments (segments past the block, or M not a multiple of 4)");
    return NULL;
  }
  /* Row pointers [M] for A and C, then a zero row of A (K floats) and a dropped row of C (N). */
  const size_t ptrFloats = (2 * (size_t)M * sizeof(float *) + sizeof(float) - 1) / sizeof(float);
  if (!ensure(&ed->scratch, &ed->floats, b->v->scratch()) ||
      !ensure(&ed->rows, &ed->rowFloats, ptrFloats + (size_t)K + (size_t)N)) {
    napi_throw_error(env, NULL, "weft native gemmRows: out of memory for scratch");
    return NULL;
  }
  const float **arow = (const float **)(void *)ed->rows;
  float **crow = (float **)(void *)(arow + M);
  float *zero = ed->rows + ptrFloats, *dropped = zero + K;
  memset(zero, 0, (size_t)K * sizeof(float));
  memset(dropped, 0, (size_t)N * sizeof(float));
  int r = 0;
  for (int i = 0; i < count; i++)
    for (int q = 0; q < (int)seg[3 * i + 2] && r < M; q++, r++) {
      arow[r] = (const float *)(b->base + seg[3 * i]) + q * lda;
      crow[r] = (float *)(b->base + seg[3 * i + 1]) + q * ldc;
    }
  for (; r < M; r++) {
    arow[r] = zero;
    crow[r] = dropped;
  }
  b->v->gemm_rows(M, N, K, (const float *const *)arow, B, ldb, (float *const *)crow, acc, ed->scratch);
  return NULL;
}

static napi_value view_data(napi_env env, napi_value view, char **base, char **first) {
  bool is_ta;
  CHECK(napi_is_typedarray(env, view, &is_ta));
  if (!is_ta) {
    napi_throw_type_error(env, NULL, "weft native: expected a typed array over the arena");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  CHECK(napi_get_typedarray_info(env, view, &type, &length, &data, &buffer, &offset));
  *first = data;
  *base = (char *)data - offset;
  return view;
}

static napi_value bind(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "weft native bind(args, variant[, kernel]): expected 2 or 3 arguments");
    return NULL;
  }
  napi_typedarray_type type;
  size_t length;
  bool is_ta;
  CHECK(napi_is_typedarray(env, argv[0], &is_ta));
  if (!is_ta || napi_get_typedarray_info(env, argv[0], &type, &length, NULL, NULL, NULL) != napi_ok ||
      type != napi_uint32_array || length < 12) {
    napi_throw_type_error(env, NULL, "weft native bind: args must be a Uint32Array of at least 12 values in the arena");
    return NULL;
  }
  char *base, *args;
  if (!view_data(env, argv[0], &base, &args)) return NULL;
  char name[32];
  size_t len;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "weft native bind: variant must be a string");
    return NULL;
  }
  const struct variant *v = NULL;
  for (size_t i = 0; i < NVARIANTS; i++)
    if (!strcmp(VARIANTS[i].name, name)) v = &VARIANTS[i];
  if (!v || !cpu_has(name)) {
    napi_throw_error(env, NULL, v ? "weft native bind: this CPU cannot run that variant" : "weft native bind: no such variant");
    return NULL;
  }
  int kernel = 0;
  napi_valuetype kt = napi_undefined;
  if (argc > 2) CHECK(napi_typeof(env, argv[2], &kt));
  if (kt != napi_undefined) {
    char kname[32];
    if (napi_get_value_string_utf8(env, argv[2], kname, sizeof kname, &len) != napi_ok) {
      napi_throw_type_error(env, NULL, "weft native bind: kernel must be a string");
      return NULL;
    }
    int found = 0;
    for (size_t i = 0; i < sizeof KERNELS / sizeof KERNELS[0]; i++)
      if (!strcmp(KERNELS[i].name, kname)) kernel = KERNELS[i].id, found = 1;
    if (!found) {
      napi_throw_error(env, NULL, "weft native bind: no such kernel");
      return NULL;
    }
  }
  struct env_data *ed;
  CHECK(napi_get_instance_data(env, (void **)&ed));
  struct bound *b = malloc(sizeof *b);
  if (!b) {
    napi_throw_error(env, NULL, "weft native bind: out of memory");
    return NULL;
  }
  b->base = base;
  b->args = (const uint32_t *)args;
  b->nargs = length;
  b->v = v;
  b->ed = ed;
  b->kernel = kernel;
  napi_value fn;
  napi_callback call = kernel == 0 ? call_gemm : kernel == GEMM_ROWS ? call_gemm_rows : call_cells;
  if (napi_create_function(env, kernel == 0 ? "gemm" : kernel == GEMM_ROWS ? "gemmRows" : "cells", NAPI_AUTO_LENGTH, call,
                           b, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, b, free_bound, NULL, NULL) != napi_ok) {
    free(b);
    napi_throw_error(env, NULL, "weft native bind: cannot create the function");
    return NULL;
  }
  return fn;
}

static napi_value address(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *base, *first;
  if (argc < 1 || !view_data(env, argv[0], &base, &first)) return NULL;
  napi_value out;
  CHECK(napi_create_double(env, (double)(uintptr_t)first, &out));
  return out;
}

static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *base, *first;
  double bytes = 0;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "weft native adviseHugePages(view, bytes): expected 2 arguments");
    return NULL;
  }
  if (!view_data(env, argv[0], &base, &first)) return NULL;
  if (napi_get_value_double(env, argv[1], &bytes) != napi_ok || !(bytes >= 0)) {
    napi_throw_type_error(env, NULL, "weft native adviseHugePages: bytes must be a number >= 0");
    return NULL;
  }
  int ok = 0;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20, start = (uintptr_t)base;
  /* bytes as far as the address space goes (the caller passes the memory's maximum, which its
     reservation covers) */
  const double room = (double)(UINTPTR_MAX - start);
  const uintptr_t len = bytes < room ? (uintptr_t)bytes : UINTPTR_MAX - start;
  if (start <= UINTPTR_MAX - huge) {
    const uintptr_t lo = (start + huge - 1) & ~(huge - 1), hi = (start + len) & ~(huge - 1);
    if (hi > lo) ok = madvise((void *)lo, hi - lo, MADV_HUGEPAGE) == 0;
  }
#endif
  napi_value out;
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

static napi_value thread_cpu_ms(napi_env env, napi_callback_info info) {
  double ms = -1;
#if defined(CLOCK_THREAD_CPUTIME_ID)
  struct timespec t;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) == 0) ms = t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
#endif
  napi_value out;
  CHECK(napi_create_double(env, ms, &out));
  return out;
}

static napi_value names(napi_env env, int test_only) {
  napi_value arr;
  CHECK(napi_create_array(env, &arr));
  uint32_t n = 0;
  for (size_t i = 0; i < NVARIANTS; i++) {
    if (VARIANTS[i].test_only != test_only || !cpu_has(VARIANTS[i].name)) continue;
    napi_value s;
    CHECK(napi_create_string_utf8(env, VARIANTS[i].name, NAPI_AUTO_LENGTH, &s));
    CHECK(napi_set_element(env, arr, n++, s));
  }
  return arr;
}

NAPI_MODULE_INIT() {
  struct env_data *ed = calloc(1, sizeof *ed);
  if (!ed || napi_set_instance_data(env, ed, free_env_data, NULL) != napi_ok) {
    free(ed);
    napi_throw_error(env, NULL, "weft native: cannot set up instance data");
    return NULL;
  }
  napi_value fn, list;
  CHECK(napi_create_function(env, "bind", NAPI_AUTO_LENGTH, bind, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "bind", fn));
  CHECK(napi_create_function(env, "address", NAPI_AUTO_LENGTH, address, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "address", fn));
  CHECK(napi_create_function(env, "adviseHugePages", NAPI_AUTO_LENGTH, advise_huge_pages, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "adviseHugePages", fn));
  CHECK(napi_create_function(env, "threadCpuMs", NAPI_AUTO_LENGTH, thread_cpu_ms, NULL, &fn));
  CHECK(napi_set_named_property(env, exports, "threadCpuMs", fn));
  list = names(env, 0);
  if (!list) return NULL;
  CHECK(napi_set_named_property(env, exports, "variants", list));
  list = names(env, 1);
  if (!list) return NULL;
  CHECK(napi_set_named_property(env, exports, "testVariants", list));
  return exports;
}
