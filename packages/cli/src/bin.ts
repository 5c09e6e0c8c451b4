#!/usr/bin/env node
import { main } from './main.js';

// Process warnings (the library's WeftWarnings among them) as one `warning:` line each, the way
// the CLI words its own. The trainer's workers-above-cores warning is left out: the flag checks
// (run/flags.ts) gave it already, before any data was read.
process.removeAllListeners('warning');
process.on('warning', (w: Error & { code?: string }) => {
  if (w.code === 'WEFT_WORKERS_EXCEED_CORES') return;
  process.stderr.write(`warning: ${w.name === 'WeftWarning' ? '' : `${w.name}: `}${w.message}\n`);
});

// stderr closed too (`weft ... 2>&1 | head -1`): there is nowhere left to report anything.
process.stderr.on('error', () => {});

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`weft: ${String(err?.message ?? err)}\n`); process.exitCode = 1; },
);
