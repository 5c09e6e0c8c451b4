/**
 * `weft export --format onnx`: a run's model as an ONNX file for deployment (@weft/core's
 * `onnxModel`: opset 17, the standard LSTM/GRU/RNN operators), with what a deployment needs to
 * encode its inputs and read its outputs in the model's metadata: `weft.meta` (the data meta as
 * JSON: vocabulary, labels or tags, a regress model's column statistics), `weft.spec` (the
 * model spec), `weft.task` and `weft.outputs` (what the output is, in words). A regress model's
 * graph takes and gives values in the data's own units (its normalisation built in), so its
 * `values` are what `weft predict` prints; the other tasks give logits, before softmax.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { onnxModel, onnxRefusal, planModel, writeFileAtomicSync, ONNX_OPSET, type DataMeta, type RegressMeta } from '@weft/core';
import { fileError, InputError } from '../run/errors.js';
import type { ExportFormat } from './format.js';

/** The column statistics of a regress model as the graph's affine maps. */
function regressAffine(meta: RegressMeta, columns: readonly string[]) {
  return { mean: columns.map((c) => meta.stats[c]!.mean), std: columns.map((c) => meta.stats[c]!.std) };
}

/** What the graph's output is, for `weft.outputs`. */
function outputsText(meta: DataMeta, lossKind: string): string {
  const logits = lossKind === 'binaryCrossEntropy' ? 'logits (before sigmoid)' : 'logits (before softmax)';
  const ids = 'id 0 = padding, 1 = unknown, 2 + i = weft.meta vocab.symbols[i]';
  switch (meta.task) {
    case 'multilabel': return `${logits} per sequence, one per label of weft.meta labels (each label's probability is its own sigmoid); tokens: characters, ${ids.replace('vocab', 'input.vocab')}`;
    case 'classify': return `${logits} per sequence, one per label of weft.meta labels${meta.input.kind === 'chars' ? `; tokens: characters, ${ids.replace('vocab', 'input.vocab')}` : ''}`;
    case 'tag': return `${logits} per word, one per tag of weft.meta tags (0 at padded steps); tokens: words, ${ids}`;
    case 'lm': return `${logits} per step for the next character, one per id (${ids}), 0 at padded steps`;
    case 'regress': return `values of ${meta.targetColumns.join(', ')} in their own units${meta.perStep ? ' per step (0 at padded steps)' : ''}; inputs: ${meta.inputColumns.join(', ')} in their own units`;
  }
}

/** The `onnx` entry of export's format table. */
export const onnxFormat: ExportFormat = {
  defaultOut: (run) => path.join(path.dirname(run.file), 'model.onnx'),
  taken: existsSync,
  // A layer the export cannot write is refused by name before the run is loaded (a layer of the
  // user's own would fail there for its module not being loaded, saying nothing of ONNX).
  check(stored, checkpoint) {
    const refusal = onnxRefusal(stored, 'config.train.model');
    if (refusal !== undefined) throw new InputError(`${checkpoint}: ${refusal}`);
  },
  async write(run, file) {
    const meta = run.config.meta;
    const regress = meta.task === 'regress' ? meta : undefined;
    const plan = planModel(run.config.train.model);
    const bytes = onnxModel(run.config.train.model, run.params, {
      ...(regress ? { normalizeInput: regressAffine(regress, regress.inputColumns), denormalizeOutput: regressAffine(regress, regress.targetColumns) } : {}),
      metadata: {
        'weft.task': run.config.task,
        'weft.outputs': outputsText(meta, plan.loss.def.kind),
        'weft.meta': JSON.stringify(meta),
        'weft.spec': JSON.stringify(plan.spec),
      },
      doc: `weft ${run.config.task} model (${path.basename(run.file)})`,
    });
    try {
      writeFileAtomicSync(file, bytes);
    } catch (e) {
      throw fileError(file, e, 'write the ONNX file');
    }
    const output = plan.loss.def.targets === 'value' ? 'values' : 'logits';
    return {
      out: file, files: [file], result: { opset: ONNX_OPSET, bytes: bytes.length, output },
      text: `weft export: wrote an ONNX model (opset ${ONNX_OPSET}, ${run.layout.size.toLocaleString('en-US')} parameters, output '${output}') to ${file}`,
    };
  },
};
