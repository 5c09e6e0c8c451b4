/**
 * Which path of the kernel table runs: 'native' (the addon's product and cell kernels, WebAssembly for the rest),
 * 'wasm' (WebAssembly SIMD) or 'reference' (TypeScript). 'auto' takes WEFT_KERNELS when it is set,
 * else the first of native, wasm, reference that this machine has; where the native addon is
 * missing it says so once, on stderr. A worker pool resolves 'auto' once, in the coordinator, and
 * hands the resolved path to every worker, so workers never mix paths (they round differently).
 */
import { isMainThread } from 'node:worker_threads';
import { OptionError, closest } from '../options/errors.js';
import { kernels } from './index.js';
import { detachMemory, type WasmMemory } from './memory.js';
import { nativeAddon, nativeTurnedOff, nativeUnavailableReason, useNativeKernels } from './native.js';
import { loadWasmKernels, useReferenceKernels, useWasmKernels, wasmSimdSupported } from './wasm.js';

export const KERNEL_CHOICES = ['auto', 'native', 'wasm', 'reference'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];
/** A path of the kernel table, as a choice (what 'auto' resolves to). */
export type KernelPath = Exclude<KernelChoice, 'auto'>;

const PATHS: readonly KernelPath[] = ['native', 'wasm', 'reference'];
/** `kernels.name` of each path, as a table a worker pool can index (its control block holds a number). */
export const KERNEL_NAMES = ['reference', 'wasm-simd', 'native'] as const;

let noticed = false;

/** WEFT_KERNELS, checked: a path, or undefined when unset or empty. */
function envPath(): KernelPath | undefined {
  const v = process.env.WEFT_KERNELS;
  if (v === undefined || v === '' || v === 'auto') return undefined;
  if ((PATHS as readonly string[]).includes(v)) return v as KernelPath;
  const near = closest(v, PATHS);
  throw new OptionError(
    `WEFT_KERNELS must be one of ${PATHS.join(', ')} (or auto), got '${v}'${near ? ` (did you mean '${near}'?)` : ''}`,
    'WEFT_KERNELS', near,
  );
}

/**
 * The path a choice means here: an explicit path stays as it is; 'auto' is WEFT_KERNELS if set,
 * else native, wasm or reference, the first available. Throws, saying why, when native is asked
 * for and unavailable. When 'auto' passes over native because its addon is missing (not turned
 * off with WEFT_NATIVE=0), prints one line saying so, once per process.
 */
export function resolveKernels(choice: KernelChoice = 'auto'): KernelPath {
  if (!(KERNEL_CHOICES as readonly string[]).includes(choice)) {
    const near = closest(String(choice), KERNEL_CHOICES);
    throw new OptionError(
      `kernels must be one of ${KERNEL_CHOICES.join(', ')}, got ${String(choice)}${near ? ` (did you mean '${near}'?)` : ''}`,
      'kernels', near,
    );
  }
  const chosen = choice !== 'auto' ? choice : envPath();
  if (chosen === 'native' && !nativeAddon()) {
    throw new Error(`native kernels are unavailable: ${nativeUnavailableReason()}`);
  }
  if (chosen) return chosen;
  if (nativeAddon()) return 'native';
  const path: KernelPath = wasmSimdSupported() ? 'wasm' : 'reference';
  if (!noticed && !nativeTurnedOff() && isMainThread) {
    noticed = true;
    process.stderr.write(`weft: native kernels unavailable (${nativeUnavailableReason()}); running ${path === 'wasm' ? 'WebAssembly SIMD' : 'TypeScript reference'} kernels\n`);
  }
  return path;
}

/**
 * Switches `kernels` to a path (resolving 'auto' as `resolveKernels` does) on `memory`
 * (default: the attached arena, else a new one; 'reference' also detaches it when `memory`
 * is given, as a pool worker must). Throws, naming the reason, where an explicit path is
 * unavailable. Returns the name of the kernels now active: 'native', 'wasm-simd' or 'reference'.
 */
export function useKernels(choice: KernelChoice = 'auto', memory?: WasmMemory): string {
  const path = resolveKernels(choice);
  if (path === 'native') {
    if (!useNativeKernels(memory)) throw new Error(`native kernels are unavailable: ${nativeUnavailableReason()}`);
  } else if (path === 'wasm') {
    if (!useWasmKernels(memory)) loadWasmKernels(memory); // throws with the reason
  } else {
    useReferenceKernels();
    if (memory) detachMemory();
  }
  return kernels.name;
}

/** The name of the kernels now active: 'native', 'wasm-simd' or 'reference'. */
export function activeKernels(): string {
  return kernels.name;
}

/** The active kernels in words, for `weft inspect` and the like: `native (avx2 product and cells; WebAssembly SIMD for the rest)`. */
export function describeKernels(): string {
  const why = kernels.name === 'native' ? null : nativeUnavailableReason();
  return `${kernels.name} (${kernels.detail}${why ? `; native unavailable: ${why}` : ''})`;
}
