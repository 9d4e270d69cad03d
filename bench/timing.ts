// Repetition and summary statistics: warm-up runs first (they compile pipelines), then timed
// repetitions, each timed to completion, summarised by the median and the spread.

export interface TimingOptions {
  /** Untimed runs first: pipeline compilation, allocator warm-up, lazy uploads. */
  readonly warmup: number;
  readonly reps: number;
  /** Stop repeating once this many ms were spent, after at least `minReps` (slow CPU peers). */
  readonly budgetMs: number;
  readonly minReps: number;
}

export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Interquartile range bounds (linear interpolation), robust to one slow outlier. */
  readonly q1: number;
  readonly q3: number;
  readonly reps: number;
}

/** The q-quantile (0..1) of sorted values, interpolating linearly. */
function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samplesMs: readonly number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), min: s[0], max: s[s.length - 1], q1: quantile(s, 0.25), q3: quantile(s, 0.75), reps: s.length };
}

/** Times `once` (which returns its own elapsed ms) after warm-up and `afterWarmup`. */
export async function measure(once: () => Promise<number>, options: TimingOptions, afterWarmup: () => Promise<void>): Promise<Stats> {
  for (let i = 0; i < options.warmup; i++) await once();
  await afterWarmup();
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < options.reps && (samples.length < options.minReps || spent < options.budgetMs)) {
    const ms = await once();
    samples.push(ms);
    spent += ms;
  }
  return summarize(samples);
}
