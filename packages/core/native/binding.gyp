# The native kernels addon (src/addon.c). Built by build.mjs at install time; a failed build
# leaves weft on its WebAssembly kernels. Each gemm_*.c picks its own instruction set with
# target attributes (src/isa_begin.h), so the flags here are the same for every file.
{
  "targets": [
    {
      "target_name": "weft_native",
      "sources": [
        "src/addon.c",
        "src/gemm_generic.c",
        "src/gemm_avx2.c",
        "src/gemm_avx512.c",
        "src/gemm_wide_on_avx2.c"
      ],
      "cflags": ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno", "-Wall", "-Wno-unused-function"],
      "cflags!": ["-O2"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-std=gnu11", "-ffp-contract=fast", "-fno-math-errno"]
      }
    }
  ]
}
