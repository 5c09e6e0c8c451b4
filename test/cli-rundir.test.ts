/**
 * The run directory at its edges, against the real binary: two runs at once on one --out, a
 * --force run that dies before its first checkpoint, stdout closed by `head -1`, a FIFO as data,
 * read-only and full file systems, SIGKILL at random steps, Ctrl-C during the final validation.
 * Each test asserts the message, the exit code, a time bound, and that the files that were there
 * before are byte for byte what they were.
 *
 * Read-only and full file systems are real mounts (a read-only bind mount, a small tmpfs): tests
 * run as root, where chmod does not stop writes. Where mount is not allowed (no CAP_SYS_ADMIN)
 * those tests are skipped, saying so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, EXAMPLES, tempDir, weft, weftAsync, weftSpawn } from './helpers/cli.js';

const dir = tempDir('weft-rundir-');
const ex = (f: string) => path.join(EXAMPLES, f);
/** A tiny classifier: 180 training examples in batches of 16, 12 steps an epoch, one worker (the machine is shared). */
const tiny = ['--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '8', '--layers', '1', '--batch', '16', '--workers', '1'];
const STEPS_PER_EPOCH = 12;
const RUN_FILES = ['model.weft', 'best.weft', 'last.weft', 'metrics.jsonl', 'curves.html'];

/** Every file in `d` (hidden ones too) by name, as the SHA-256 of its bytes. */
function snapshot(d: string, only?: string[]): Record<string, string> {
  const names = readdirSync(d).filter((f) => !only || only.includes(f)).sort();
  return Object.fromEntries(names.map((f) => [f, createHash('sha256').update(readFileSync(path.join(d, f))).digest('hex')]));
}

interface Metric { step: number; split: string; epoch: number }
function metrics(run: string): Metric[] {
  return readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Metric);
}

/** Each (split, step) once, and the training steps 1, 2, ... n without a gap. */
function expectEachStepOnce(run: string): number {
  const m = metrics(run);
  const keys = m.map((r) => `${r.split}@${r.step}`);
  expect(keys.filter((k, i) => keys.indexOf(k) !== i), 'duplicate metrics lines').toEqual([]);
  const train = m.filter((r) => r.split === 'train').map((r) => r.step);
  expect(train).toEqual(train.map((_, i) => i + 1));
  return train.length;
}

const stepOf = (line: string): number | undefined => {
  if (!line.includes('"event":"step"')) return undefined;
  return (JSON.parse(line) as { step: number }).step;
};
const checkpointStep = (file: string): number => weft(['inspect', '--model', file, '--json']).json.step as number;
const temps = (d: string) => readdirSync(d).filter((f) => f.endsWith('.tmp'));
/** The pid of a process that has ended. */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '']).pid!;
const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

// ---- mounts (root only) ----

const mounts: string[] = [];
function mount(args: string[], target: string): boolean {
  mkdirSync(target, { recursive: true });
  const ok = spawnSync('mount', [...args, target]).status === 0;
  if (ok) mounts.unshift(target);
  return ok;
}
const canMount = mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs'], path.join(dir, 'probe'));
afterAll(() => {
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(dir, { recursive: true, force: true });
});
const NEEDS_MOUNT = '(needs mount: root with CAP_SYS_ADMIN; skipped where mount is refused)';

describe('one run per directory', () => {
  it('two runs on the same --out at once: one trains, the other is refused at once naming it, and changes nothing', async () => {
    const out = path.join(dir, 'twice');
    const args = (seed: string) => ['train', ...tiny, '--epochs', '2', '--seed', seed, '--out', out, '--json'];
    const [a, b] = await Promise.all([weftAsync(args('0')), weftAsync(args('5'))]);
    const runs = [a, b].sort((x, y) => x.code - y.code);
    const [winner, loser] = runs as [typeof a, typeof a];
    expect(runs.map((r) => r.code), a.stderr + b.stderr).toEqual([0, 1]);
    expect(loser.stderr).toContain(`${out} is in use by another weft train: process ${winner.pid}, started `);
    expect(loser.stderr).toMatch(/One run per directory: wait for it to end, or choose another --out/);
    noStackTrace(loser.stderr);
    expect(loser.stdout).not.toMatch(/"event"/); // refused before it trained or wrote anything
    expect(loser.ms).toBeLessThan(20_000);
    // The winner's run alone: its files, each step once, and no lock left.
    expect(readdirSync(out).sort()).toEqual([...RUN_FILES].sort());
    expect(expectEachStepOnce(out)).toBe(2 * STEPS_PER_EPOCH);
    expect(JSON.parse(winner.stdout.trim().split('\n').pop()!).step).toBe(2 * STEPS_PER_EPOCH);
  });

  it('two runs at once without --out: one directory each (runs/classify, runs/classify-2)', async () => {
    const cwd = path.join(dir, 'cwd');
    mkdirSync(cwd);
    const args = (seed: string) => ['train', ...tiny, '--epochs', '1', '--seed', seed, '--json'];
    const results = await Promise.all([weftAsync(args('0'), undefined, cwd), weftAsync(args('1'), undefined, cwd)]);
    expect(results.map((r) => r.code), results.map((r) => r.stderr).join('')).toEqual([0, 0]);
    const outs = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop()!).out as string).sort();
    expect(outs).toEqual([path.join('runs', 'classify'), path.join('runs', 'classify-2')]);
    for (const o of outs) expect(expectEachStepOnce(path.join(cwd, o))).toBe(STEPS_PER_EPOCH);
  });

  it('a lock of a live process refuses the run and stays; one of another host too; a stale one is taken over with a notice', () => {
    const out = path.join(dir, 'locks');
    expect(weft(['train', ...tiny, '--steps', '2', '--out', out]).code).toBe(0);
    const before = snapshot(out);
    const lock = path.join(out, 'run.lock');
    const owners = [
      { pid: process.pid, host: hostname(), started: new Date().toISOString(), expect: `process ${process.pid}, started ` },
      { pid: process.pid, host: 'elsewhere.example', started: new Date().toISOString(), expect: `process ${process.pid} on elsewhere.example` },
    ];
    for (const o of owners) {
      writeFileSync(lock, JSON.stringify(o));
      for (const args of [['--resume', out, '--steps', '4'], [...tiny, '--steps', '2', '--out', out, '--force']]) {
        const r = weft(['train', ...args]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stderr).toContain(o.expect);
        expect(r.stderr).toContain(`remove ${lock}`);
        expect(snapshot(out)).toEqual({ ...before, 'run.lock': snapshot(out)['run.lock'] });
        expect(readFileSync(lock, 'utf8')).toBe(JSON.stringify(o));
      }
    }
    const dead = deadPid();
    writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname(), started: '2020-01-01T00:00:00.000Z' }));
    const r = weft(['train', '--resume', out, '--steps', '4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: ${lock}: the run that held it is gone (process ${dead}, started 2020-01-01T00:00:00Z`);
    expect(r.json.step).toBe(4);
    expect(existsSync(lock)).toBe(false);
  });

  it('--resume of a run in progress is refused naming it; after its Ctrl-C the lock is gone and the run resumes', async () => {
    const out = path.join(dir, 'busy');
    let resumed: ReturnType<typeof weft> | undefined;
    const first = await weftAsync(['train', ...tiny, '--epochs', '1000', '--out', out, '--json'], (line, child) => {
      // Once epoch 1 is saved (a step of epoch 2 is done), try to resume the running run.
      if (resumed || (stepOf(line) ?? 0) <= STEPS_PER_EPOCH) return;
      resumed = weft(['train', '--resume', out, '--steps', '100']);
      child.kill('SIGINT');
    });
    expect(resumed!.code).toBe(1);
    expect(resumed!.stderr).toContain(`${out} is in use by another weft train: process ${first.pid}, started `);
    expect(first.code, first.stderr).toBe(130);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(false);
    const step = checkpointStep(path.join(out, 'last.weft'));
    const r = weft(['train', '--resume', out, '--steps', String(step + 2), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.step).toBe(step + 2);
    expectEachStepOnce(out);
  });
});

describe('--force replaces a run only once the new run has saved its first checkpoint', () => {
  it('killed at its first step: the old run is as it was; the next run clears the killed run\'s lock and temporary metrics', async () => {
    const out = path.join(dir, 'force-killed');
    expect(weft(['train', ...tiny, '--epochs', '1', '--out', out]).code).toBe(0);
    const before = snapshot(out);
    expect(Object.keys(before).sort()).toEqual([...RUN_FILES].sort());
    const killed = await weftAsync(['train', ...tiny, '--seed', '3', '--epochs', '1000', '--out', out, '--force', '--json'], (line, child) => {
      if (stepOf(line) === 1) child.kill('SIGKILL');
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(snapshot(out, RUN_FILES)).toEqual(before);
    // What the killed run left: its lock and its metrics, aside.
    expect(temps(out)).toEqual([expect.stringMatching(new RegExp(`^\\.metrics\\.jsonl\\.${killed.pid}\\.[0-9a-f]+\\.tmp$`))]);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(true);
    const r = weft(['train', '--resume', out, '--epochs', '2', '--steps', String(STEPS_PER_EPOCH + 2), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`the run that held it is gone (process ${killed.pid}`);
    expect(r.stderr).toMatch(/removed a temporary file left in .* by a run that was killed: \.metrics\.jsonl\./);
    expect(temps(out)).toEqual([]);
    expect(expectEachStepOnce(out)).toBe(STEPS_PER_EPOCH + 2);
  });

  it('Ctrl-C before its first step (while it reads the data): exit 130, nothing saved, the old run as it was', async () => {
    const out = path.join(dir, 'force-sigint');
    expect(weft(['train', ...tiny, '--epochs', '1', '--out', out]).code).toBe(0);
    const before = snapshot(out);
    const valid = path.join(dir, 'slow-valid.jsonl');
    writeFileSync(valid, readFileSync(ex('classify.jsonl'), 'utf8').repeat(300)); // takes a while to read
    const lock = path.join(out, 'run.lock');
    const started = weftAsync(['train', ...tiny, '--valid', valid, '--seed', '4', '--epochs', '1000', '--out', out, '--force', '--json']);
    // The lock is taken before the data is read: Ctrl-C then. It is created, then filled in (the
    // run directory allows for that window): wait until it names its owner.
    const owner = (): number | undefined => {
      try { return (JSON.parse(readFileSync(lock, 'utf8')) as { pid?: number }).pid; } catch { return undefined; }
    };
    const deadline = Date.now() + 30_000;
    let pid = owner();
    while (pid === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      pid = owner();
    }
    if (pid === undefined) throw new Error(`${lock} never named its owner`);
    process.kill(pid, 'SIGINT');
    const r = await started;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).not.toMatch(/"event":"step"/);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ interrupted: true, step: 0, checkpoint: null });
    expect(snapshot(out)).toEqual(before);
  });

  it('failing at its first step (values that overflow to a non-finite loss): the old run is as it was', () => {
    const out = path.join(dir, 'force-failed');
    const csv = (value: (i: number) => string) => {
      const f = path.join(dir, `series-${value(1)}.csv`);
      writeFileSync(f, 'a,b\n' + Array.from({ length: 40 }, (_, i) => `${value(i)},${i % 7}\n`).join(''));
      return f;
    };
    const series = ['--task', 'regress', '--window', '4', '--valid-fraction', '0', '--hidden', '8', '--layers', '1', '--workers', '1', '--out', out];
    expect(weft(['train', ...series, '--data', csv((i) => String(Math.sin(i))), '--epochs', '1']).code).toBe(0);
    const before = snapshot(out);
    const t0 = performance.now();
    const r = weft(['train', ...series, '--data', csv(() => '1e308'), '--epochs', '5', '--force']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    noStackTrace(r.stderr);
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(snapshot(out)).toEqual(before); // nothing removed, nothing added (no temporary left either)
  });
});

describe('stdout closed early: weft train | head -1', () => {
  it.each([['text', []], ['--json', ['--json']]])('%s: stops at the next step with last.weft saved, exit 141, no stack trace', (_, flags) => {
    const out = path.join(dir, `head-${flags.length}`);
    // $0 and $@: node, the CLI and its arguments; the exit status of weft from PIPESTATUS.
    const script = '"$0" "$@" | head -1; echo "weft exit: ${PIPESTATUS[0]}" >&2';
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', script, process.execPath, BIN, 'train', ...tiny, '--epochs', '100000', '--out', out, ...flags], { encoding: 'utf8', timeout: 120_000 });
    const ms = performance.now() - t0;
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('weft exit: 141');
    expect(r.stderr).toMatch(new RegExp(`weft train: stdout was closed \\(EPIPE\\) at step (\\d+); stopped and saved ${out}/last\\.weft\\. Resume with: weft train --resume ${out}`));
    noStackTrace(r.stderr);
    expect(ms).toBeLessThan(60_000); // 100,000 epochs would take hours
    const step = Number(/at step (\d+)/.exec(r.stderr)![1]);
    expect(checkpointStep(path.join(out, 'last.weft'))).toBe(step);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(false);
    const resumed = weft(['train', '--resume', out, '--steps', String(step + 1), '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectEachStepOnce(out);
  });
});

describe('data that is not a regular file', () => {
  it('a FIFO as --data or --valid is refused at once, with no writer too, and no run directory is made', () => {
    const fifo = path.join(dir, 'pipe.jsonl');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const [flag, args] of [['--data', ['--task', 'classify', '--data', fifo]], ['--valid', [...tiny, '--valid', fifo]]] as const) {
      const out = path.join(dir, `fifo-run${flag}`);
      const t0 = performance.now();
      const r = weft(['train', ...args, '--out', out], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(1); // -1 would be the timeout: a hang
      expect(performance.now() - t0).toBeLessThan(30_000);
      expect(r.stderr).toContain(`weft: ${flag} ${fifo} is a FIFO (named pipe), not a regular file: weft train reads its data again`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('eval and predict on a FIFO with no writer say at once that they wait for one', async () => {
    const run = path.join(dir, 'for-wait');
    expect(weft(['train', ...tiny, '--steps', '2', '--out', run]).code).toBe(0);
    const fifo = path.join(dir, 'no-writer.jsonl');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const command of ['eval', 'predict']) {
      const child = weftSpawn([command, '--model', run, '--data', fifo]);
      let stderr = '';
      const said = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 20_000);
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          if (stderr.includes('waiting for something to write to it')) { clearTimeout(timer); resolve(true); }
        });
      });
      expect(await said, stderr).toBe(true);
      expect(stderr).toContain(`warning: --data ${fifo} is a FIFO (named pipe): waiting for something to write to it (Ctrl-C to stop)`);
      child.kill('SIGKILL');
    }
  });

  it('eval reads a FIFO once, as it reads any file', async () => {
    const run = path.join(dir, 'for-eval');
    expect(weft(['train', ...tiny, '--steps', '2', '--out', run]).code).toBe(0);
    const fifo = path.join(dir, 'eval-pipe.jsonl');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('sh', ['-c', 'cat "$0" > "$1"', ex('classify.jsonl'), fifo]);
    const written = new Promise((resolve) => writer.on('close', resolve));
    const r = await weftAsync(['eval', '--model', run, '--data', fifo, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!).metrics.count).toBe(200);
    expect(await written).toBe(0);
  });
});

describe('file-system errors name the path and the cause, before training', () => {
  it('a file as --out, or in the way of --out, is refused and left as it was', () => {
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'not a directory\n');
    for (const [out, message] of [
      [file, `weft: --out ${file} is a file, not a directory: --out names the run directory`],
      [path.join(file, 'run'), `weft: --out ${file} is a file, not a directory, so ${path.join(file, 'run')} cannot be made`],
    ]) {
      const r = weft(['train', ...tiny, '--out', out!]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toContain(message);
      expect(r.stdout).toBe(''); // refused before the data was read
    }
    expect(readFileSync(file, 'utf8')).toBe('not a directory\n');
  });

  it.skipIf(!canMount)(`a read-only file system: a new --out, --resume and --force are refused before training, the run left as it was ${NEEDS_MOUNT}`, () => {
    const src = path.join(dir, 'ro-src');
    expect(weft(['train', ...tiny, '--steps', '2', '--out', path.join(src, 'run')]).code).toBe(0);
    const ro = path.join(dir, 'ro');
    expect(mount(['--bind', '-o', 'ro', src], ro)).toBe(true);
    const run = path.join(ro, 'run');
    const before = snapshot(run);
    const cases: [string[], string][] = [
      [[...tiny, '--out', path.join(ro, 'new', 'run')], `weft: --out ${path.join(ro, 'new')}: cannot make the run directory: read-only file system (EROFS)`],
      [['--resume', run, '--steps', '4'], `weft: --resume ${run}: cannot write in the run directory: read-only file system (EROFS)`],
      [[...tiny, '--steps', '2', '--out', run, '--force'], `weft: --out ${run}: cannot write in the run directory: read-only file system (EROFS)`],
    ];
    for (const [args, message] of cases) {
      const r = weft(['train', ...args, '--json']);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toBe(message);
      expect(r.stdout).not.toMatch(/"event"/);
    }
    expect(snapshot(run)).toEqual(before);
  });

  it.skipIf(!canMount)(`a full disk: too little room is refused before training; filling up mid-run names the file, and the resumed run has each step once ${NEEDS_MOUNT}`, async () => {
    const small = path.join(dir, 'small-fs');
    expect(mount(['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs'], small)).toBe(true);
    const r = weft(['train', ...tiny, '--epochs', '2', '--out', path.join(small, 'run'), '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`weft: --out ${small}/run: not enough space on its file system: \\d+ kB free, and this run needs about \\d+ kB \\(model\\.weft, best\\.weft and last\\.weft of \\d+ kB each`));
    expect(r.stdout).not.toMatch(/"event":"step"/);
    expect(readdirSync(small)).toEqual([]); // the directory it made is gone again

    const fs = path.join(dir, 'full-fs');
    expect(mount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs'], fs)).toBe(true);
    const run = path.join(fs, 'run');
    const filler = path.join(fs, 'filler');
    let saved: Record<string, string> | undefined;
    const full = await weftAsync(['train', ...tiny, '--epochs', '1000', '--out', run, '--json'], (line) => {
      // Epoch 1 is saved once a step of epoch 2 is done: then the disk fills up.
      if (saved || (stepOf(line) ?? 0) <= STEPS_PER_EPOCH) return;
      saved = snapshot(run, ['last.weft', 'best.weft', 'model.weft']);
      try { writeFileSync(filler, Buffer.alloc(4 << 20)); } catch { /* ENOSPC: full, as meant */ }
    });
    expect(full.code, full.stderr).toBe(1);
    expect(full.stderr.trim()).toMatch(new RegExp(`^weft: ${run}/(last\\.weft|metrics\\.jsonl|curves\\.html|best\\.weft|model\\.weft): cannot [a-z .]+: no space left on device \\(ENOSPC\\)$`));
    expect(temps(run)).toEqual([]);
    expect(existsSync(path.join(run, 'run.lock'))).toBe(false);
    expect(snapshot(run, ['last.weft', 'best.weft', 'model.weft'])).toEqual(saved);
    rmSync(filler);
    const step = checkpointStep(path.join(run, 'last.weft'));
    const resumed = weft(['train', '--resume', run, '--steps', String(step + 3), '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(expectEachStepOnce(run)).toBe(step + 3);
  });
});

describe('killed runs', () => {
  it('SIGKILL at random steps, then the next run: the stale lock taken over, temporaries of dead writers removed (not a live one), each step once', async () => {
    const out = path.join(dir, 'killed');
    const live = `.last.weft.${process.pid}.abcdef123456.tmp`; // a writer that is still alive: this test
    for (let trial = 0; trial < 3; trial++) {
      const killAt = 1 + Math.floor(Math.random() * 2.5 * STEPS_PER_EPOCH);
      const args = existsSync(path.join(out, 'last.weft')) ? ['--resume', out] : [...tiny, '--epochs', '1000', '--out', out];
      let steps = 0;
      const r = await weftAsync(['train', ...args, '--json'], (line, child) => {
        if (stepOf(line) !== undefined && ++steps === killAt) child.kill('SIGKILL');
      });
      expect(r.signal, `trial ${trial}: ${r.stderr}`).toBe('SIGKILL');
      if (trial > 0) expect(r.stderr).toContain('the run that held it is gone');
      expect(JSON.parse(readFileSync(path.join(out, 'run.lock'), 'utf8')).pid).toBe(r.pid);
      // What a kill during a save leaves (a random kill rarely lands there): a dead writer's temporary.
      writeFileSync(path.join(out, `.best.weft.${r.pid}.0123456789ab.tmp`), 'half a checkpoint');
      writeFileSync(path.join(out, live), 'being written');
    }
    const step = existsSync(path.join(out, 'last.weft')) ? checkpointStep(path.join(out, 'last.weft')) : 0;
    const args = step ? ['--resume', out] : [...tiny, '--out', out];
    const r = weft(['train', ...args, '--steps', String(step + 3), '--json']);
    expect(r.code, r.stderr).toBe(0);
    // The planted one, and any the kill itself left when it landed during a save.
    expect(r.stderr).toMatch(/removed (a temporary file|\d+ temporary files) left in .* by a run that was killed: (\S+\.tmp, )*\.best\.weft\.\d+\.0123456789ab\.tmp/);
    expect(temps(out)).toEqual([live]);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(false);
    expect(expectEachStepOnce(out)).toBe(step + 3);
  });
});

describe('the end of a run', () => {
  const bigValid = () => {
    const f = path.join(dir, 'big-valid.jsonl');
    if (!existsSync(f)) writeFileSync(f, readFileSync(ex('classify.jsonl'), 'utf8').repeat(100)); // validation takes about a second
    return f;
  };

  it.each([
    ['the last epoch\'s validation', ['--epochs', '1'], 13],
    ['the validation after --steps', ['--steps', '3'], 3],
  ])('Ctrl-C during %s: exit 130 with a resumable checkpoint, not 0', async (_, flags, lastStep) => {
    // With --valid, all 200 examples train: 13 steps an epoch.
    const out = path.join(dir, `sigint-${flags[0]}`);
    const r = await weftAsync(['train', ...tiny, '--valid', bigValid(), ...flags, '--out', out, '--json'], (line, child) => {
      if (stepOf(line) === lastStep) child.kill('SIGINT'); // the step is done: the validation runs now
    });
    expect(r.code, r.stderr).toBe(130);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(result).toMatchObject({ interrupted: true, step: lastStep, checkpoint: path.join(out, 'last.weft') });
    expect(checkpointStep(path.join(out, 'last.weft'))).toBe(lastStep);
    expect(existsSync(path.join(out, 'run.lock'))).toBe(false);
    const resumed = weft(['train', '--resume', out, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
  });

  it('exits promptly after printing its result (the worker pool closes without a 2 s wait)', async () => {
    let resultAt = 0;
    const t0 = performance.now();
    const r = await weftAsync(['train', ...tiny, '--steps', '2', '--out', path.join(dir, 'prompt'), '--json'], (line) => {
      if (line.startsWith('{"command":"train"')) resultAt = performance.now() - t0;
    });
    expect(r.code).toBe(0);
    expect(resultAt).toBeGreaterThan(0);
    expect(r.ms - resultAt).toBeLessThan(1800); // the old 2 s pool wait is gone
  });
});

describe('weft export', () => {
  it('refuses to replace an existing file without --force', () => {
    const run = path.join(dir, 'export-run');
    expect(weft(['train', ...tiny, '--steps', '2', '--out', run]).code).toBe(0);
    const file = path.join(dir, 'weights.safetensors');
    writeFileSync(file, 'keep me');
    const r = weft(['export', '--model', run, '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`weft: ${file} already exists: choose another --out, or replace it with --force`);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    const forced = weft(['export', '--model', run, '--out', file, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file).length).toBeGreaterThan(1000);
    // The default file beside the checkpoint follows the same rule.
    expect(weft(['export', '--model', run]).code).toBe(0);
    expect(weft(['export', '--model', run]).code).toBe(1);
  });
});
