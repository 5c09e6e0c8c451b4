/**
 * What scripts rely on: the same weights whatever the worker count, --resume continuing
 * exactly, Ctrl-C saving a resumable checkpoint, and bad input failing with a clear message,
 * a non-zero exit code and nothing saved lost.
 */
import { describe, it, expect } from 'vitest';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { weft, weftSpawn, tempDir, EXAMPLES } from './helpers/cli.js';

const dir = tempDir();
const ex = (f: string) => path.join(EXAMPLES, f);
const small = ['--task', 'classify', '--data', ex('classify.jsonl'), '--hidden', '8', '--layers', '2', '--dropout', '0.2', '--batch', '16'];
const sha = (model: string) => weft(['inspect', '--model', model, '--json']).json.sha256 as string;
/** The SHA-256 of a run's last state (model.weft may hold an earlier, better epoch). */
const lastSha = (run: string) => sha(path.join(run, 'last.weft'));

describe('weft CLI: determinism and resume', () => {
  it('--workers 1 and --workers 2 give the same parameter SHA-256', () => {
    const a = weft(['train', ...small, '--steps', '4', '--workers', '1', '--out', path.join(dir, 'w1'), '--json']);
    const b = weft(['train', ...small, '--steps', '4', '--workers', '2', '--out', path.join(dir, 'w2'), '--json']);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(a.json.metrics.loss).toBe(b.json.metrics.loss);
    expect(sha(path.join(dir, 'w1'))).toBe(sha(path.join(dir, 'w2')));
    // A different seed gives different weights (the hash does see the parameters).
    const c = weft(['train', ...small, '--steps', '4', '--seed', '1', '--out', path.join(dir, 'w3'), '--json']);
    // The bad-input tests below reuse w1 and w2.
    expect(sha(path.join(dir, 'w3'))).not.toBe(sha(path.join(dir, 'w1')));
    expect(c.code).toBe(0);
  });

  it('--resume continues exactly: 5 steps then resume to 14 equals 14 steps straight (across an epoch boundary)', () => {
    const full = path.join(dir, 'full');
    const part = path.join(dir, 'part');
    expect(weft(['train', ...small, '--steps', '14', '--out', full, '--json']).code).toBe(0);
    expect(weft(['train', ...small, '--steps', '5', '--out', part, '--json']).code).toBe(0);
    const r = weft(['train', '--resume', part, '--steps', '14', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.step).toBe(14);
    expect(lastSha(part)).toBe(lastSha(full));
    expect(sha(part)).toBe(sha(full));
  });

  it('--resume refuses what would not continue the same run', () => {
    const part = path.join(dir, 'part');
    // A setting of the run itself.
    const a = weft(['train', '--resume', part, '--lr', '0.5', '--steps', '16']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--lr cannot be given with --resume/);
    // Changed training data.
    const copy = path.join(dir, 'copy.jsonl');
    writeFileSync(copy, readFileSync(ex('classify.jsonl')));
    const run = path.join(dir, 'changed');
    expect(weft(['train', ...small.map((x) => (x === ex('classify.jsonl') ? copy : x)), '--steps', '2', '--out', run]).code).toBe(0);
    writeFileSync(copy, readFileSync(copy, 'utf8').replace('"label":"es"', '"label":"fr"'));
    const b = weft(['train', '--resume', run, '--steps', '4']);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/copy\.jsonl is missing or has changed/);
    // A longer run under a cosine schedule laid over the original length.
    const cos = path.join(dir, 'cosine');
    expect(weft(['train', ...small, '--schedule', 'cosine', '--epochs', '1', '--out', cos]).code).toBe(0);
    const c = weft(['train', '--resume', cos, '--epochs', '3']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/cosine learning-rate schedule spans \d+ steps/);
    // Another run's directory as --out.
    const before = readFileSync(path.join(dir, 'full', 'model.weft'));
    const d = weft(['train', '--resume', part, '--steps', '15', '--out', path.join(dir, 'full')]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/already exists/);
    expect(readFileSync(path.join(dir, 'full', 'model.weft')).equals(before)).toBe(true);
  });

  it('lm with carried state resumes exactly too', () => {
    const lm = ['--task', 'lm', '--data', ex('lm.txt'), '--hidden', '16', '--layers', '1', '--seq-len', '16', '--batch', '4'];
    const full = path.join(dir, 'lmfull');
    const part = path.join(dir, 'lmpart');
    expect(weft(['train', ...lm, '--steps', '8', '--out', full, '--json']).code).toBe(0);
    expect(weft(['train', ...lm, '--steps', '3', '--out', part, '--json']).code).toBe(0);
    expect(weft(['train', '--resume', part, '--steps', '8', '--json']).code).toBe(0);
    expect(lastSha(part)).toBe(lastSha(full));
  });

  it('Ctrl-C during training saves a resumable checkpoint and exits with 130', async () => {
    const out = path.join(dir, 'sigint');
    const child = weftSpawn(['train', ...small, '--epochs', '1000', '--out', out, '--json']);
    let stdout = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('"event":"step"') && !child.killed) {
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
    expect(code).toBe(130);
    const last = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(last.interrupted).toBe(true);
    expect(existsSync(path.join(out, 'model.weft'))).toBe(true);
    expect(existsSync(path.join(out, 'last.weft'))).toBe(true);
    const r = weft(['train', '--resume', out, '--steps', String(last.step + 2), '--json']);
    expect(r.code).toBe(0);
    expect(r.json.step).toBe(last.step + 2);
  });
});

describe('weft CLI: bad input', () => {
  const bad = (name: string, content: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, content);
    return f;
  };

  it('a missing file', () => {
    const r = weft(['train', '--task', 'classify', '--data', path.join(dir, 'nope.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.jsonl: no such file/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('an empty file', () => {
    const r = weft(['train', '--task', 'classify', '--data', bad('empty.jsonl', '')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/empty\.jsonl/);
  });

  it('a malformed JSONL line names the line', () => {
    const f = bad('broken.jsonl', '{"text":"abc","label":"x"}\n{"text":"abd","label":"y"}\n{"text": oops}\n');
    const r = weft(['train', '--task', 'classify', '--data', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.jsonl:3: not valid JSON/);
  });

  it('a missing field names the line and field', () => {
    const f = bad('nolabel.jsonl', '{"text":"abc","label":"x"}\n{"text":"abd"}\n');
    const r = weft(['train', '--task', 'classify', '--data', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nolabel\.jsonl:2: field "label"/);
  });

  it('a non-numeric CSV cell names the line and column', () => {
    const f = bad('series.csv', 'a,b\n1,2\n3,4\n5,x\n7,8\n9,10\n');
    const r = weft(['train', '--task', 'regress', '--data', f, '--window', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/series\.csv:4: .*"b"/);
  });

  it('a sequence longer than --max-len', () => {
    const r = weft(['train', '--task', 'classify', '--data', ex('classify.jsonl'), '--max-len', '5']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/classify\.jsonl:\d+: .*(longer|max)/i);
  });

  it('an unknown label at evaluation', () => {
    const model = path.join(dir, 'w1');
    const f = bad('unknown-label.jsonl', '{"text":"hello there","label":"klingon"}\n');
    const r = weft(['eval', '--model', model, '--data', f]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown-label\.jsonl:1: .*klingon/);
  });

  it('a damaged checkpoint is refused, and resuming from it changes nothing', () => {
    const f = path.join(dir, 'damaged.weft');
    copyFileSync(path.join(dir, 'w1', 'model.weft'), f);
    const bytes = readFileSync(f);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(f, bytes);
    const before = readFileSync(f);
    for (const args of [['inspect', '--model', f], ['train', '--resume', f, '--steps', '9']]) {
      const r = weft(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/damaged\.weft: .*(corrupt|checksum)/);
    }
    expect(readFileSync(f).equals(before)).toBe(true);
  });

  it('a checkpoint of another kind of model is refused with what it is', () => {
    const r = weft(['generate', '--model', path.join(dir, 'w1')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/classify model.*language model/);
  });

  it('bad data in a run directory that holds a model leaves that model untouched', () => {
    const out = path.join(dir, 'w2');
    const before = readFileSync(path.join(out, 'model.weft'));
    const r = weft(['train', '--task', 'classify', '--data', bad('bad2.jsonl', 'not json\n'), '--out', out]);
    expect(r.code).toBe(1);
    expect(readFileSync(path.join(out, 'model.weft')).equals(before)).toBe(true);
  });

  it('training into a run directory that holds a model refuses without --force, and keeps the model', () => {
    const out = path.join(dir, 'w2');
    const before = readFileSync(path.join(out, 'model.weft'));
    const r = weft(['train', ...small, '--steps', '1', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/model\.weft already exists: continue that run with --resume/);
    expect(readFileSync(path.join(out, 'model.weft')).equals(before)).toBe(true);
    const forced = weft(['train', ...small, '--steps', '1', '--out', out, '--force']);
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(out, 'model.weft')).equals(before)).toBe(false);
  });

  it('--version prints the package version; no command is a usage error', async () => {
    const { readFileSync: read } = await import('node:fs');
    const pkg = JSON.parse(read(path.join(EXAMPLES, '../../packages/cli/package.json'), 'utf8'));
    const v = weft(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const none = weft([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Name a command/);
  });

  it('usage errors: unknown flag, bad choice, option values', () => {
    const a = weft(['train', '--bogus-flag']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/bogus-flag/);
    const b = weft(['train', '--cell', 'transformer']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/cell/);
    const c = weft(['train', ...small, '--workers', '0']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--workers must be a positive integer, got 0/);
    expect(c.stderr).not.toMatch(/OptionError/); // mapped by its class, as a message for the user
  });
});
