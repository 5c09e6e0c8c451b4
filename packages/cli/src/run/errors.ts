/**
 * How the CLI fails: one paragraph on stderr that says what was wrong and where, no stack
 * trace, and an exit code a script can branch on. One rule for every command:
 *   2  usage: the command line itself is wrong, whatever the files hold: an unknown or misspelt
 *      command or flag, a missing required flag (--model, --data), a bad flag value
 *      (`--batch 0`, `--epochs abc`), flags that exclude each other. Found before any file is
 *      read (run/flags.ts): OptionError, UsageError.
 *   1  bad input: a data file (missing, malformed, a missing column), a checkpoint (damaged, of
 *      another task, an existing one in --out), anything else that fails at run time.
 *   130  interrupted (Ctrl-C) after saving a resumable checkpoint
 */
import { OptionError } from '@weft/core';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Bad input that is not a data-file error (a checkpoint of another task, a run directory in the way). */
export class InputError extends Error {
  override name = 'InputError';
}

export const EXIT = { ok: 0, input: 1, usage: 2, interrupted: 130 } as const;

/** Exit code and one-paragraph message for an error thrown by a command. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError || err instanceof OptionError) return { code: EXIT.usage, message: err.message.replace(/\s*\n\s*/g, ' ') };
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
