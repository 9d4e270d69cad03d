// How a tensor's values print (x.print(), x.toString() on the CPU, console.log(x)): nested
// brackets as NumPy's repr, one column width per tensor, and beyond `threshold` elements only the
// first and last `edgeItems` entries of each axis with '...' between (so printing never floods).
import type { DType } from './dtype.js';

export interface FormatOptions {
  /** Summarise tensors with more elements than this (NumPy's default: 1000). */
  readonly threshold?: number;
  /** Entries kept at each end of a summarised axis (NumPy's default: 3). */
  readonly edgeItems?: number;
}

/** One value as text: floats with up to 4 decimals (exponent form when very large or small). */
function formatValue(v: number, dtype: DType): string {
  if (dtype === 'bool') return v !== 0 ? 'true' : 'false';
  if (dtype === 'int32' || !Number.isFinite(v)) return String(v);
  if (Object.is(v, -0)) return '-0';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(3);
  return String(Number(v.toFixed(4)));
}

/**
 * The values of a tensor of `shape` as nested brackets; `at(i)` gives element i in row-major
 * order (only the printed ones are asked for).
 */
export function formatValues(
  shape: readonly number[],
  dtype: DType,
  at: (i: number) => number,
  { threshold = 1000, edgeItems = 3 }: FormatOptions = {},
): string {
  const size = shape.reduce((a, b) => a * b, 1);
  const summarise = size > threshold;
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  // The indices printed along an axis of length n, with -1 where '...' goes.
  const shown = (n: number): number[] =>
    summarise && n > 2 * edgeItems
      ? [
          ...Array.from({ length: edgeItems }, (_, i) => i),
          -1,
          ...Array.from({ length: edgeItems }, (_, i) => n - edgeItems + i),
        ]
      : Array.from({ length: n }, (_, i) => i);
  // First pass: the text of every printed element, for one common width.
  const texts = new Map<number, string>();
  const collect = (d: number, start: number): void => {
    if (d === shape.length) texts.set(start, formatValue(at(start), dtype));
    else for (const i of shown(shape[d])) if (i >= 0) collect(d + 1, start + i * strides[d]);
  };
  collect(0, 0);
  const width = Math.max(0, ...[...texts.values()].map((t) => t.length));
  const build = (d: number, start: number): string => {
    if (d === shape.length) return texts.get(start)!.padStart(width);
    const parts = shown(shape[d]).map((i) => (i < 0 ? '...' : build(d + 1, start + i * strides[d])));
    // Inner axis on one line; each outer axis puts its rows on new lines (a blank line per extra level).
    const sep = d === shape.length - 1 ? ', ' : `,${'\n'.repeat(shape.length - 1 - d)}${' '.repeat(d + 1)}`;
    return `[${parts.join(sep)}]`;
  };
  return build(0, 0);
}

/** The values of a row-major host array (what `data()` returns) as formatValues prints them. */
export const formatHostValues = (
  shape: readonly number[],
  dtype: DType,
  values: ArrayLike<number>,
  options?: FormatOptions,
): string => formatValues(shape, dtype, (i) => values[i], options);
