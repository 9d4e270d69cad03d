// Group-relative advantages (docs/architecture.md, "The LRPO pipeline"): each candidate's reward
// against the mean of its group, scaled by the spread of rewards. Host math in float64 on rewards
// already read back.
import { LrpoConfigError } from './config.js';

export interface GroupAdvantageOptions {
  /** K, the number of consecutive candidates per LQ input. At least 2. */
  readonly groupSize: number;
  /** Added to the std before dividing (default 1e-4, the paper's). */
  readonly stdEps?: number;
  /**
   * true (default, the paper): divide by the std of all rewards in the batch.
   * false: divide by each group's own std (GRPO-style), for ablations.
   */
  readonly useBatchStd?: boolean;
}

/** Unbiased (n - 1) standard deviation of values[from, to), as torch's `Tensor.std()`. */
function unbiasedStd(values: ArrayLike<number>, from: number, to: number, mean: number): number {
  let ss = 0;
  for (let i = from; i < to; i++) ss += (values[i] - mean) ** 2;
  return Math.sqrt(ss / (to - from - 1));
}

function meanOf(values: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += values[i];
  return s / (to - from);
}

/**
 * A_i = (r_i - mean of r_i's group) / (std(r) + stdEps) (docs/architecture.md, "The LRPO pipeline",
 * LRPO's advantage). `rewards` has length B * K, grouped as K consecutive candidates per LQ input.
 * The std is the UNBIASED one (divides by n - 1), as torch's `.std()` in the authors' code: over
 * all B * K rewards (useBatchStd, the default) or over each group's K (GRPO-style). Returns a new
 * Float64Array; all-equal rewards give all-zero advantages. Throws RangeError for a length not
 * divisible by K or a non-finite reward (naming its index), LrpoConfigError for K < 2 or a bad
 * stdEps.
 */
export function groupAdvantages(
  rewards: Float64Array | Float32Array | readonly number[],
  options: GroupAdvantageOptions,
): Float64Array {
  const op = 'groupAdvantages';
  const { groupSize: k, stdEps = 1e-4, useBatchStd = true } = options ?? ({} as GroupAdvantageOptions);
  if (!(typeof k === 'number' && Number.isInteger(k) && k >= 2)) {
    throw new LrpoConfigError(
      `${op}: groupSize is ${String(k)}; expected an integer >= 2 (a group needs two candidates to compare).`,
    );
  }
  if (!(typeof stdEps === 'number' && stdEps > 0 && Number.isFinite(stdEps))) {
    throw new LrpoConfigError(
      `${op}: stdEps is ${String(stdEps)}; expected a finite number > 0 (the paper uses 1e-4).`,
    );
  }
  if (rewards === null || typeof rewards !== 'object' || typeof rewards.length !== 'number') {
    throw new RangeError(
      `${op}: rewards must be an array or Float64Array of numbers, got ${rewards === null ? 'null' : typeof rewards}. ` +
        `Read the reward tensor back first: Array.from(await total.data()).`,
    );
  }
  const n = rewards.length;
  if (n === 0 || n % k !== 0) {
    throw new RangeError(
      `${op}: ${n} rewards do not split into groups of ${k}; pass B * ${k} rewards, K consecutive candidates per LQ input.`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (typeof rewards[i] !== 'number' || !Number.isFinite(rewards[i])) {
      throw new RangeError(
        `${op}: reward ${i} (group ${Math.floor(i / k)}, candidate ${i % k}) is ${String(rewards[i])}; ` +
          `every reward must be a finite number. Check the reward terms for NaN inputs.`,
      );
    }
  }
  const out = new Float64Array(n);
  const batchStd = useBatchStd ? unbiasedStd(rewards, 0, n, meanOf(rewards, 0, n)) : 0;
  for (let g = 0; g < n; g += k) {
    const m = meanOf(rewards, g, g + k);
    const scale = (useBatchStd ? batchStd : unbiasedStd(rewards, g, g + k, m)) + stdEps;
    for (let i = g; i < g + k; i++) out[i] = (rewards[i] - m) / scale;
  }
  return out;
}
