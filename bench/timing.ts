// Repetition and summary statistics: warm-up runs first (they compile pipelines), then timed
// repetitions, each timed to completion, summarised by the median and the spread.

export interface TimingOptions {
  /** Untimed runs first: pipeline compilation, allocator warm-up, lazy uploads. */
  readonly warmup: number;
  readonly reps: number;
  /** Stop repeating once this many ms were spent, after at least `minReps` (slow CPU peers). */
  readonly budgetMs: number;
  readonly minReps: number;
  /**
   * Runs per timed sample, back to back with one wait at the end; the sample is their mean. 1
   * times one op's whole round trip (record, submit, wait); more measures sustained throughput,
   * the host's submit-and-wait latency (large in Dawn-in-Node next to a fast GPU) paid once per
   * burst, as CUDA-event timings of PyTorch leave it out. Absent in results written before it: 1.
   */
  readonly burst?: number;
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
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(samplesMs: readonly number[]): Stats {
  const s = [...samplesMs].sort((a, b) => a - b);
  return {
    median: quantile(s, 0.5),
    min: s[0],
    max: s[s.length - 1],
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    reps: s.length,
  };
}

/**
 * Times `once(runs)` (which runs the op `runs` times back to back, waits, and returns the elapsed
 * ms per run) after warm-up and `afterWarmup`.
 */
export async function measure(
  once: (runs: number) => Promise<number>,
  options: TimingOptions,
  afterWarmup: () => Promise<void>,
): Promise<Stats> {
  const burst = options.burst ?? 1;
  for (let i = 0; i < options.warmup; i++) await once(1);
  await afterWarmup();
  const samples: number[] = [];
  let spent = 0;
  while (samples.length < options.reps && (samples.length < options.minReps || spent < options.budgetMs)) {
    const ms = await once(burst);
    samples.push(ms);
    spent += ms * burst;
  }
  return summarize(samples);
}
