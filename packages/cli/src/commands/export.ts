/**
 * `weft export`: a trained model for another engine, in the format `--format` names (one entry
 * per format in FORMATS):
 *   safetensors (default)  the weights with PyTorch's names (`rnn.weight_ih_l0`, `head.weight`,
 *                          ...), so `model.load_state_dict(safetensors.torch.load_file(path))`
 *                          works on an `nn.Module` with these submodules;
 *   pytorch                a self-contained directory (run/pytorch.ts): weights, optimizer state,
 *                          meta.json, weft_model.py (the nn.Module, loss and data readers) and
 *                          train_ddp.py (DistributedDataParallel under torchrun). docs/scale.md;
 *   onnx                   the model for deployment (export/onnx.ts: opset 17, the standard
 *                          LSTM/GRU/RNN operators). docs/onnx.md.
 * An existing output is replaced only with --force, as `weft train` replaces a run; both are
 * written atomically.
 */
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  createOptimizer, loadCheckpointSync, resolveModelSpec, saveSafetensors, tensorsFromLayout, type Tensor,
} from '@weft/core';
import { nonFiniteMessage, resolveModelPath, runFromCheckpoint, type RunCheckpoint } from '../run/checkpoint.js';
import { fileError, InputError } from '../run/errors.js';
import type { Output } from '../run/output.js';
import {
  META_FILE, OPTIMIZER_FILE, PYTHON_DIR, PYTHON_FILES, PYTORCH_FORMAT, PYTORCH_VERSION, WEIGHTS_FILE, foreignLayer, nonEmptyDir, writeDirAtomic,
  type PytorchMeta,
} from '../run/pytorch.js';
import { VERSION } from '../run/version.js';
import type { ExportFormat, Written } from '../export/format.js';
import { onnxFormat } from '../export/onnx.js';

export interface ExportArgs {
  model?: string;
  out?: string;
  force?: boolean;
  format?: string;
}

const FORMATS: Record<string, ExportFormat> = {
  safetensors: {
    defaultOut: (run) => path.join(path.dirname(run.file), WEIGHTS_FILE),
    taken: existsSync,
    async write(run, file) {
      try {
        await saveSafetensors(file, tensorsFromLayout(run.layout, run.params), weightsMetadata(run));
      } catch (e) {
        throw fileError(file, e, 'write the safetensors file');
      }
      return { out: file, files: [file] };
    },
  },
  pytorch: {
    defaultOut: (run) => path.join(path.dirname(run.file), 'pytorch'),
    taken: nonEmptyDir,
    check: refuseForeignLayers,
    write: writePytorch,
  },
  onnx: onnxFormat,
};

/** The format names, for the flag's choices. */
export const EXPORT_FORMATS = Object.keys(FORMATS);

export async function exportCommand(a: ExportArgs, out: Output): Promise<number> {
  const format = FORMATS[a.format ?? 'safetensors']!; // a choice (run/flags.ts)
  // The file is read once: the format's check looks at the stored model before the run is built.
  const file = resolveModelPath(a.model);
  const data = loadCheckpointSync(file);
  format.check?.((data.config as { train?: { model?: unknown } } | null)?.train?.model, file);
  const run = runFromCheckpoint(data, file);
  // Diverged weights are written as they are (to look at in PyTorch, say), with the warning inspect gives.
  const warning = nonFiniteMessage(run);
  if (warning !== undefined) out.warn(warning);
  const target = a.out ?? format.defaultOut(run);
  if (format.taken(target) && !a.force) {
    throw new InputError(`${target} already exists: choose another --out, or replace it with --force`);
  }
  const w = await format.write(run, target);
  const what = `${run.layout.entries.length} tensors (${run.layout.size.toLocaleString('en-US')} parameters)`;
  out.result({ command: 'export', format: a.format ?? 'safetensors', model: run.file, out: w.out, files: w.files, tensors: run.layout.entries.length, parameterCount: run.layout.size, ...w.result },
    w.text ?? `weft export: wrote ${what} to ${w.out}${w.files.length > 1 ? ` (${w.files.map((f) => path.basename(f)).join(', ')})` : ''}`);
  return 0;
}

/**
 * A model with layers of the user's own is refused by name before it is loaded: weft_model.py
 * cannot build them, and loading would first ask for their module, which the CLI does not import.
 */
function refuseForeignLayers(stored: unknown, file: string): void {
  const m = stored as { layers?: unknown; modules?: string[] } | undefined;
  if (!m || !Array.isArray(m.layers)) return; // a model config (no layers of one's own), or not a model: runFromCheckpoint says
  const foreign = foreignLayer(m);
  if (foreign !== undefined) throw new InputError(`${file}: ${foreign}`);
}

/** The safetensors metadata: the first recurrent layer's shape, as the one-stack models always had it. */
function weightsMetadata(run: RunCheckpoint): Record<string, string> {
  const rnn = resolveModelSpec(run.config.train.model).layers.find((l) => l.type === 'recurrent');
  return {
    format: 'pt', producer: 'weft', task: run.config.task,
    ...(rnn ? { cell: String(rnn.cell), hidden_size: String(rnn.hiddenSize), num_layers: String(rnn.numLayers), bidirectional: String(rnn.bidirectional) } : {}),
  };
}

async function writePytorch(run: RunCheckpoint, dir: string): Promise<Written> {
  const spec = resolveModelSpec(run.config.train.model); // foreign layers were refused by the format's check
  const { model: _model, ...training } = run.config.train;
  const c = run.config;
  const { carry: _carry, ...progress } = run.progress;
  const meta: PytorchMeta = {
    format: PYTORCH_FORMAT, version: PYTORCH_VERSION, producer: `weft ${VERSION}`,
    spec, data: c.meta, training, step: run.step,
    // A library-saved model (no `weft train` settings) has no run to go on with in weft.
    run: c.data.file === null && c.task !== 'names' ? null
      : { task: c.task, epochs: c.epochs === Infinity ? null : c.epochs, steps: c.steps, patience: c.patience, data: c.data },
    progress,
  };
  const files = [WEIGHTS_FILE, ...(run.optimizer ? [OPTIMIZER_FILE] : []), META_FILE, ...PYTHON_FILES];
  try {
    await writeDirAtomic(dir, async (tmp) => {
      await saveSafetensors(path.join(tmp, WEIGHTS_FILE), tensorsFromLayout(run.layout, run.params), weightsMetadata(run));
      if (run.optimizer) await saveSafetensors(path.join(tmp, OPTIMIZER_FILE), optimizerTensors(run), { step: String(run.optimizer.step) });
      writeFileSync(path.join(tmp, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
      for (const f of PYTHON_FILES) copyFileSync(path.join(PYTHON_DIR, f), path.join(tmp, f));
    });
  } catch (e) {
    throw fileError(dir, e, 'write the export');
  }
  return { out: dir, files: files.map((f) => path.join(dir, f)) };
}

/** The optimizer's state buffers as `<parameter>.<torch state name>` tensors (views of the buffers). */
function optimizerTensors(run: RunCheckpoint): Map<string, Tensor> {
  const o = run.optimizer!;
  const names = createOptimizer({ name: o.name, ...o.options } as Parameters<typeof createOptimizer>[0]).stateNames;
  const out = new Map<string, Tensor>();
  names.forEach((state, k) => {
    for (const [name, t] of tensorsFromLayout(run.layout, o.states[k]!)) out.set(`${name}.${state}`, t);
  });
  return out;
}
