/**
 * `weft inspect`: what a checkpoint holds — the run's config, its model spec (the layers and
 * their options, the loss), the parameter table (PyTorch
 * names, shapes, offsets), the parameter count, where training stands, the kernels this
 * machine would run it with, and the SHA-256 of the parameter bytes (float32 little-endian in
 * layout order), which is equal for equal weights whatever produced them.
 */
import { createHash } from 'node:crypto';
import { activeKernels, describeKernels, resolveModelSpec, useKernels, type KernelChoice } from '@weft/core';
import { describeLayers } from '../run/spec.js';
import { loadRun, nonFiniteMessage, nonFiniteParameters } from '../run/checkpoint.js';
import type { Output } from '../run/output.js';
import { describeModel } from './train.js';

export function paramSha256(params: Float32Array): string {
  // Little-endian bytes regardless of the platform's order, so the hash is portable.
  const bytes = Buffer.alloc(params.length * 4);
  for (let i = 0; i < params.length; i++) bytes.writeFloatLE(params[i]!, i * 4);
  return createHash('sha256').update(bytes).digest('hex');
}

export async function inspectCommand(a: { model?: string; kernels: KernelChoice }, out: Output): Promise<number> {
  const run = loadRun(a.model);
  useKernels(a.kernels);
  // Weights that are not finite are shown, and warned about: eval, predict and generate refuse them.
  const nonFinite = nonFiniteParameters(run);
  const warning = nonFiniteMessage(run);
  if (warning !== undefined) out.warn(warning);
  const sha256 = paramSha256(run.params);
  const table = run.layout.describe();
  const c = run.config;
  const result = {
    command: 'inspect', model: run.file, task: c.task, config: c.train, spec: resolveModelSpec(c.train.model), step: run.step,
    progress: { epoch: run.progress.epoch, batch: run.progress.batch, bestValidLoss: run.progress.bestValidLoss, seconds: run.progress.seconds },
    parameters: table, parameterCount: run.layout.size, sha256, kernels: activeKernels(), nonFinite,
  };
  const w = Math.max(...table.map((e) => e.name.length));
  const lines = [
    `${run.file}: ${c.task} model, step ${run.step}`,
    `  ${describeModel(c.train)}`,
    `  kernels on this machine: ${describeKernels()}`,
    '',
    ...describeLayers(c.train.model).map((l) => `  ${l}`),
    '',
    `  ${'parameter'.padEnd(w)}  shape`,
    ...table.map((e) => `  ${e.name.padEnd(w)}  [${e.shape.join(', ')}]`),
    '',
    `  ${run.layout.size.toLocaleString('en-US')} parameters${nonFinite.length ? `, ${nonFinite.reduce((a, b) => a + b.count, 0)} of them not finite (NaN or infinite): ${nonFinite.map((b) => `${b.name} ${b.count}`).join(', ')}` : ''}`,
    `  sha256 ${sha256}`,
  ];
  out.result(result, lines.join('\n'));
  return 0;
}
