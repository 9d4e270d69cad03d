// Summary statistics for evaluation tables: the mean with a 95% confidence interval (Student t).

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (then the normal 1.96 limit). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11,
  2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The 97.5% quantile of Student's t with `df` degrees of freedom (table to 30, then 1.96 + 2.4/df). */
export const studentT975 = (df: number): number => (df <= 30 ? T975[Math.max(1, Math.floor(df)) - 1] : 1.96 + 2.4 / df);

export interface MeanInterval {
  readonly mean: number;
  /** Half-width of the 95% interval of the mean (t * sd / sqrt(n)); 0 for n < 2. */
  readonly halfWidth: number;
  readonly n: number;
  /** Sample standard deviation (unbiased). */
  readonly sd: number;
}

/** The mean of `values` and the half-width of its 95% Student-t interval. */
export function meanInterval(values: ArrayLike<number>): MeanInterval {
  const n = values.length;
  if (n === 0) return { mean: NaN, halfWidth: NaN, n, sd: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i];
  const mean = s / n;
  if (n < 2) return { mean, halfWidth: 0, n, sd: 0 };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const sd = Math.sqrt(ss / (n - 1));
  return { mean, halfWidth: (studentT975(n - 1) * sd) / Math.sqrt(n), n, sd };
}

/** "12.34 ± 0.56" with `digits` decimals. */
export const formatInterval = ({ mean, halfWidth }: MeanInterval, digits = 3): string =>
  `${mean.toFixed(digits)} ± ${halfWidth.toFixed(digits)}`;
