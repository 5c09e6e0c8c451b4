// runWorkload's step counts (the engine of `weft bench`): exactly `steps` timed steps by default,
// and with minSeconds as many more as it takes for the timed steps to add up to that time.
// Real worker threads; what is checked is the stopping rule on the step times it measured.
import { describe, expect, it } from 'vitest';
import { runWorkload, MAX_STEPS } from '@weft/workers';

describe('runWorkload', () => {
  it('times exactly `steps` steps without a time floor', async () => {
    const r = await runWorkload('rnn-small', { workers: 1, steps: 3, warmup: 0, kernels: 'wasm' });
    expect(r.stepTimes).toHaveLength(3);
  }, 60_000);

  it('with minSeconds, times steps until they add up to it (more than `steps` for a short step)', async () => {
    const r = await runWorkload('rnn-small', { workers: 1, steps: 2, warmup: 1, minSeconds: 0.4, warmupSeconds: 0.1, kernels: 'wasm' });
    const total = r.stepTimes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(400);
    expect(r.stepTimes.length).toBeGreaterThan(2);
    expect(r.stepTimes.length).toBeLessThanOrEqual(MAX_STEPS);
    // It stopped at the first step that reached the floor: without the last one it was short of it.
    expect(total - r.stepTimes.at(-1)!).toBeLessThan(400);
  }, 60_000);

  it('refuses a negative time floor, naming the option', async () => {
    await expect(runWorkload('rnn-small', { minSeconds: -1 })).rejects.toThrow(/minSeconds/);
  });
});
