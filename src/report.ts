// The `webgpu-lrpo/report` entry: report.md with its figures, markdown metric and ablation tables
// with 95% intervals, and the SVG charts they use.
export { writeReport, tradeoffPoints, REPORT_FILES, type ReportData } from './report/report.js';
export {
  metricsTable,
  ablationTable,
  ablationDeltaTable,
  factsTable,
  type MethodEvaluation,
  type AblationRow,
} from './report/markdown.js';
export {
  lineChartSvg,
  scatterSvg,
  type CurvePoint,
  type LineChartOptions,
  type ScatterOptions,
  type ScatterPoint,
} from './report/svg-plot.js';
