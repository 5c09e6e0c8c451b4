// Types of find-torch.mjs, for the TypeScript tests that use it.
export const DEFAULT_PYTHONS: readonly string[];
export function findTorch(candidates: readonly string[]): { python: string; torch: string; reason?: undefined } | { python?: undefined; torch?: undefined; reason: string };
