// writeReport: one folder per experiment holding report.md (setup, metric tables, findings) and
// the figures it links: the reward curve, the perception/fidelity trade-off and a sample grid.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeImageGrid } from '../io/grid.js';
import { FONT_ADVANCE } from '../io/font.js';
import { tensor, upsampleNearest2d } from '../index.js';
import type { Tensor } from '../index.js';
import { METRICS, type MetricName } from '../train/evaluate.js';
import { meanInterval } from '../train/stats.js';
import { datasetsOf, escapeCell, factsTable, metricsTable, presentMetrics, type MethodEvaluation } from './markdown.js';
import { lineChartSvg, scatterSvg, type CurvePoint, type ScatterPoint } from './svg-plot.js';

export interface ReportData {
  readonly title: string;
  /** A paragraph of findings (markdown), written by the caller. */
  readonly summary?: string;
  /** Facts table rows: ['Backend', 'webgpu (llvmpipe)'], ... */
  readonly setup: readonly (readonly [string, string])[];
  readonly evaluations: readonly MethodEvaluation[];
  readonly rewardCurves: readonly { readonly method: string; readonly points: readonly CurvePoint[] }[];
  /** The perception/fidelity plot: x = a fidelity metric, y = a perception metric, one point per (method, dataset). */
  readonly tradeoff?: {
    readonly x: MetricName;
    readonly y: MetricName;
    /** The method arrows start from (default 'SFT'). */
    readonly arrowsFrom?: string;
    /** The methods arrows point to (default: every other method whose name does not start with 'LQ' or 'GT', i.e. not an input or reference). */
    readonly arrowsTo?: readonly string[];
  };
  /** Image grid: each row one image, columns labelled (e.g. LQ | SFT | LRPO | GT), images [3, S, S] float32 in [0,1] CHW. */
  readonly grid?: {
    readonly columns: readonly string[];
    readonly rows: readonly (readonly Float32Array[])[];
    readonly size: number;
  };
  /** Extra markdown sections appended verbatim (e.g. an ablation table). */
  readonly sections?: readonly { readonly heading: string; readonly body: string }[];
  /** Decimals per metric in the tables (default: PSNR 2, others 3). */
  readonly digits?: Partial<Record<MetricName, number>>;
}

/** File names inside the report folder; report.md links them relatively. */
export const REPORT_FILES = {
  markdown: 'report.md',
  reward: 'reward.svg',
  tradeoff: 'tradeoff.svg',
  grid: 'grid.png',
} as const;

const hasFinitePoint = (curves: ReportData['rewardCurves']) =>
  curves.some((c) => c.points.some((p) => Number.isFinite(p.step) && Number.isFinite(p.mean)));

/** "N images" or "N–M images" over every (method, metric) cell of a dataset. */
function imageCountPhrase(rows: readonly MethodEvaluation[]): string {
  const counts = rows
    .flatMap((e) => Object.values(e.scores).map((v) => (v as ArrayLike<number>).length))
    .filter((n) => n > 0);
  if (counts.length === 0) return 'no images';
  const [lo, hi] = [Math.min(...counts), Math.max(...counts)];
  return lo === hi ? `${lo} image${lo === 1 ? '' : 's'}` : `${lo}–${hi} images`;
}

/** Where the better corner of a plot is, from each axis's direction: "upper-right". */
export function betterCorner(x: MetricName, y: MetricName): string {
  return `${METRICS[y].higherIsBetter ? 'upper' : 'lower'}-${METRICS[x].higherIsBetter ? 'right' : 'left'}`;
}

const axisLabel = (m: MetricName) => `${METRICS[m].label}, ${METRICS[m].higherIsBetter ? 'higher' : 'lower'} is better`;

/** The scatter points (mean ± 95% half-width per axis) and SFT arrows of the trade-off plot. */
export function tradeoffPoints(
  evaluations: readonly MethodEvaluation[],
  tradeoff: NonNullable<ReportData['tradeoff']>,
): { points: ScatterPoint[]; arrows: { from: string; to: string }[] } {
  const summary = (v: ArrayLike<number> | undefined) => meanInterval(v ? Array.from(v).filter(Number.isFinite) : []);
  const points = evaluations.map((e) => {
    const [x, y] = [summary(e.scores[tradeoff.x]), summary(e.scores[tradeoff.y])];
    return { label: e.method, group: e.dataset, x: x.mean, y: y.mean, xErr: x.halfWidth, yErr: y.halfWidth };
  });
  const from = tradeoff.arrowsFrom ?? 'SFT';
  const isTarget = (m: string) => (tradeoff.arrowsTo ? tradeoff.arrowsTo.includes(m) : !/^(LQ|GT)\b/i.test(m));
  // Only methods that share a dataset with the source, so no arrow ever joins two datasets.
  const sourceDatasets = new Set(evaluations.filter((e) => e.method === from).map((e) => e.dataset));
  const targets = [
    ...new Set(
      evaluations
        .filter((e) => e.method !== from && sourceDatasets.has(e.dataset) && isTarget(e.method))
        .map((e) => e.method),
    ),
  ];
  return { points, arrows: targets.map((to) => ({ from, to })) };
}

/** Stacks each grid row's images into a [C, 3, S, S] tensor (one tensor per row). */
function gridRowTensors(grid: NonNullable<ReportData['grid']>): Tensor[] {
  const op = 'writeReport';
  const { columns, rows, size } = grid;
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`${op}: grid.size must be a positive integer (pixels per side), got ${size}.`);
  const plane = 3 * size * size;
  rows.forEach((row, r) => {
    if (row.length !== columns.length)
      throw new RangeError(
        `${op}: grid.rows[${r}] has ${row.length} images but there are ${columns.length} columns (${columns.join(' | ')}); give one image per column.`,
      );
    row.forEach((img, c) => {
      if (img.length !== plane)
        throw new RangeError(
          `${op}: grid.rows[${r}][${c}] ("${columns[c]}") has ${img.length} values; a [3, ${size}, ${size}] image has ${plane}.`,
        );
    });
  });
  const out: Tensor[] = [];
  try {
    for (const row of rows) {
      const data = new Float32Array(row.length * plane);
      row.forEach((img, c) => data.set(img, c * plane));
      out.push(tensor(data, { shape: [row.length, 3, size, size], dtype: 'float32' }));
    }
  } catch (e) {
    out.forEach((t) => t.dispose());
    throw e;
  }
  return out;
}

/**
 * The column names spaced so each starts above its column in writeImageGrid's bitmap font
 * (cells `size` px wide, `pad` px apart, glyphs FONT_ADVANCE * scale px apart), each cut to its
 * cell's width.
 */
export function alignedColumnLabel(columns: readonly string[], size: number, pad: number, scale: number): string {
  const advance = FONT_ADVANCE * scale;
  const fits = Math.max(1, Math.floor((size + scale) / advance));
  let text = '';
  columns.forEach((name, c) => {
    const start = Math.ceil((c * (size + pad)) / advance);
    if (c > 0) text = text.padEnd(Math.max(start, text.length + 1), ' ');
    text += name.slice(0, fits);
  });
  return text;
}

async function writeGrid(path: string, grid: NonNullable<ReportData['grid']>): Promise<void> {
  const pad = 2;
  // Small faces (the demo's 32 px) are enlarged with nearest-neighbour pixels, so they stay honest.
  const zoom = Math.max(1, Math.ceil(96 / grid.size));
  const shown = grid.size * zoom;
  const scale = shown < 96 ? 1 : 2;
  const rows = gridRowTensors(grid).map((t) => {
    if (zoom === 1) return t;
    const big = upsampleNearest2d(t, { scale: zoom });
    t.dispose();
    return big;
  });
  try {
    // writeImageGrid labels rows, not columns: the first row's label is the column header, aligned.
    const labels = rows.map((_, r) => (r === 0 ? alignedColumnLabel(grid.columns, shown, pad, scale) : ''));
    await writeImageGrid(path, rows, { labels, padding: pad, labelScale: scale });
  } finally {
    rows.forEach((t) => t.dispose());
  }
}

/**
 * Writes report.md, reward.svg, tradeoff.svg and grid.png (those that have data) into `dir`
 * (created if missing) and returns the paths written. report.md: title, summary, setup table,
 * one metric table per dataset, the figures with a line on how to read each, then `sections`.
 * The grid needs a started backend (e.g. `await setBackend('cpu')`).
 */
export async function writeReport(dir: string, data: ReportData): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const md: string[] = [`# ${data.title}`, ''];
  if (data.summary) md.push(data.summary.trim(), '');
  if (data.setup.length) md.push('## Setup', '', factsTable(data.setup), '');

  if (data.evaluations.length) {
    md.push('## Results', '');
    for (const dataset of datasetsOf(data.evaluations)) {
      const rows = data.evaluations.filter((e) => e.dataset === dataset);
      md.push(`### ${dataset}`, '');
      if (presentMetrics(rows).length === 0) {
        md.push('No scores.', '');
        continue;
      }
      md.push(
        `Mean ± 95% confidence half-width (Student t) over ${imageCountPhrase(rows)}; ↑ higher is better, ↓ lower is better; best mean per column in bold.`,
        '',
      );
      md.push(metricsTable(data.evaluations, dataset, undefined, data.digits), '');
    }
  }

  if (hasFinitePoint(data.rewardCurves)) {
    const path = join(dir, REPORT_FILES.reward);
    const banded = data.rewardCurves.some((c) => c.points.some((p) => p.std !== undefined && Number.isFinite(p.std)));
    const svg = lineChartSvg({
      title: 'Reward during training',
      xLabel: 'Training step',
      yLabel: 'Reward (higher is better)',
      series: data.rewardCurves.map((c) => ({ name: c.method, points: c.points })),
      ...(banded ? { note: 'Line: mean reward per step; shaded band: mean ± 1 s.d.' } : {}),
    });
    await writeFile(path, svg);
    written.push(path);
    md.push('## Reward during training', '', `![reward](${REPORT_FILES.reward})`, '');
    md.push(
      `*Mean reward per training step, one line per method${banded ? ', shaded band ± 1 s.d.' : ''}; a line that rises is learning (higher is better).*`,
      '',
    );
  }

  if (data.tradeoff) {
    const { x, y } = data.tradeoff;
    const { points, arrows } = tradeoffPoints(data.evaluations, data.tradeoff);
    if (points.some((p) => Number.isFinite(p.x) && Number.isFinite(p.y))) {
      const path = join(dir, REPORT_FILES.tradeoff);
      const corner = betterCorner(x, y);
      const from = data.tradeoff.arrowsFrom ?? 'SFT';
      const svg = scatterSvg({
        title: `${METRICS[y].label} vs ${METRICS[x].label}`,
        xLabel: axisLabel(x),
        yLabel: axisLabel(y),
        points,
        arrows,
        note:
          `Better toward the ${corner}. Bars: 95% intervals of the ` +
          `mean.${arrows.length ? ` Arrows: from ${from} to each method on the same dataset.` : ''}`,
      });
      await writeFile(path, svg);
      written.push(path);
      md.push('## Perception–fidelity trade-off', '', `![tradeoff](${REPORT_FILES.tradeoff})`, '');
      md.push(
        `*One point per method and dataset at its mean ${METRICS[x].label} (x) ` +
          `and ${METRICS[y].label} (y), bars the 95% intervals; the ${corner} is ` +
          `better${arrows.length ? `; arrows lead from ${escapeCell(from)} to the methods trained from it` : ''}.*`,
        '',
      );
    }
  }

  if (data.grid && data.grid.rows.length > 0) {
    const path = join(dir, REPORT_FILES.grid);
    await writeGrid(path, data.grid);
    written.push(path);
    const n = data.grid.rows.length;
    md.push('## Samples', '', `![grid](${REPORT_FILES.grid})`, '');
    md.push(
      `*Columns, left to right: ${data.grid.columns.map(escapeCell).join(' | ')}; one image per row (${n} row${n === 1 ? '' : 's'}).*`,
      '',
    );
  }

  for (const s of data.sections ?? []) md.push(`## ${s.heading}`, '', s.body.trim(), '');

  const mdPath = join(dir, REPORT_FILES.markdown);
  await writeFile(mdPath, md.join('\n'));
  return [mdPath, ...written];
}
