// How the network rows time a side: up to `reps` runs, at least 2, stopping after `budgetS`.
import { settleTuning } from '../../src/tensor/backends.js';
import { summarize, type Stats } from '../timing.js';

export interface SampleOptions {
  readonly reps: number;
  /** Seconds after which a side stops repeating a row (at least 2 samples). */
  readonly budgetS: number;
}

/** Times `run` (which finishes its work before resolving), already warm. */
export async function sampleRuns(run: () => Promise<unknown>, opts: SampleOptions): Promise<Stats> {
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < opts.reps && (samples.length < 2 || performance.now() - start < opts.budgetS * 1000)) {
    const t0 = performance.now();
    await run();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

/** Our side: one warm-up run, the tuner's queued measurements, one run compiling the chosen variants, then samples. */
export async function timeOurs(run: () => Promise<unknown>, opts: SampleOptions): Promise<Stats> {
  await run();
  await settleTuning();
  await run();
  return sampleRuns(run, opts);
}
