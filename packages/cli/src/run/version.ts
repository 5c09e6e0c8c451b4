/** The CLI's version, from its package.json: what `weft --version` prints and an export records as its producer. */
import { createRequire } from 'node:module';

export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
