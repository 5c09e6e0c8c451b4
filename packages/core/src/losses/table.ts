/**
 * THE loss table: a spec's `loss.kind` is looked up here (no if/else over kinds). Each entry is
 * a LossDef (losses/types.ts): options, targets, the terms of a global batch's mean, and the
 * loss with its gradient.
 */
import { OptionError, closest } from '../options/errors.js';
import { crossEntropy } from './cross-entropy.js';
import { binaryCrossEntropy } from './binary-cross-entropy.js';
import { huber, mse } from './regression.js';
import type { LossDef } from './types.js';

type AnyLossDef = LossDef<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const table = new Map<string, AnyLossDef>([crossEntropy, binaryCrossEntropy, mse, huber].map((d) => [d.kind, d]));

/** The loss kinds. */
export const LOSS_KINDS: readonly string[] = [...table.keys()];

/** The def of a loss kind; `where` names the spec's loss in the message of an unknown kind. */
export function lossDef(kind: unknown, where: string): AnyLossDef {
  const d = typeof kind === 'string' ? table.get(kind) : undefined;
  if (d) return d;
  const s = typeof kind === 'string' ? closest(kind, LOSS_KINDS) : undefined;
  throw new OptionError(`${where}.kind must be a loss (${LOSS_KINDS.map((k) => `'${k}'`).join(', ')}), got ${JSON.stringify(kind)}` +
    (s ? `; did you mean '${s}'?` : ''), `${where}.kind`, s);
}
