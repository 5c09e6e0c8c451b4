// weft on one reference workload, as a child process of run.mjs (one process per measurement, so
// its peak RSS is its own and not the previous run's):
//   node bench/src/weft.mjs --workload bilstm --workers 2 --kernels native --warmup 2 --steps 5
// prints one JSON line. Needs the built packages (`pnpm -r run build`): the pool's worker
// threads run the compiled JavaScript. The workload is @weft/core's table, read by runWorkload.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runWorkload } from '@weft/workers';

/**
 * @param {string} name workload name
 * @param {{ workers?: number, warmup?: number, steps?: number, kernels?: 'auto'|'native'|'wasm'|'reference' }} [opts]
 */
export async function runWeft(name, { workers = 1, warmup = 2, steps = 5, kernels = 'auto' } = {}) {
  const r = await runWorkload(name, { workers, warmup, steps, kernels });
  return {
    engine: 'weft',
    backend: r.kernels,
    workload: name,
    workers: r.workers,
    shards: r.shards,
    params: r.params,
    stepMs: r.stepTimes,
    stepMsMedian: r.stepMs,
    syncMsMedian: r.syncMs,
    computeMsMedian: r.computeMs,
    phasesMedian: r.phases,
    tokensPerSecond: r.tokensPerSecond,
    gflops: r.gflops,
    peakRssMB: r.peakRssMB,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      workload: { type: 'string', default: 'bilstm' },
      workers: { type: 'string', default: '1' },
      kernels: { type: 'string', default: 'auto' },
      warmup: { type: 'string', default: '2' },
      steps: { type: 'string', default: '5' },
    },
  });
  const result = await runWeft(values.workload, {
    workers: Number(values.workers),
    kernels: values.kernels,
    warmup: Number(values.warmup),
    steps: Number(values.steps),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
