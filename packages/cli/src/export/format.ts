/**
 * What one `weft export --format` is, so commands/export.ts runs every format the same way (the
 * model file checked, loaded, the output refused without --force, written, the result said) and
 * a format is one entry of its table.
 */
import type { RunCheckpoint } from '../run/checkpoint.js';

/** What a format wrote: the output, its files, and what the result says beyond the common fields. */
export interface Written {
  out: string;
  files: string[];
  /** Fields the JSON result adds for this format. */
  result?: Record<string, unknown>;
  /** The text result line, when the format has its own words. */
  text?: string;
}

/** One export format: where it writes by default, whether an output is already there, what it refuses before loading, and how it writes. */
export interface ExportFormat {
  defaultOut(run: RunCheckpoint): string;
  /** Whether `out` holds something that only --force may replace. */
  taken(out: string): boolean;
  /**
   * Refuses a model it cannot export, from the model as the file stores it (`config.train.model`,
   * read once by export), before the run is built from it (optional).
   */
  check?(storedModel: unknown, modelFile: string): void;
  write(run: RunCheckpoint, out: string): Promise<Written>;
}
