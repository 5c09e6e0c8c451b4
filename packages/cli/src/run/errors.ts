/**
 * How the CLI fails: one paragraph on stderr that says what was wrong and where, no stack
 * trace, and an exit code a script can branch on.
 *   1  bad input: a data file, a checkpoint, an option value the command could not use
 *   2  usage: unknown command or flag, missing required flag
 *   130  interrupted (Ctrl-C) after saving a resumable checkpoint
 */
import { OptionError } from '@weft/core';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Bad input that is not a data-file error (a checkpoint of another task, a missing --model). */
export class InputError extends Error {
  override name = 'InputError';
}

export const EXIT = { ok: 0, input: 1, usage: 2, interrupted: 130 } as const;

/** Exit code and one-paragraph message for an error thrown by a command. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: err.message };
  if (err instanceof OptionError) return { code: EXIT.input, message: err.message };
  if (err instanceof Error) {
    // Errors raised on purpose by weft (data, options, checkpoints, shapes) carry a message made
    // for the user; anything else is still reported in one paragraph, with its type.
    const known = ['DataError', 'InputError', 'TypeError', 'RangeError', 'NonFiniteError'].includes(err.name) ||
      /^(\S+\.(weft|safetensors|jsonl|csv|txt|json)\b|checkpoint)/.test(err.message) || 'code' in err;
    const msg = known ? err.message : `${err.name}: ${err.message}`;
    return { code: EXIT.input, message: msg.replace(/\s*\n\s*/g, ' ') };
  }
  return { code: EXIT.input, message: String(err) };
}
