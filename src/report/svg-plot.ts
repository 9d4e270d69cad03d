// svg-plot: a tiny dependency-free SVG chart kit for reports (line charts with a shaded band,
// labelled scatter plots with error bars and arrows), emitting standalone, escaped XML that reads
// well at 640 x 400 and survives NaNs, empty series and degenerate ranges.

/** One point of a training curve: the mean at `step` and optionally its spread (drawn as mean ± std). */
export interface CurvePoint {
  readonly step: number;
  readonly mean: number;
  readonly std?: number;
}

/**
 * The Okabe & Ito (2008) colour-blind-safe palette, yellow last (weak on white). Series also
 * differ by dash pattern and groups by marker shape, so charts survive greyscale printing.
 */
export const PALETTE = [
  '#0072B2',
  '#D55E00',
  '#009E73',
  '#CC79A7',
  '#E69F00',
  '#56B4E9',
  '#000000',
  '#F0E442',
] as const;
const DASHES = ['', '7 4', '2 3', '9 3 2 3'] as const;
type MarkerShape = 'circle' | 'square' | 'triangle' | 'diamond' | 'triangle-down';
const SHAPES: readonly MarkerShape[] = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'];

const FONT = 12;
/** Average glyph advance of a 12 px sans-serif, for layout (SVG has no text measurement). */
const CHAR_W = 7;
/** Legend names are cut so the legend takes at most about 35% of the chart's width. */
const legendMaxChars = (width: number): number => Math.max(8, Math.min(26, Math.floor((width * 0.35 - 58) / CHAR_W)));

/** Escapes text for XML content and attribute values, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

/** Axis ticks: round values from `lo` to `hi` (inclusive) every `step`. */
export interface Ticks {
  readonly lo: number;
  readonly hi: number;
  readonly step: number;
  readonly values: readonly number[];
}

/** 1, 2, 5 or 10 times a power of ten near `x` (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990). */
function niceNumber(x: number, round: boolean): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  const nf = round ? (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) : f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/**
 * About `target` evenly spaced round ticks whose span covers [min, max]. A degenerate range
 * (min == max) is padded by 10% of |min| (or 1 around zero) so a lone value sits mid-axis.
 */
export function niceTicks(min: number, max: number, target = 5): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max))
    throw new RangeError(`niceTicks: min and max must be finite, got ${min} and ${max}.`);
  if (min > max) [min, max] = [max, min];
  // Degenerate: equal, or equal up to rounding (relative to the values, or subnormally close to 0).
  if (max - min <= Math.max(Math.abs(min), Math.abs(max), 1e-300) * 1e-9) {
    const pad = Math.abs(min) > 1e-290 ? Math.abs(min) * 0.1 : 1;
    min -= pad;
    max += pad;
  }
  const step = niceNumber((max - min) / Math.max(1, target - 1), true);
  if (!(step > 0 && Number.isFinite(step)))
    throw new RangeError(
      `niceTicks: cannot place ticks on [${min}, ${max}]; the span must be a finite positive number.`,
    );
  let first = Math.floor(min / step);
  let last = Math.ceil(max / step);
  if (first * step > min) first--; // floating-point slack: the ticks must cover the data
  if (last * step < max) last++;
  const values = Array.from({ length: last - first + 1 }, (_, i) => (first + i) * step);
  return { lo: values[0], hi: values[values.length - 1], step, values };
}

/** Significant digits after the first that `step` needs: 0.25 -> 1, 200 -> 0, 1.5e-9 -> 1. */
function mantissaDecimals(step: number): number {
  const mantissa = step / 10 ** Math.floor(Math.log10(step));
  let d = 0;
  while (d < 6 && Math.abs(Number(mantissa.toFixed(d)) - mantissa) > mantissa * 1e-6) d++;
  return d;
}

/** The fewest decimals that print `step` exactly (0.25 -> 2, 200 -> 0, 1e-12 -> 12; at most 20). */
const decimalsOf = (step: number): number =>
  Math.min(20, Math.max(0, mantissaDecimals(step) - Math.floor(Math.log10(step))));

/** A tick value printed with as many digits as its step needs ("0.25", "1500", "2.5e+9", never "-0"). */
export function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-9) value = 0;
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e7 || abs < 1e-6)) {
    // Enough mantissa digits to resolve `step` at this value's magnitude.
    const digits = mantissaDecimals(step) + Math.floor(Math.log10(abs)) - Math.floor(Math.log10(step));
    return value.toExponential(Math.min(20, Math.max(0, digits)));
  }
  return value.toFixed(decimalsOf(step));
}

/** Coordinates are written to 2 decimals: plenty for a 640 px chart, and files stay small. */
const n2 = (v: number): string => String(Math.round(v * 100) / 100);
const clip = (text: string, maxChars: number): string =>
  text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;

/** Notes word-wrapped to the chart's width (11 px text, about 6 px per glyph), at most 6 lines. */
function wrapNotes(notes: readonly string[], width: number): string[] {
  const maxChars = Math.max(20, Math.floor((width - 28) / 6));
  const lines: string[] = [];
  for (const note of notes) {
    let line = '';
    for (const word of note.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > maxChars) {
        lines.push(line);
        line = '';
      }
      line = line ? `${line} ${word}` : clip(word, maxChars);
    }
    if (line) lines.push(line);
  }
  return lines.length > 6 ? [...lines.slice(0, 5), clip(`${lines[5]} …`, maxChars)] : lines;
}

interface Frame {
  readonly width: number;
  readonly height: number;
  /** Plot area in pixels. */
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly x: Ticks;
  readonly y: Ticks;
  readonly sx: (v: number) => number;
  readonly sy: (v: number) => number;
}

interface LegendEntry {
  readonly name: string;
  readonly color: string;
  /** A line swatch (with dash) for series, a marker for scatter groups. */
  readonly swatch:
    | { readonly kind: 'line'; readonly dash: string; readonly band: boolean }
    | { readonly kind: 'marker'; readonly shape: MarkerShape };
}

/** The caller's title, axis labels and size, as a ChartSpec starts. */
const chartText = (op: string, o: { title: string; xLabel: string; yLabel: string; width?: number; height?: number }) =>
  ({ op, title: o.title, xLabel: o.xLabel, yLabel: o.yLabel, width: o.width, height: o.height }) as const;

interface ChartSpec {
  readonly op: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly legend: readonly LegendEntry[];
  readonly notes: readonly string[];
  /** Finite data extents, or undefined when nothing is drawable. */
  readonly xRange?: readonly [number, number];
  readonly yRange?: readonly [number, number];
  /** Fraction of the data span added on each side before choosing ticks. */
  readonly xPad: number;
  readonly yPad: number;
}

function checkSize(op: string, name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 200 || v > 10_000)
    throw new RangeError(`${op}: ${name} must be a number of pixels in [200, 10000], got ${value}.`);
  return v;
}

function padRange([lo, hi]: readonly [number, number], frac: number): [number, number] {
  const pad = (hi - lo) * frac;
  return [lo - pad, hi + pad];
}

/** Margins sized to the tick labels, legend and notes, then the scales from data to pixels. */
function frame(spec: ChartSpec): Frame {
  const width = checkSize(spec.op, 'width', spec.width, 640);
  const height = checkSize(spec.op, 'height', spec.height, 400);
  const axis = (range: readonly [number, number] | undefined, pad: number) =>
    range ? niceTicks(...padRange(range, pad)) : niceTicks(0, 1);
  const x = axis(spec.xRange, spec.xPad);
  const y = axis(spec.yRange, spec.yPad);
  const yTickChars = Math.max(...y.values.map((v) => formatTick(v, y.step).length));
  const legendChars = Math.max(0, ...spec.legend.map((e) => clip(e.name, legendMaxChars(width)).length));
  const left = 34 + yTickChars * CHAR_W;
  const right = width - (spec.legend.length ? 58 + legendChars * CHAR_W : 20);
  const top = spec.title ? 40 : 16;
  const bottom = height - 46 - wrapNotes(spec.notes, width).length * 14;
  const sx = (v: number) => left + ((v - x.lo) / (x.hi - x.lo)) * (right - left);
  const sy = (v: number) => bottom - ((v - y.lo) / (y.hi - y.lo)) * (bottom - top);
  return { width, height, left, right, top, bottom, x, y, sx, sy };
}

function axesSvg(f: Frame, spec: ChartSpec): string[] {
  const out: string[] = [];
  out.push(`<g class="grid" stroke="#e4e4e4" stroke-width="1">`);
  for (const v of f.y.values)
    out.push(`<line x1="${n2(f.left)}" y1="${n2(f.sy(v))}" x2="${n2(f.right)}" y2="${n2(f.sy(v))}"/>`);
  for (const v of f.x.values)
    out.push(`<line x1="${n2(f.sx(v))}" y1="${n2(f.top)}" x2="${n2(f.sx(v))}" y2="${n2(f.bottom)}"/>`);
  out.push(`</g>`);
  out.push(
    `<rect x="${n2(f.left)}" y="${n2(f.top)}" width="${n2(f.right - f.left)}" height="${n2(f.bottom - f.top)}" fill="none" stroke="#333" stroke-width="1"/>`,
  );
  out.push(`<g class="x-ticks" fill="#333" text-anchor="middle">`);
  for (const v of f.x.values) {
    out.push(
      `<line x1="${n2(f.sx(v))}" y1="${n2(f.bottom)}" x2="${n2(f.sx(v))}" y2="${n2(f.bottom + 4)}" stroke="#333"/>`,
    );
    out.push(`<text x="${n2(f.sx(v))}" y="${n2(f.bottom + 17)}">${escapeXml(formatTick(v, f.x.step))}</text>`);
  }
  out.push(`</g>`);
  out.push(`<g class="y-ticks" fill="#333" text-anchor="end">`);
  for (const v of f.y.values) {
    out.push(`<line x1="${n2(f.left - 4)}" y1="${n2(f.sy(v))}" x2="${n2(f.left)}" y2="${n2(f.sy(v))}" stroke="#333"/>`);
    out.push(`<text x="${n2(f.left - 7)}" y="${n2(f.sy(v) + 4)}">${escapeXml(formatTick(v, f.y.step))}</text>`);
  }
  out.push(`</g>`);
  const midX = (f.left + f.right) / 2;
  const midY = (f.top + f.bottom) / 2;
  out.push(
    `<text class="x-label" x="${n2(midX)}" y="${n2(f.bottom + 36)}" text-anchor="middle" fill="#111">${escapeXml(spec.xLabel)}</text>`,
  );
  out.push(
    `<text class="y-label" x="14" y="${n2(midY)}" text-anchor="middle" fill="#111" transform="rotate(-90 14 ${n2(midY)})">${escapeXml(spec.yLabel)}</text>`,
  );
  return out;
}

function markerSvg(shape: MarkerShape, cx: number, cy: number, r: number, color: string): string {
  const fill = `fill="${color}" stroke="#fff" stroke-width="1"`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${n2(cx)}" cy="${n2(cy)}" r="${n2(r)}" ${fill}/>`;
    case 'square':
      return `<rect x="${n2(cx - r * 0.9)}" y="${n2(cy - r * 0.9)}" width="${n2(r * 1.8)}" height="${n2(r * 1.8)}" ${fill}/>`;
    case 'triangle':
      return `<path d="M${n2(cx)},${n2(cy - r * 1.15)} L${n2(cx + r)},${n2(cy + r * 0.75)} L${n2(cx - r)},${n2(cy + r * 0.75)} Z" ${fill}/>`;
    case 'triangle-down':
      return `<path d="M${n2(cx)},${n2(cy + r * 1.15)} L${n2(cx + r)},${n2(cy - r * 0.75)} L${n2(cx - r)},${n2(cy - r * 0.75)} Z" ${fill}/>`;
    case 'diamond':
      return `<path d="M${n2(cx)},${n2(cy - r * 1.2)} L${n2(cx + r * 1.2)},${n2(cy)} L${n2(cx)},${n2(cy + r * 1.2)} L${n2(cx - r * 1.2)},${n2(cy)} Z" ${fill}/>`;
  }
}

function legendSvg(f: Frame, entries: readonly LegendEntry[]): string[] {
  if (entries.length === 0) return [];
  const x = f.right + 14;
  const rowH = 18;
  const fits = Math.max(1, Math.floor((f.bottom - f.top) / rowH));
  const shown = entries.length > fits ? entries.slice(0, fits - 1) : entries;
  const out = [`<g class="legend" fill="#111">`];
  shown.forEach((e, i) => {
    const y = f.top + 10 + i * rowH;
    if (e.swatch.kind === 'line') {
      if (e.swatch.band)
        out.push(`<rect x="${n2(x)}" y="${n2(y - 5)}" width="20" height="10" fill="${e.color}" fill-opacity="0.18"/>`);
      out.push(
        `<line x1="${n2(x)}" y1="${n2(y)}" x2="${n2(x + 20)}" y2="${n2(y)}" stroke="${e.color}" ` +
          `stroke-width="2.2"${e.swatch.dash ? ` stroke-dasharray="${e.swatch.dash}"` : ''}/>`,
      );
    } else {
      out.push(markerSvg(e.swatch.shape, x + 10, y, 5, e.color));
    }
    out.push(`<text x="${n2(x + 26)}" y="${n2(y + 4)}">${escapeXml(clip(e.name, legendMaxChars(f.width)))}</text>`);
  });
  if (shown.length < entries.length)
    out.push(
      `<text x="${n2(x)}" y="${n2(f.top + 14 + shown.length * rowH)}" fill="#555">+${entries.length - shown.length} more</text>`,
    );
  out.push(`</g>`);
  return out;
}

/** Wraps chart body in a standalone SVG document with title, axes, legend and notes. */
function documentSvg(f: Frame, spec: ChartSpec, body: readonly string[], defs = ''): string {
  const notes = wrapNotes(spec.notes, f.width).map(
    (line, i) =>
      `<text class="note" x="14" y="${n2(f.bottom + 54 + i * 14)}" font-size="11" fill="#555">${escapeXml(line)}</text>`,
  );
  const empty = spec.xRange === undefined || spec.yRange === undefined;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" ` +
      `font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    `<title>${escapeXml(spec.title)}</title>`,
    defs,
    `<rect width="${f.width}" height="${f.height}" fill="#fff"/>`,
    spec.title
      ? `<text class="title" x="${n2(f.width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="bold" fill="#111">${escapeXml(spec.title)}</text>`
      : '',
    ...axesSvg(f, spec),
    ...body,
    empty
      ? `<text x="${n2((f.left + f.right) / 2)}" y="${n2((f.top + f.bottom) / 2)}" text-anchor="middle" font-size="14" fill="#777">no data to plot</text>`
      : '',
    ...legendSvg(f, spec.legend),
    ...notes,
    `</svg>`,
    '',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/** Min and max of the finite values, or undefined if there are none. */
function extent(values: Iterable<number>): [number, number] | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

/** Maximal runs of consecutive elements satisfying `ok`. */
function runs<T>(items: readonly T[], ok: (item: T) => boolean): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  for (const item of items) {
    if (ok(item)) cur.push(item);
    else if (cur.length) {
      out.push(cur);
      cur = [];
    }
  }
  if (cur.length) out.push(cur);
  return out;
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly { readonly name: string; readonly points: readonly CurvePoint[] }[];
  readonly width?: number;
  readonly height?: number;
  /** Extra line under the chart (e.g. what the band means). */
  readonly note?: string;
}

/**
 * A line chart of one or more curves; where points carry `std`, a shaded band of mean ± std.
 * Points are drawn in step order; non-finite points break the line and are counted in a note.
 */
export function lineChartSvg(opts: LineChartOptions): string {
  const op = 'lineChartSvg';
  const series = opts.series.map((s, i) => {
    const points = [...s.points].filter((p) => Number.isFinite(p.step)).sort((a, b) => a.step - b.step);
    const good = (p: CurvePoint) => Number.isFinite(p.mean);
    const banded = (p: CurvePoint) => good(p) && p.std !== undefined && Number.isFinite(p.std);
    return {
      name: s.name,
      color: PALETTE[i % PALETTE.length],
      dash: DASHES[(i + Math.floor(i / PALETTE.length)) % DASHES.length], // a repeated colour gets another dash
      lines: runs(points, good),
      bands: runs(points, banded),
      skipped: s.points.length - points.filter(good).length,
      total: s.points.length,
    };
  });
  const drawn = series.flatMap((s) => s.lines.flat());
  const banded = series.flatMap((s) => s.bands.flat());
  const xRange = extent(drawn.map((p) => p.step));
  const yRange = extent([
    ...drawn.map((p) => p.mean),
    ...banded.flatMap((p) => [p.mean - (p.std ?? 0), p.mean + (p.std ?? 0)]),
  ]);
  const notes = [
    ...series.filter((s) => s.total === 0).map((s) => `"${s.name}": no points.`),
    ...series
      .filter((s) => s.total > 0 && s.skipped === s.total)
      .map((s) => `"${s.name}": all ${s.total} points non-finite, not drawn.`),
    ...series
      .filter((s) => s.skipped > 0 && s.skipped < s.total)
      .map((s) => `"${s.name}": ${s.skipped} of ${s.total} points non-finite, skipped (gaps in the line).`),
    ...(opts.note ? [opts.note] : []),
  ];
  const spec: ChartSpec = {
    ...chartText(op, opts),
    legend: series.map((s) => ({
      name: s.name,
      color: s.color,
      swatch: { kind: 'line', dash: s.dash, band: s.bands.length > 0 },
    })),
    notes,
    xRange,
    yRange,
    xPad: 0,
    yPad: 0.05,
  };
  const f = frame(spec);
  const body: string[] = [];
  for (const s of series) {
    body.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    for (const band of s.bands) {
      const upper = band.map((p) => `${n2(f.sx(p.step))},${n2(f.sy(p.mean + (p.std as number)))}`);
      const lower = band.map((p) => `${n2(f.sx(p.step))},${n2(f.sy(p.mean - (p.std as number)))}`).reverse();
      body.push(
        `<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${s.color}" fill-opacity="0.18" stroke="none"/>`,
      );
    }
    for (const line of s.lines) {
      const pts = line.map((p) => `${n2(f.sx(p.step))},${n2(f.sy(p.mean))}`).join(' ');
      body.push(
        `<polyline class="line" points="${pts}" fill="none" stroke="${s.color}" stroke-width="2.2" ` +
          `stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      );
      // Isolated points would be invisible as a one-vertex polyline; short curves get markers.
      if (line.length === 1 || drawn.length <= 40)
        for (const p of line)
          body.push(`<circle cx="${n2(f.sx(p.step))}" cy="${n2(f.sy(p.mean))}" r="2.8" fill="${s.color}"/>`);
    }
    body.push(`</g>`);
  }
  return documentSvg(f, spec, body);
}

export interface ScatterPoint {
  /** Text beside the point; also what arrows refer to. */
  readonly label: string;
  /** Points of a group share a colour and marker shape and one legend entry. */
  readonly group: string;
  readonly x: number;
  readonly y: number;
  /** Half-lengths of the error bars (e.g. 95% interval half-widths). */
  readonly xErr?: number;
  readonly yErr?: number;
}

export interface ScatterOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly points: readonly ScatterPoint[];
  /**
   * Arrows between points by label. Labels are matched within a group (an arrow is drawn in every
   * group holding both labels); if no group holds both and each label is unique, the two points
   * are joined across groups.
   */
  readonly arrows?: readonly { readonly from: string; readonly to: string }[];
  readonly width?: number;
  readonly height?: number;
  /** Extra line under the chart (e.g. which corner is better). */
  readonly note?: string;
}

interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}
const overlap = (a: Box, b: Box): number =>
  Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));

/** Candidate label positions around a point: right-above first, then the other corners, then above/below. */
const LABEL_SPOTS = [
  { dx: 8, dy: -7, anchor: 'start' },
  { dx: 8, dy: 15, anchor: 'start' },
  { dx: -8, dy: -7, anchor: 'end' },
  { dx: -8, dy: 15, anchor: 'end' },
  { dx: 0, dy: -12, anchor: 'middle' },
  { dx: 0, dy: 22, anchor: 'middle' },
] as const;

/**
 * A scatter plot of labelled points coloured and shaped by group, with optional error bars and
 * arrows between points (e.g. from a baseline to the methods that improve on it). Points with a
 * non-finite x or y are skipped and listed in a note.
 */
export function scatterSvg(opts: ScatterOptions): string {
  const op = 'scatterSvg';
  const groups = [...new Set(opts.points.map((p) => p.group))];
  const style = new Map(
    groups.map((g, i) => [g, { color: PALETTE[i % PALETTE.length], shape: SHAPES[i % SHAPES.length] }]),
  );
  const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? Math.abs(v) : 0);
  const points = opts.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const skipped = opts.points.filter((p) => !points.includes(p));
  const xRange = extent(points.flatMap((p) => [p.x - finite(p.xErr), p.x + finite(p.xErr)]));
  const yRange = extent(points.flatMap((p) => [p.y - finite(p.yErr), p.y + finite(p.yErr)]));

  const arrowPairs: [ScatterPoint, ScatterPoint][] = [];
  const missingArrows: string[] = [];
  for (const a of opts.arrows ?? []) {
    const froms = points.filter((p) => p.label === a.from);
    const tos = points.filter((p) => p.label === a.to);
    const same = froms.flatMap((p) =>
      tos.filter((q) => q.group === p.group && q !== p).map((q) => [p, q] as [ScatterPoint, ScatterPoint]),
    );
    if (same.length) arrowPairs.push(...same);
    else if (froms.length === 1 && tos.length === 1 && froms[0] !== tos[0]) arrowPairs.push([froms[0], tos[0]]);
    else missingArrows.push(`${a.from} → ${a.to}`);
  }

  const notes = [
    ...(skipped.length
      ? [`Skipped (non-finite x or y): ${skipped.map((p) => `${p.label} (${p.group})`).join(', ')}.`]
      : []),
    ...(missingArrows.length ? [`Arrows not drawn (points missing): ${missingArrows.join(', ')}.`] : []),
    ...(opts.note ? [opts.note] : []),
  ];
  const spec: ChartSpec = {
    ...chartText(op, opts),
    legend: groups.map((g) => {
      const s = style.get(g)!;
      return { name: g, color: s.color, swatch: { kind: 'marker', shape: s.shape } };
    }),
    notes,
    xRange,
    yRange,
    xPad: 0.08,
    yPad: 0.08,
  };
  const f = frame(spec);
  const body: string[] = [];
  const px = (p: ScatterPoint) => [f.sx(p.x), f.sy(p.y)] as const;

  body.push(`<g class="error-bars" stroke-width="1.2">`);
  for (const p of points) {
    const [cx, cy] = px(p);
    const color = style.get(p.group)!.color;
    const xe = finite(p.xErr);
    const ye = finite(p.yErr);
    if (xe > 0) {
      const [a, b] = [f.sx(p.x - xe), f.sx(p.x + xe)];
      body.push(
        `<path d="M${n2(a)},${n2(cy)} H${n2(b)} M${n2(a)},${n2(cy - 4)} V${n2(cy + 4)} M${n2(b)},${n2(cy - 4)} V${n2(cy + 4)}" stroke="${color}" fill="none"/>`,
      );
    }
    if (ye > 0) {
      const [a, b] = [f.sy(p.y - ye), f.sy(p.y + ye)];
      body.push(
        `<path d="M${n2(cx)},${n2(a)} V${n2(b)} M${n2(cx - 4)},${n2(a)} H${n2(cx + 4)} M${n2(cx - 4)},${n2(b)} H${n2(cx + 4)}" stroke="${color}" fill="none"/>`,
      );
    }
  }
  body.push(`</g>`);

  body.push(`<g class="arrows" stroke="#444" stroke-width="1.4" fill="none">`);
  for (const [p, q] of arrowPairs) {
    const [x0, y0] = px(p);
    const [x1, y1] = px(q);
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len < 16) continue; // too short to read as an arrow; the points sit on top of each other
    const [ux, uy] = [(x1 - x0) / len, (y1 - y0) / len];
    body.push(
      `<line x1="${n2(x0 + ux * 8)}" y1="${n2(y0 + uy * 8)}" x2="${n2(x1 - ux * 9)}" y2="${n2(y1 - uy * 9)}" marker-end="url(#arrowhead)"/>`,
    );
  }
  body.push(`</g>`);

  body.push(`<g class="points">`);
  for (const p of points) {
    const s = style.get(p.group)!;
    const [cx, cy] = px(p);
    body.push(markerSvg(s.shape, cx, cy, 5.5, s.color));
  }
  body.push(`</g>`);

  // Greedy label placement: the first spot that collides with no earlier label, point, arrow or
  // the plot edge, else the least-overlapping one.
  const obstacles: Box[] = points.map((p) => {
    const [cx, cy] = px(p);
    return { x0: cx - 6, y0: cy - 6, x1: cx + 6, y1: cy + 6 };
  });
  for (const [p, q] of arrowPairs) {
    const [[x0, y0], [x1, y1]] = [px(p), px(q)];
    const steps = Math.ceil(Math.hypot(x1 - x0, y1 - y0) / 6);
    for (let k = 1; k < steps; k++) {
      const [x, y] = [x0 + ((x1 - x0) * k) / steps, y0 + ((y1 - y0) * k) / steps];
      obstacles.push({ x0: x - 3, y0: y - 3, x1: x + 3, y1: y + 3 });
    }
  }
  body.push(`<g class="labels" fill="#111">`);
  for (const p of points) {
    const [cx, cy] = px(p);
    const text = clip(p.label, 30);
    const w = text.length * CHAR_W;
    const boxOf = (s: (typeof LABEL_SPOTS)[number]): Box => {
      const x0 = s.anchor === 'start' ? cx + s.dx : s.anchor === 'end' ? cx + s.dx - w : cx - w / 2;
      return { x0, y0: cy + s.dy - FONT + 2, x1: x0 + w, y1: cy + s.dy + 2 };
    };
    const cost = (s: (typeof LABEL_SPOTS)[number]) => {
      const b = boxOf(s);
      const outside = b.x0 < f.left || b.x1 > f.right || b.y0 < f.top || b.y1 > f.bottom ? 1e6 : 0;
      return outside + obstacles.reduce((sum, o) => sum + overlap(b, o), 0);
    };
    const best = LABEL_SPOTS.reduce((a, b) => (cost(b) < cost(a) ? b : a));
    obstacles.push(boxOf(best));
    body.push(
      `<text x="${n2(cx + best.dx)}" y="${n2(cy + best.dy)}" text-anchor="${best.anchor}">${escapeXml(text)}</text>`,
    );
  }
  body.push(`</g>`);

  const defs =
    `<defs><marker id="arrowhead" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="7" markerHeight="7" ` +
    `orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 Z" fill="#444"/></marker></defs>`;
  return documentSvg(f, spec, body, defs);
}
