/**
 * The curves page of a real run, opened in a real browser (headless Chromium, where installed):
 * its script redraws the picture at the window's width and, under the pointer, lists the values
 * of the nearest points. The drawing itself is unit-tested in packages/cli/src/report/curves.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, tempDir, weft } from './helpers/cli.js';

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0);

/** The DOM of `file` after its scripts ran, in a window `width` pixels wide. */
function dumpDom(file: string, width: number): string {
  const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', `--window-size=${width},800`, '--dump-dom', pathToFileURL(file).href], {
    encoding: 'utf8', timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`${chromium} failed: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!chromium)('curves.html in headless Chromium', () => {
  const dir = tempDir('weft-curves-');
  const run = path.join(dir, 'run');
  const t = weft(['train', '--task', 'classify', '--data', path.join(EXAMPLES, 'classify.jsonl'), '--hidden', '8', '--layers', '1', '--batch', '16', '--epochs', '4', '--out', run, '--json']);

  it('draws at the window width and shows the values under the pointer', () => {
    expect(t.code, t.stderr).toBe(0);
    const page = path.join(run, 'curves.html');
    const html = readFileSync(page, 'utf8');
    const valid = readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { split: string; epoch: number; loss: number })
      .filter((r) => r.split === 'valid');
    const best = valid.reduce((a, b) => (b.loss < a.loss ? b : a));

    // As wide as the window less the page's 16-pixel margins, whatever the window.
    for (const width of [700, 1100]) {
      const dom = dumpDom(page, width);
      expect(Number(/<svg [^>]*width="(\d+)"/.exec(dom)![1])).toBe(width - 32);
    }

    // The pointer over the best epoch (found from the page's own scale), in a copy of the page.
    const hover = path.join(run, 'hover.html');
    writeFileSync(hover, html.replace('</body>', `<script>
      const svg = document.querySelector('#weft-curves svg');
      const sc = JSON.parse(svg.dataset.scale);
      const x = sc.left + ((${best.epoch} - sc.x0) / (sc.x1 - sc.x0)) * sc.plotW;
      svg.dispatchEvent(new MouseEvent('mousemove', { clientX: svg.getBoundingClientRect().left + x, clientY: 200, bubbles: true }));
    </script></body>`));
    const dom = dumpDom(hover, 900);
    const tip = /<div id="weft-tip"[^>]*>(.*?)<\/div>\s*<script/s.exec(dom)![1]!;
    expect(dom).toMatch(/<g class="hover" visibility="visible"/);
    expect(tip).toContain(`epoch ${best.epoch}`);
    expect(tip).toContain(`valid loss <b>${best.loss.toFixed(4)}</b>`);
    expect(tip).toMatch(/train loss <b>\d\.\d{4}<\/b>/);
    expect(tip).toMatch(/valid accuracy <b>\d+\.\d%<\/b>/);
  });
});
