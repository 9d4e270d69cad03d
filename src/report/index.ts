// Report writing: markdown tables, hand-written SVG charts, and writeReport, which puts them
// together with an image grid into one folder per experiment.
export {
  writeReport,
  tradeoffPoints,
  betterCorner,
  alignedColumnLabel,
  REPORT_FILES,
  type ReportData,
} from './report.js';
export {
  metricsTable,
  ablationTable,
  ablationDeltaTable,
  factsTable,
  metricHeading,
  presentMetrics,
  datasetsOf,
  escapeCell,
  DEFAULT_DIGITS,
  type MethodEvaluation,
  type AblationRow,
} from './markdown.js';
export {
  lineChartSvg,
  scatterSvg,
  niceTicks,
  formatTick,
  escapeXml,
  PALETTE,
  type CurvePoint,
  type Ticks,
  type LineChartOptions,
  type ScatterOptions,
  type ScatterPoint,
} from './svg-plot.js';
