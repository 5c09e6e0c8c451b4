/**
 * Class label sets built from training data: sorted so the same data always gives the same class
 * ids. Labels that all read as numbers ("2", "10") sort by value, others by code units.
 */
import { compareCodeUnits } from './vocab.js';

export function buildLabelSet(labels: Iterable<string>): string[] {
  const set = [...new Set(labels)];
  const numeric = set.every((s) => s.trim() !== '' && Number.isFinite(Number(s)));
  set.sort(numeric ? (a, b) => Number(a) - Number(b) || compareCodeUnits(a, b) : compareCodeUnits);
  return set;
}

/** label → class id. */
export function labelIndex(labels: readonly string[]): Map<string, number> {
  return new Map(labels.map((l, i) => [l, i]));
}

/** `a, b, c` or `a, b, c, ... (12 in all)` for error messages. */
export function listForMessage(items: readonly string[], max = 8): string {
  const shown = items.slice(0, max).map((s) => JSON.stringify(s)).join(', ');
  return items.length > max ? `${shown}, ... (${items.length} in all)` : shown;
}
