// Host-side shuffles: batch orders, input orders and the shuffled-rewards control draw their
// permutations here, from a key, so they repeat for the same key on every backend.
import { randomStream } from './threefry.js';
import type { PRNGKey } from './index.js';

/** A Fisher-Yates permutation of 0..n-1 drawn on the host from `k`. */
export function permutation(k: PRNGKey, n: number): number[] {
  const u = randomStream('uniform', k.words, n);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i] * (i + 1)));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
