#!/usr/bin/env node
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`weft: ${String(err?.message ?? err)}\n`); process.exitCode = 1; },
);
