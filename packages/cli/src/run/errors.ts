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
 *   141  stdout was closed by its reader (`weft train | head -1`: EPIPE) before the command was
 *        done; `weft train` saved a resumable checkpoint first. 141 is what a shell reports for
 *        a program that SIGPIPE ended (128 + 13), as `yes | head -1` does.
 * A file-system failure names the path and the cause in words (fileError): "read-only file
 * system", "no space left on device", never a bare ENOSPC without a path.
 */
import { NonFiniteError, OptionError } from '@weft/core';

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Bad input that is not a data-file error (a checkpoint of another task, a run directory in the way). */
export class InputError extends Error {
  override name = 'InputError';
}

export const EXIT = { ok: 0, input: 1, usage: 2, interrupted: 130, stdoutClosed: 141 } as const;

/** The causes of file-system failures, in words (Node's messages lead with the code and often omit the path). */
const FS_CAUSES: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'is a directory',
  ENOENT: 'no such file or directory',
  EIO: 'input/output error',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
};

/** Whether `err` is a failed system call (it has an errno code such as ENOSPC). */
export function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/**
 * A failed file operation as one line for the user: `path: cannot <doing>: <cause> (<CODE>)`.
 * Anything that is not a system error is returned as it is.
 */
export function fileError(file: string, err: unknown, doing: string): unknown {
  if (!isSystemError(err)) return err;
  const code = err.code!;
  return new InputError(`${file}: cannot ${doing}: ${FS_CAUSES[code] ?? err.message.replace(/^[A-Z]+: /, '')} (${code})`, { cause: err });
}

/** Exit code and one-paragraph message for an error thrown by a command. */
export function describeFailure(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError || err instanceof OptionError) return { code: EXIT.usage, message: err.message.replace(/\s*\n\s*/g, ' ') };
  if (err instanceof NonFiniteError) return { code: EXIT.input, message: nonFiniteText(err) };
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

/**
 * A loss that is not finite, in the CLI's terms (the library's message speaks of its options,
 * clipNorm and nonFinite: 'skip', which are not flags). Data files are checked for values that
 * are not finite or too large when they are read, so here the weights have diverged.
 */
function nonFiniteText(e: NonFiniteError): string {
  const advice = 'lower the learning rate (--lr), or clip the gradients harder (--clip-norm)';
  return e.during === 'step'
    ? `step ${e.step}: the loss (${e.loss}) or the gradient norm (${e.gradNorm}) is not finite, so training stopped without applying that step: the weights diverged; ${advice}`
    : `validation after step ${e.step}: the loss (${e.loss}) is not finite: the weights diverged; ${advice}`;
}
