# The native kernels addon (csrc/addon.c). Built by build.mjs at install time; a failed build
# leaves weft on its WebAssembly kernels. Each gemm_*.c and cells_*.c picks its own instruction
# set with target attributes (csrc/isa_begin.h), so the flags here are the same for every file
# (cells_impl.h turns multiply-add contraction off for itself: its bits match WebAssembly's).
{
  "targets": [
    {
      "target_name": "weft_native",
      "sources": [
        "csrc/addon.c",
        "csrc/gemm_generic.c",
        "csrc/gemm_avx2.c",
        "csrc/gemm_avx512.c",
        "csrc/gemm_wide_on_avx2.c",
        "csrc/cells_generic.c",
        "csrc/cells_avx2.c",
        "csrc/cells_avx512.c",
        "csrc/cells_wide_on_avx2.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno", "-Wall", "-Wno-unused-function", "-Wno-psabi"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno"]
      }
    }
  ]
}
