/** Terminal progress and learning-curve plots for the weft CLI. */
export * from './progress.js';
export {
  parseMetrics, readMetrics, curveSeries, curvesModel, stepsPerEpoch, smoothSeries, niceTicks, formatTick, drawCurves, renderCurvesSvg, renderCurvesHtml,
  type MetricRecord, type MetricSplit, type Metric, type Series, type CurvesModel, type CurvesOptions,
} from './curves.js';
