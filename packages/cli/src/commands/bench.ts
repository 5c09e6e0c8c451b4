/**
 * `weft bench`: training throughput on the reference workloads of WORKLOADS.md (one Adam
 * step: forward, backward through time, update) at several worker counts, with the time spent
 * synchronising and reducing shown apart, the step's critical path phase by phase, and the parallel efficiency tps(N) / (N * tps(1)).
 * The comparison with TensorFlow.js in the same run lives in the repository's bench package
 * (`pnpm bench`), since TensorFlow.js is a development dependency only.
 */
import { availableParallelism } from 'node:os';
import type { KernelChoice } from '@weft/core';
import { runWorkload, WORKLOADS, type StepPhases } from '@weft/workers';
import { UsageError } from '../run/errors.js';
import type { Output } from '../run/output.js';

export interface BenchArgs {
  workload: string[];
  workers?: number[];
  steps: number;
  warmup: number;
  seconds: number;
  kernels: KernelChoice;
}

/** The step's critical path (StepPhases), phase by phase: wake-up, shards (A), reduce (B), update (C), main's resumption. */
function phaseText(p: StepPhases): string {
  return [p.wakeMs, p.shardsMs, p.reduceMs, p.updateMs, p.ackMs].map((x) => x.toFixed(2)).join('/');
}

export async function benchCommand(a: BenchArgs, out: Output): Promise<number> {
  const names = Object.keys(WORKLOADS);
  for (const w of a.workload) if (!names.includes(w)) throw new UsageError(`--workload must be one of ${names.join(', ')}, got ${JSON.stringify(w)}`);
  const counts = a.workers ?? [...new Set([1, availableParallelism()])];
  const rows: Record<string, unknown>[] = [];
  const floor = a.seconds > 0 ? ` (more while under ${a.seconds} s timed, ${a.seconds / 4} s of warm-up)` : '';
  out.info(`weft bench: ${a.steps} timed steps after ${a.warmup} warm-up${floor}, median step time; ${availableParallelism()} cores`);
  out.info(`${'workload'.padEnd(12)} ${'workers'.padStart(7)} ${'step ms'.padStart(9)} ${'tokens/s'.padStart(10)} ${'GFLOP/s'.padStart(8)} ${'sync ms'.padStart(8)} ${'effic.'.padStart(7)} ${'RSS MB'.padStart(7)}  ${'wake/A/B/C/ack ms'.padEnd(29)}  kernels`);
  for (const name of a.workload) {
    let tps1 = NaN;
    for (const n of counts) {
      const r = await runWorkload(name, { workers: n, steps: a.steps, warmup: a.warmup, minSeconds: a.seconds, warmupSeconds: a.seconds / 4, kernels: a.kernels });
      if (n === 1) tps1 = r.tokensPerSecond;
      const efficiency = Number.isFinite(tps1) ? r.tokensPerSecond / (n * tps1) : undefined;
      const row = { workload: name, ...r, efficiency };
      rows.push(row);
      out.event('bench', row);
      out.info(`${name.padEnd(12)} ${String(n).padStart(7)} ${r.stepMs.toFixed(1).padStart(9)} ${Math.round(r.tokensPerSecond).toString().padStart(10)} ${r.gflops.toFixed(2).padStart(8)} ${r.syncMs.toFixed(2).padStart(8)} ${(efficiency === undefined ? '' : efficiency.toFixed(2)).padStart(7)} ${Math.round(r.peakRssMB).toString().padStart(7)}  ${phaseText(r.phases).padEnd(29)}  ${r.kernels}`);
    }
  }
  out.result({ command: 'bench', results: rows });
  return 0;
}
