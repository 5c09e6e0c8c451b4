// The bits of the native product, as one SHA-256 per variant this CPU runs (and those for tests),
// over a fixed set of products that takes every path of native/csrc/gemm_impl.h: a few rows of C
// (B read down strips, or row after row where its rows are far apart; dot products for
// op(B) = Bᵀ), one column of C, K = 1, and the packed path with every edge, in all four transpose
// forms, stored and added.
// Run as a child process (WEFT_NATIVE_DIR picks the build): prints {"variant": "hash", ...}.
import { createHash } from 'node:crypto';
import { allocF32In, createSharedMemory, loadNativeKernels, nativeAddon, nativeUnavailableReason } from '@weft/core';

const addon = nativeAddon();
if (!addon) throw new Error(`no native addon: ${nativeUnavailableReason()}`);
const memory = createSharedMemory(64);
let seed = 12345;
const random = () => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32 - 0.5;
};
const M_ = [1, 2, 3, 4, 7, 13, 33];
const N_ = [1, 2, 5, 16, 37, 300];
const K_ = [1, 3, 8, 37, 300];
const A = allocF32In(memory, 33 * 300), B = allocF32In(memory, 300 * 1040), C = allocF32In(memory, 33 * 300);
const out = {};
for (const variant of [...addon.variants, ...addon.testVariants]) {
  const k = loadNativeKernels(memory, variant);
  const hash = createHash('sha256');
  let products = 0;
  for (const tA of [false, true]) for (const tB of [false, true]) for (const M of M_) for (const N of N_) for (const K of K_) {
    const ldb = tB ? K : N >= 32 ? 1040 : N; // far-apart rows of B: the few-row path reads them row after row
    for (let i = 0; i < M * K; i++) A[i] = random();
    for (let i = 0; i < (tB ? N : K) * ldb; i++) B[i] = random();
    for (const accumulate of [false, true]) {
      for (let i = 0; i < M * N; i++) C[i] = random();
      k.gemm(tA, tB, M, N, K, A, 0, tA ? M : K, B, 0, ldb, C, 0, N, accumulate);
      hash.update(new Uint8Array(C.buffer, C.byteOffset, 4 * M * N));
      products++;
    }
  }
  if (k.calls.native !== products) throw new Error(`${variant}: ${k.calls.native} of ${products} products ran natively`);
  out[variant] = hash.digest('hex');
}
console.log(JSON.stringify(out));
