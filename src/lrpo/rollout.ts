// Group rollout (docs/architecture.md, "The LRPO pipeline"): K candidates per LQ input sampled by
// stochastic DDIM under the current params, with every state of the trajectory and each
// transition's log-prob kept, then scored by the composite reward against the ground truth.
import { named, scope, treeLeaves } from '../index.js';
import type { PRNGKey, Tensor } from '../index.js';
import { ddimSample, type DdimPlan } from '../models/diffusion/ddim.js';
import type { UNetParams } from '../models/unet.js';
import type { Policy } from '../train/policy.js';
import { conditionOf, imageOf, targetOf } from '../train/target-space.js';
import { repeatEach } from './groups.js';
import type { Reward } from './reward.js';

/** One rollout batch: N = B * K samples, candidates of input b at rows b*K .. b*K + K - 1. */
export interface Rollout {
  readonly inputs: number;
  readonly groupSize: number;
  /** S + 1 states [N, 3, H, W]: xs[0] = x_T ... xs[S] = x_0. */
  readonly xs: readonly Tensor[];
  /** S tensors [N]: the sampling log-prob of each transition. */
  readonly logProbs: readonly Tensor[];
  /** Per-row conditioning, LQ, HQ and the policy's clean target for the HQ (GT regularization). */
  readonly cond: Tensor;
  readonly lq: Tensor;
  readonly hq: Tensor;
  readonly target: Tensor;
  /** The restored images [N, 3, H, W] in [0, 1]. */
  readonly restored: Tensor;
  /** Host rewards [N] and each reward term's scores [N]. */
  readonly rewards: Float64Array;
  readonly rewardTerms: Readonly<Record<string, Float64Array>>;
}

/**
 * Samples K candidates for each LQ image of `lq` ([B, 3, H, W] in [0, 1], hq alike) with the
 * plan's stochastic DDIM and scores them. No gradients flow; every tensor in the result is the
 * caller's (free them with disposeRollout).
 */
export async function rollout(
  policy: Policy,
  params: UNetParams,
  reward: Reward,
  batch: { readonly hq: Tensor; readonly lq: Tensor },
  groupSize: number,
  plan: DdimPlan,
  k: PRNGKey,
): Promise<Rollout> {
  const sampled = scope(() => {
    const lq = repeatEach(batch.lq, groupSize);
    const hq = repeatEach(batch.hq, groupSize);
    const cond = conditionOf(lq);
    const { xs, logProbs, x0 } = named('sample', () =>
      ddimSample(policy.model, params, cond, k, { plan, keepTrajectory: true, logProbs: true }),
    );
    const restored = imageOf(policy.space, x0, lq);
    const scores = named('reward', () => reward(restored, batch.hq, batch.lq)); // one reference per group: embedded once
    return { lq, hq, cond, xs, logProbs, restored, target: targetOf(policy.space, hq, lq), scores };
  });
  const names = Object.keys(sampled.scores.terms);
  try {
    const [total, ...terms] = await Promise.all(
      [sampled.scores.total, ...names.map((n) => sampled.scores.terms[n])].map((t) => t.data()),
    );
    return {
      inputs: batch.lq.shape[0],
      groupSize,
      xs: sampled.xs,
      logProbs: sampled.logProbs,
      cond: sampled.cond,
      lq: sampled.lq,
      hq: sampled.hq,
      target: sampled.target,
      restored: sampled.restored,
      rewards: Float64Array.from(total),
      rewardTerms: Object.fromEntries(names.map((n, i) => [n, Float64Array.from(terms[i])])),
    };
  } catch (e) {
    disposeRollout(sampled);
    throw e;
  } finally {
    treeLeaves(sampled.scores).forEach((t) => t.dispose());
  }
}

/** Frees every tensor of a rollout (shared handles once). */
export function disposeRollout(r: object): void {
  for (const t of new Set(treeLeaves(r))) if (!t.isDisposed) t.dispose();
}
