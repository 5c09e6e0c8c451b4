/** Terminal progress and learning-curve plots for the weft CLI. */
export * from './progress.js';
export {
  parseMetrics, readMetrics, curveSeries, niceTicks, formatTick, renderCurvesSvg, renderCurvesHtml,
  type MetricRecord, type MetricSplit, type Metric, type Series, type CurvesOptions,
} from './curves.js';
