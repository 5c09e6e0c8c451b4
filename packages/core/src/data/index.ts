/** The data layer: data files and texts → SequenceDataset, and the meta a checkpoint stores to encode new inputs the same way. */
export { DataError, describeValue, type DataErrorWhere } from './errors.js';
export { readTextFile, splitLines, formatOf } from './read.js';
export { parseJsonLines, FieldReader, type JsonRecord } from './jsonl.js';
export { parseCsv, columnIndex, numberCell, type CsvTable, type CsvRow } from './csv.js';
export { Vocab, symbolsOf, compareCodeUnits, UnknownSymbols, unknownWarning, type VocabKind, type VocabJSON, type UnknownReport } from './vocab.js';
export { codePoints, nfc, tokenizeWords } from './text.js';
export { buildLabelSet, labelIndex } from './labels.js';
export { packDataset, type PackSpec } from './pack.js';
export { split, subset, type Split } from './split.js';
export type { TrainData, EvalData, SplitOptions, Longest } from './task.js';
export { loadClassify, loadClassifyEval, encodeClassifyInputs, type ClassifyOptions, type ClassifyMeta, type ClassifyInput } from './classify.js';
export { loadMultilabel, loadMultilabelEval, encodeMultilabelInputs, type MultilabelOptions, type MultilabelMeta } from './multilabel.js';
export { loadTag, loadTagEval, encodeTagInputs, tagTokens, type TagOptions, type TagMeta } from './tag.js';
export { loadLm, loadLmEval, lmWindows, type LmOptions, type LmMeta, type LmLayout, type LmData } from './lm.js';
export {
  loadRegress, loadRegressEval, readRegressSeries, regressErrors, forecastRegress, forecastProblem, nextDates, encodeRegressInputs, denormalize, normalize,
  type RegressOptions, type RegressErrors, type RegressMeta, type RegressSeries, type RegressEvalData, type RegressForecast,
} from './regress.js';
export { loadNames, nameLists, type NamesOptions, type NamesData } from './names.js';
export { checkDataMeta } from './meta.js';

import type { ClassifyMeta } from './classify.js';
import type { LmMeta } from './lm.js';
import type { MultilabelMeta } from './multilabel.js';
import type { RegressMeta } from './regress.js';
import type { TagMeta } from './tag.js';
/** Every task's meta, discriminated by `task`: what a checkpoint stores about its data. */
export type DataMeta = ClassifyMeta | MultilabelMeta | TagMeta | LmMeta | RegressMeta;
