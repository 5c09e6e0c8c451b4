// The combined bench's parts that need no timing: its options, where it looks for PyTorch, how it
// splits threads and picks OPENBLAS_CORETYPE, the tables it writes, and that the PyTorch runner
// (bench/src/pytorch.py, run as the bench runs it) builds weft's model from the shape it is handed
// and answers with a well-formed record. The PyTorch test runs where a python with torch is found
// (as the bench finds one: --python, WEFT_PYTHON, /usr/bin/python3, python3) and is skipped,
// saying so, elsewhere. Speed itself is measured by the benchmark only.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it, expect } from 'vitest';
import { WORKLOADS, planModel, workloadShape } from '@weft/core';
// @ts-expect-error: a plain ES module without types (bench/ is not a TypeScript package)
import * as bench from './run.mjs';
import { findTorch } from '../../scripts/find-torch.mjs';

const PYTORCH_PY = fileURLToPath(new URL('./pytorch.py', import.meta.url));

/** What parseOptions(argv) must throw: an OptionError with these fields (a RegExp matches the message). */
const refuses = (argv: string[], fields: { option?: string; suggestion?: string; message?: RegExp }) =>
  expect(() => bench.parseOptions(argv)).toThrow(expect.objectContaining({
    name: 'OptionError', ...fields, ...(fields.message ? { message: expect.stringMatching(fields.message) } : {}),
  }));

describe('bench options', () => {
  it('defaults: the three reference workloads at 1 and 2 cores, PyTorch when importable', () => {
    const o = bench.parseOptions([]);
    expect(o).toMatchObject({ workloads: ['bilstm', 'charlm', 'rnn-small'], workers: [1, 2], torch: 'auto', kernels: undefined, warmup: 2, steps: 5, rounds: 1, openblasCoretype: 'auto' });
  });

  it('reads every flag, and drops the `--` that pnpm hands through', () => {
    const o = bench.parseOptions(['--', '--workloads', 'charlm,bilstm-b256', '--workers', '1,4', '--kernels', 'wasm,native',
      '--torch', 'on', '--python', '/opt/py/bin/python3', '--openblas-coretype', 'Haswell', '--tfjs', 'none', '--steps', '3', '--warmup', '0', '--rounds', '3']);
    expect(o).toMatchObject({ workloads: ['charlm', 'bilstm-b256'], workers: [1, 4], kernels: ['wasm', 'native'], torch: 'on',
      python: '/opt/py/bin/python3', openblasCoretype: 'Haswell', tfjs: 'none', steps: 3, warmup: 0, rounds: 3 });
  });

  it('refuses a misspelt flag, workload or choice, naming it and the closest valid one', () => {
    refuses(['--wrokers', '2'], { option: '--wrokers', suggestion: '--workers' });
    refuses(['--workloads', 'bilstm,chralm'], { option: '--workloads', message: /did you mean 'charlm'/ });
    refuses(['--torch', 'atuo'], { option: '--torch', message: /--torch must be .*'auto'.*did you mean 'auto'/ });
    refuses(['--kernels', 'native,wsm'], { option: '--kernels', message: /did you mean 'wasm'/ });
  });

  it('refuses bad numbers and lists, saying what was expected', () => {
    refuses(['--workers', '1,0'], { option: '--workers', message: /--workers must be a positive integer, got "0"/ });
    refuses(['--workers', '1,,2'], { option: '--workers', message: /no empty items/ });
    refuses(['--steps', '2.5'], { option: '--steps', message: /--steps must be a positive integer/ });
    refuses(['--warmup', '-1'], { option: '--warmup' });
    refuses(['--warmup=-1'], { option: '--warmup', message: /--warmup must be a non-negative integer, got "-1"/ });
    refuses(['--workloads', 'bilstm,bilstm'], { option: '--workloads', message: /without repeats/ });
    refuses(['--openblas-coretype', 'Sky lake'], { option: '--openblas-coretype' });
    refuses(['--rounds', '0'], { option: '--rounds', message: /positive integer/ });
  });
});

describe('where PyTorch is looked for, and how its threads are set', () => {
  it('--python wins, then WEFT_PYTHON, then /usr/bin/python3 and python3', () => {
    expect(bench.pythonCandidates('/x/python', { WEFT_PYTHON: '/y/python' })).toEqual(['/x/python']);
    expect(bench.pythonCandidates(undefined, { WEFT_PYTHON: '/y/python' })).toEqual(['/y/python']);
    expect(bench.pythonCandidates(undefined, {})).toEqual(['/usr/bin/python3', 'python3']);
  });

  it('a python that is not there is passed over, and the reason names it', () => {
    const r = findTorch(['/nonexistent/weft-python']);
    expect(r.python).toBeUndefined();
    expect(r.reason).toContain('/nonexistent/weft-python');
  });

  it('one core: 1 + 1; N cores: N torch threads + 1 OpenBLAS, or 1 + N (never N + N)', () => {
    expect(bench.torchConfigs(1)).toEqual([{ torchThreads: 1, blasThreads: 1 }]);
    for (const n of [2, 4]) {
      const cs = bench.torchConfigs(n);
      expect(cs).toHaveLength(2);
      for (const c of cs) expect(c.torchThreads * c.blasThreads).toBe(n);
    }
  });

  it('OPENBLAS_CORETYPE: SkylakeX only where the CPU has its AVX-512 subsets; else the environment\'s', () => {
    const avx2 = bench.cpuInfo('model name\t: Some CPU\nflags\t\t: sse fma avx avx2\n');
    expect(avx2.model).toBe('Some CPU');
    expect(bench.openblasCoretype('auto', avx2.flags, {})).toBeUndefined();
    expect(bench.openblasCoretype('auto', avx2.flags, { OPENBLAS_CORETYPE: 'Haswell' })).toBe('Haswell');
    const avx512 = bench.cpuInfo('flags : fma avx2 avx512f avx512cd avx512bw avx512dq avx512vl\n');
    expect(bench.openblasCoretype('auto', avx512.flags, { OPENBLAS_CORETYPE: 'Haswell' })).toBe('SkylakeX');
    expect(bench.openblasCoretype('inherit', avx512.flags, { OPENBLAS_CORETYPE: 'Haswell' })).toBe('Haswell');
    expect(bench.openblasCoretype('Zen', avx512.flags, {})).toBe('Zen');
  });
});

describe('the tables', () => {
  const row = (engine: string, backend: string, workers: number, tps: number, extra = {}) => ({
    engine, backend, workload: 'bilstm', workers, tokensPerSecond: tps, stepMsMedian: 4096_000 / tps, gflops: 1, peakRssMB: 100, syncMsMedian: 0.5, ...extra,
  });
  const rows = [
    row('weft', 'native', 1, 30_000), row('weft', 'wasm-simd', 1, 15_000), row('pytorch', 'torch', 1, 20_000, { config: '1 torch + 1 OpenBLAS' }),
    row('weft', 'native', 2, 50_000), row('weft', 'wasm-simd', 2, 28_000), row('pytorch', 'torch', 2, 25_000, { config: '1 torch + 2 OpenBLAS' }),
    row('tfjs', 'wasm', 1, 700),
  ];

  it('side by side: weft native, weft wasm, PyTorch (and its threads) and TF.js per core count, with weft/PyTorch', () => {
    const lines = bench.sideBySide(rows).split('\n');
    expect(lines[0]).toBe('| workload | cores | weft native | weft wasm-simd | PyTorch | PyTorch threads | TF.js wasm | native/PyTorch | wasm-simd/PyTorch |');
    const cells = (l: string) => l.split('|').slice(1, -1).map((c) => c.trim());
    expect(cells(lines[2]!)).toEqual(['bilstm', '1', '30,000', '15,000', '20,000', '1 torch + 1 OpenBLAS', '700', `**${(30 / 20).toFixed(2)}**`, `**${(15 / 20).toFixed(2)}**`]);
    expect(cells(lines[3]!)).toEqual(['bilstm', '2', '50,000', '28,000', '25,000', '1 torch + 2 OpenBLAS', '(1 thread)', `**${(50 / 25).toFixed(2)}**`, `**${(28 / 25).toFixed(2)}**`]);
  });

  it('every measurement, with the efficiency of each engine against its own one-core row', () => {
    const t = bench.detailTable(rows);
    expect(t).toContain(`| bilstm | weft native | 2 | ${(4096_000 / 50_000).toFixed(1)} | 0.50 | 50,000 |`);
    expect(t).toMatch(/\| PyTorch \(1 torch \+ 2 OpenBLAS\) \| 2 \|.*\| 63% \|/); // 25,000 / (2 x 20,000)
  });

  it('rounds: each row is its round of median step time; PyTorch\'s row per core count is its best thread split', () => {
    const m = (engine: string, key: string, workers: number, stepMsMedian: number) =>
      ({ engine, workload: 'charlm', workers, stepMsMedian, tokensPerSecond: 3200_000 / stepMsMedian, ...(engine === 'pytorch' ? { config: key } : { backend: key }) });
    const measured = [];
    for (const [native, a, b] of [[300, 500, 400], [100, 450, 600], [200, 700, 350]]) {
      measured.push(m('weft', 'native', 2, native!), m('pytorch', '2 torch + 1 OpenBLAS', 2, a!), m('pytorch', '1 torch + 2 OpenBLAS', 2, b!));
    }
    const rows = bench.combine(measured);
    expect(rows.map((r: { engine: string }) => r.engine)).toEqual(['weft', 'pytorch']);
    expect(rows[0]).toMatchObject({ stepMsMedian: 200, rounds: [300, 100, 200] });
    // Medians: 2+1 -> 500 ms, 1+2 -> 400 ms: the second split is the faster.
    expect(rows[1]).toMatchObject({ config: '1 torch + 2 OpenBLAS', stepMsMedian: 400, rounds: [400, 600, 350] });
    expect(rows[1].tried).toEqual([{ config: '2 torch + 1 OpenBLAS', tokensPerSecond: 3200_000 / 500 }, { config: '1 torch + 2 OpenBLAS', tokensPerSecond: 3200_000 / 400 }]);
  });

  it('rates come from the shape\'s one FLOP count', () => {
    const s = workloadShape('charlm');
    const r = bench.rates(s, 250);
    expect(r.tokensPerSecond).toBe((32 * 100) / 0.25);
    expect(r.gflops).toBeCloseTo((s.flopsPerStep / 0.25) / 1e9, 9);
  });
});

describe('the PyTorch runner', () => {
  // Any python checks the shape before torch is imported.
  const anyPython = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'pass']).status === 0);
  it.skipIf(anyPython === undefined)('refuses a shape that lacks a field, naming it', () => {
    const { name, cell, layers, bidirectional, input, encoding, output, loss, T, B } = workloadShape('rnn-small');
    const r = spawnSync(anyPython!, [PYTORCH_PY, '--shape', JSON.stringify({ name, cell, layers, bidirectional, input, encoding, output, loss, T, B })], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--shape lacks 'hidden'");
    const bad = spawnSync(anyPython!, [PYTORCH_PY, '--shape', JSON.stringify({ ...workloadShape('rnn-small'), cell: 'lstn' })], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/'cell' must be one of rnn, gru, lstm; got 'lstn'/);
  });

  const torch = findTorch(bench.pythonCandidates(undefined));
  if (!torch.python) console.warn(`bench/src/run.test.ts: PyTorch tests skipped: no python with torch (${torch.reason})`);
  const tiny = (name: string) => ({ ...workloadShape(name), B: 3, T: 4 });

  for (const [name, config] of [['rnn-small', { torchThreads: 1, blasThreads: 1 }], ['bilstm', { torchThreads: 1, blasThreads: 2 }], ['charlm', { torchThreads: 2, blasThreads: 1 }]] as const) {
    it.skipIf(!torch.python)(`${name} at B=3, T=4 with ${config.torchThreads} torch + ${config.blasThreads} OpenBLAS threads: weft's model, a well-formed record`, async () => {
      const shape = tiny(name);
      const r = await bench.runTorch(torch.python, shape, { config, coretype: undefined, warmup: 1, steps: 2 });
      expect(r).toMatchObject({ engine: 'pytorch', workload: name, torchThreads: config.torchThreads, config: bench.configName(config), openblasThreadsEnv: `${config.blasThreads}` });
      // The same model as weft's: its parameter count is the layout's of the table's model config.
      expect(r.params).toBe(planModel(WORKLOADS[name].model).layout.size);
      expect(r.stepMs).toHaveLength(2);
      for (const ms of r.stepMs) expect(ms).toBeGreaterThan(0);
      expect(r.stepMsMedian).toBe((r.stepMs[0] + r.stepMs[1]) / 2);
      expect(r.tokensPerSecond).toBeCloseTo((3 * 4 * 1000) / r.stepMsMedian, 6);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.peakRssMB).toBeGreaterThan(10);
      expect(r.openblasEnv.OPENBLAS_NUM_THREADS).toBe(`${config.blasThreads}`);
      if (r.openblas) {
        // The OpenBLAS torch loaded took the thread count the bench set.
        expect(r.openblas.threads).toBe(config.blasThreads);
        expect(r.openblas.core).toBeTruthy();
      }
    });
  }
});
