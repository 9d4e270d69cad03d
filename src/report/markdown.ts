// Markdown tables for reports: per-dataset metric tables (mean ± 95% interval over images, best
// in bold, direction arrows from METRICS) and ablation tables over per-seed means.
import { ALL_METRICS, METRICS, type MetricName } from '../train/evaluate.js';
import { meanInterval, type MeanInterval } from '../train/stats.js';

/** Per-image scores of one method on one dataset. */
export interface MethodEvaluation {
  /** 'LQ input', 'SFT', 'LRPO', 'GRPO', ... */
  readonly method: string;
  /** 'synthetic (held-out)', 'real faces', ... */
  readonly dataset: string;
  /** Per-image scores by metric. */
  readonly scores: Partial<Record<MetricName, ArrayLike<number>>>;
}

/** Decimals per metric in tables: PSNR in dB to 2, everything else to 3. */
export const DEFAULT_DIGITS: Readonly<Record<MetricName, number>> = Object.freeze({
  psnr: 2,
  ssim: 3,
  perceptual: 3,
  identity: 3,
  lmd: 3,
  brisque: 3,
  reward: 3,
});

/** "PSNR (dB) ↑" / "LMD (px) ↓": the metric's label with the direction that is better. */
export const metricHeading = (m: MetricName): string => `${METRICS[m].label} ${METRICS[m].higherIsBetter ? '↑' : '↓'}`;

/** Escapes text for a markdown table cell (pipes, line breaks). */
export const escapeCell = (text: string): string =>
  text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

/** The finite values of `values` (a NaN score means the metric failed on that image). */
function finiteValues(values: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) out.push(values[i]);
  return out;
}

/** A cell's summary: the interval over the finite values, and how many values were dropped. */
interface CellStats {
  readonly interval: MeanInterval;
  readonly dropped: number;
}

function cellStats(values: ArrayLike<number> | undefined): CellStats | undefined {
  if (values === undefined) return undefined;
  const kept = finiteValues(values);
  return { interval: meanInterval(kept), dropped: values.length - kept.length };
}

/** "mean ± half-width", or just the mean when there is no spread to speak of (n < 2), or "—". */
function formatCell(stats: CellStats | undefined, digits: number): string {
  if (!stats || stats.interval.n === 0) return '—';
  const { mean, halfWidth, n } = stats.interval;
  const text = n < 2 ? mean.toFixed(digits) : `${mean.toFixed(digits)} ± ${halfWidth.toFixed(digits)}`;
  return stats.dropped > 0 ? `${text}†` : text;
}

/**
 * Renders a table of rows x metrics where each cell is `stats[row][metric]`, the best mean per
 * column in bold (compared at the printed precision, so printed ties are all bold).
 */
function renderTable(
  rowNames: readonly string[],
  metrics: readonly MetricName[],
  stats: readonly (readonly (CellStats | undefined)[])[],
  digits: Partial<Record<MetricName, number>>,
  extra?: { heading: string; cells: readonly string[] },
): string {
  const digitsOf = (m: MetricName) => printedDigits(digits, m);
  const bold = metrics.map((m, j) => {
    const d = digitsOf(m);
    const rounded = stats.map((row) =>
      row[j] && row[j]!.interval.n > 0 ? Number(row[j]!.interval.mean.toFixed(d)) : NaN,
    );
    const finite = rounded.filter(Number.isFinite);
    if (finite.length < 2) return rounded.map(() => false); // nothing to compare against
    const best = METRICS[m].higherIsBetter ? Math.max(...finite) : Math.min(...finite);
    return rounded.map((v) => v === best);
  });
  const header = ['Method', ...(extra ? [extra.heading] : []), ...metrics.map(metricHeading)];
  const align = [':---', ...(extra ? ['---:'] : []), ...metrics.map(() => '---:')];
  const lines = [`| ${header.map(escapeCell).join(' | ')} |`, `| ${align.join(' | ')} |`];
  rowNames.forEach((name, i) => {
    const cells = metrics.map((m, j) => {
      const text = formatCell(stats[i][j], digitsOf(m));
      return bold[j][i] ? `**${text}**` : text;
    });
    lines.push(`| ${[escapeCell(name), ...(extra ? [extra.cells[i]] : []), ...cells].join(' | ')} |`);
  });
  if (stats.some((row) => row.some((c) => c && c.dropped > 0))) {
    const dropped = stats.flatMap((row) => row.map((c) => c?.dropped ?? 0)).reduce((a, b) => a + b, 0);
    lines.push(
      '',
      `† ${dropped} non-finite score${dropped === 1 ? '' : 's'} left out of the marked cells' statistics.`,
    );
  }
  return lines.join('\n');
}

const methodOf = (row: { readonly method: string }): string => row.method;

/** Decimals a metric is printed with: the caller's override, else the metric's default. */
const printedDigits = (digits: Partial<Record<MetricName, number>>, m: MetricName): number =>
  digits[m] ?? DEFAULT_DIGITS[m];

/** Throws unless every name in `metrics` is a known metric (op names the caller). */
function checkMetrics(op: string, metrics: readonly string[]): void {
  for (const m of metrics)
    if (!(m in METRICS))
      throw new RangeError(`${op}: unknown metric "${m}"; expected one of ${ALL_METRICS.join(', ')}.`);
}

/** The metrics that have at least one score in `evaluations`, in the order of METRICS. */
export function presentMetrics(evaluations: readonly MethodEvaluation[]): MetricName[] {
  return ALL_METRICS.filter((m) => evaluations.some((e) => (e.scores[m]?.length ?? 0) > 0));
}

/** The datasets of `evaluations`, in order of first appearance. */
export const datasetsOf = (evaluations: readonly MethodEvaluation[]): string[] => [
  ...new Set(evaluations.map((e) => e.dataset)),
];

/**
 * One markdown table for `dataset`: rows = methods (in the given order), columns = metrics
 * (default: those present, in the order of METRICS) headed with ↑/↓ for the better direction,
 * cells "mean ± 95% half-width" over images (Student t, see meanInterval), best mean per column
 * in bold. Non-finite per-image scores are left out and the cell marked †.
 */
export function metricsTable(
  evaluations: readonly MethodEvaluation[],
  dataset: string,
  metrics?: readonly MetricName[],
  digits: Partial<Record<MetricName, number>> = {},
): string {
  const rows = evaluations.filter((e) => e.dataset === dataset);
  if (rows.length === 0) {
    throw new RangeError(
      `metricsTable: no evaluations for dataset "${dataset}"; the datasets present are ${JSON.stringify(datasetsOf(evaluations))}.`,
    );
  }
  const cols = metrics ?? presentMetrics(rows);
  checkMetrics('metricsTable', cols);
  const stats = rows.map((e) => cols.map((m) => cellStats(e.scores[m])));
  return renderTable(rows.map(methodOf), cols, stats, digits);
}

/** One row of an ablation: a method and its per-seed mean scores. */
export interface AblationRow {
  readonly method: string;
  readonly perSeed: readonly Partial<Record<MetricName, number>>[];
  /** The seed of each perSeed entry (pairs rows in ablationDeltaTable); default 0, 1, 2, ... */
  readonly seeds?: readonly number[];
}

/**
 * A markdown table for ablations over seeds: rows = methods, a Seeds column, then metrics; cells
 * are mean ± 95% half-width over the per-seed means (so the interval is seed-to-seed variation),
 * best mean per column in bold.
 */
export function ablationTable(
  rows: readonly AblationRow[],
  metrics: readonly MetricName[],
  digits: Partial<Record<MetricName, number>> = {},
): string {
  checkMetrics('ablationTable', metrics);
  const stats = rows.map((r) =>
    metrics.map((m) => cellStats(r.perSeed.flatMap((s) => (s[m] === undefined ? [] : [s[m] as number])))),
  );
  const seeds = rows.map((r) => String(r.perSeed.length));
  return renderTable(rows.map(methodOf), metrics, stats, digits, { heading: 'Seeds', cells: seeds });
}

/** "+0.012" / "-0.340" / "0.000": a signed number at `digits` decimals (no sign where it rounds to 0). */
function signed(v: number, digits: number): string {
  const rounded = Number(v.toFixed(digits));
  return rounded === 0 ? (0).toFixed(digits) : `${rounded > 0 ? '+' : ''}${v.toFixed(digits)}`;
}

/**
 * A markdown table of paired differences against the `baseline` row: for each other method and
 * metric, the per-seed differences (method - baseline, matched by seed: both were scored with
 * that seed's sampling noise on the same images) summarised as mean ± 95% half-width over seeds.
 * A cell is bold where the interval excludes 0 (and the mean is not 0 at the printed precision),
 * i.e. the method moved the metric beyond the seed-to-seed spread (the header's arrow says which sign is better). Seeds missing from either
 * row are left out of that cell.
 */
export function ablationDeltaTable(
  rows: readonly AblationRow[],
  baseline: string,
  metrics: readonly MetricName[],
  digits: Partial<Record<MetricName, number>> = {},
): string {
  checkMetrics('ablationDeltaTable', metrics);
  const base = rows.find((r) => r.method === baseline);
  if (!base)
    throw new RangeError(
      `ablationDeltaTable: no row "${baseline}" to compare with; the rows are ${JSON.stringify(rows.map((r) => r.method))}.`,
    );
  const bySeed = (r: AblationRow) => new Map(r.perSeed.map((s, i) => [r.seeds?.[i] ?? i, s] as const));
  const baseBySeed = bySeed(base);
  const others = rows.filter((r) => r !== base);
  const header = [`Method − ${baseline}`, 'Seeds', ...metrics.map(metricHeading)];
  const lines = [
    `| ${header.map(escapeCell).join(' | ')} |`,
    `| ${[':---', ...header.slice(1).map(() => '---:')].join(' | ')} |`,
  ];
  for (const row of others) {
    const pairs = [...bySeed(row)].flatMap(([seed, s]) =>
      baseBySeed.has(seed) ? [[s, baseBySeed.get(seed)!] as const] : [],
    );
    const cells = metrics.map((m) => {
      const d = printedDigits(digits, m);
      const diffs = pairs.flatMap(([s, b]) =>
        Number.isFinite(s[m]) && Number.isFinite(b[m]) ? [(s[m] as number) - (b[m] as number)] : [],
      );
      if (diffs.length === 0) return '—';
      const { mean, halfWidth, n } = meanInterval(diffs);
      if (n < 2) return signed(mean, d);
      const text = `${signed(mean, d)} ± ${halfWidth.toFixed(d)}`;
      // Beyond the spread, and visibly so at the printed precision.
      return Math.abs(mean) > halfWidth && Number(mean.toFixed(d)) !== 0 ? `**${text}**` : text;
    });
    lines.push(`| ${[escapeCell(row.method), String(pairs.length), ...cells].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** A two-column markdown table of facts (e.g. the run's setup). */
export function factsTable(
  rows: readonly (readonly [string, string])[],
  headings: readonly [string, string] = ['Setting', 'Value'],
): string {
  return [
    `| ${headings.map(escapeCell).join(' | ')} |`,
    '| :--- | :--- |',
    ...rows.map(([k, v]) => `| ${escapeCell(k)} | ${escapeCell(v)} |`),
  ].join('\n');
}
