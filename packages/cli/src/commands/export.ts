/**
 * `weft export`: the weights as safetensors with PyTorch's names (`rnn.weight_ih_l0`,
 * `head.weight`, ...), so `model.load_state_dict(safetensors.torch.load_file(path))` works on
 * an `nn.Module` with submodules `rnn` (nn.LSTM/GRU/RNN, batch_first) and `head` (nn.Linear).
 */
import path from 'node:path';
import { saveSafetensors, tensorsFromLayout } from '@weft/core';
import { loadRun } from '../run/checkpoint.js';
import type { Output } from '../run/output.js';

export async function exportCommand(a: { model?: string; out?: string }, out: Output): Promise<number> {
  const run = loadRun(a.model);
  const file = a.out ?? path.join(path.dirname(run.file), 'model.safetensors');
  const m = run.config.train.model as import('@weft/core').ModelConfig; // the CLI trains model configs
  await saveSafetensors(file, tensorsFromLayout(run.layout, run.params), {
    format: 'pt', producer: 'weft', task: run.config.task, cell: m.cell, hidden_size: String(m.hiddenSize),
    num_layers: String(m.numLayers ?? 1), bidirectional: String(m.bidirectional ?? false),
  });
  out.result({ command: 'export', model: run.file, out: file, tensors: run.layout.entries.length, parameterCount: run.layout.size },
    `weft export: wrote ${run.layout.entries.length} tensors (${run.layout.size.toLocaleString('en-US')} parameters) to ${file}`);
  return 0;
}
