/**
 * `weft export`: the weights as safetensors with PyTorch's names (`rnn.weight_ih_l0`,
 * `head.weight`, ...), so `model.load_state_dict(safetensors.torch.load_file(path))` works on
 * an `nn.Module` with submodules `rnn` (nn.LSTM/GRU/RNN, batch_first) and `head` (nn.Linear).
 * An existing file is replaced only with --force, as `weft train` replaces a run.
 * `--format onnx` writes an ONNX model for deployment instead (export/onnx.ts).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveModelSpec, saveSafetensors, tensorsFromLayout } from '@weft/core';
import { loadRun, nonFiniteMessage } from '../run/checkpoint.js';
import { fileError, InputError } from '../run/errors.js';
import type { Output } from '../run/output.js';
import { exportOnnx } from '../export/onnx.js';

export async function exportCommand(a: { model?: string; out?: string; force?: boolean; format?: string }, out: Output): Promise<number> {
  if (a.format === 'onnx') return exportOnnx(a, out);
  const run = loadRun(a.model);
  // Diverged weights are written as they are (to look at in PyTorch, say), with the warning inspect gives.
  const warning = nonFiniteMessage(run);
  if (warning !== undefined) out.warn(warning);
  const file = a.out ?? path.join(path.dirname(run.file), 'model.safetensors');
  if (existsSync(file) && !a.force) throw new InputError(`${file} already exists: choose another --out, or replace it with --force`);
  // The first recurrent layer's shape in the metadata, as the one-stack models always had it.
  const rnn = resolveModelSpec(run.config.train.model).layers.find((l) => l.type === 'recurrent');
  try {
    await saveSafetensors(file, tensorsFromLayout(run.layout, run.params), {
      format: 'pt', producer: 'weft', task: run.config.task,
      ...(rnn ? { cell: String(rnn.cell), hidden_size: String(rnn.hiddenSize), num_layers: String(rnn.numLayers), bidirectional: String(rnn.bidirectional) } : {}),
    });
  } catch (e) {
    throw fileError(file, e, 'write the safetensors file');
  }
  out.result({ command: 'export', model: run.file, out: file, tensors: run.layout.entries.length, parameterCount: run.layout.size },
    `weft export: wrote ${run.layout.entries.length} tensors (${run.layout.size.toLocaleString('en-US')} parameters) to ${file}`);
  return 0;
}
