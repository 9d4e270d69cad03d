// Host-side random draws from a PRNG key: a fixed-length Threefry uniform stream consumed in
// order, so a parameter's value depends only on the key and its position (bit-reproducible).
import type { KeyWords } from '../kernels/params.js';
import type { PRNGKey } from '../index.js';
import { randomStream } from '../random/threefry.js';

/** Sequential uniform draws in [0, 1) from `randomStream('uniform', key, n)`. */
export class Draws {
  private readonly values: Float32Array;
  private next = 0;

  constructor(
    k: PRNGKey | KeyWords,
    count: number,
    private readonly what = 'Draws',
  ) {
    const words = 'words' in k ? k.words : k;
    this.values = randomStream('uniform', words, count) as Float32Array;
  }

  /** The next uniform in [0, 1). */
  u(): number {
    if (this.next >= this.values.length) {
      throw new Error(
        `${this.what}: drew more than the ${this.values.length} numbers reserved; raise the count (this is a bug in the caller).`,
      );
    }
    return this.values[this.next++];
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.u();
  }

  /** Uniform in [lo, hi] given as a pair. */
  between(r: readonly [number, number]): number {
    return this.range(r[0], r[1]);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(xs: readonly T[]): T {
    return xs[Math.min(xs.length - 1, Math.floor(this.u() * xs.length))];
  }

  /** An index drawn with the given (unnormalised) weights. */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let t = this.u() * total;
    for (let i = 0; i < weights.length; i++) {
      t -= weights[i];
      if (t < 0) return i;
    }
    return weights.length - 1;
  }
}
