// Acceptance (issue 5): the committed SFT policy (trained by `pretrain`, see README) restores
// held-out synthetic faces better than their LQ input on PSNR, with LRPO's rollout sampler.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { COMMITTED_SFT } from '../src/cli/commands/demo.js';
import { useBackends } from './support/backends.js';

useBackends();

describe('the committed SFT checkpoint', () => {
  it('loads as the tiny preset at 32 px; its posterior-mean restoration beats the LQ input on PSNR over 32 held-out faces', async () => {
    const { info, params } = await T.loadCheckpoint(COMMITTED_SFT, { expect: { preset: 'tiny', imageSize: 32 } });
    const policy = T.policyOfCheckpoint(info);
    const pairs = await T.evalSet('synthetic', { size: 32, count: 32 });
    const { hq, lq } = T.pairBatch(pairs, Array.from({ length: 32 }, (_, i) => i));
    // LRPO's rollout sampler (DDIM, 10 steps, eta 1): one sample, and the mean of 8 samples.
    const single = T.restore(policy, params, lq, T.key(1000), { steps: 10, eta: 1 });
    const averaged = T.restore(policy, params, lq, T.key(1000), { steps: 10, eta: 1, samples: 8 });
    const scores = [T.psnr(single, hq), T.psnr(averaged, hq), T.psnr(lq, hq)];
    const [one, mean8, input] = await Promise.all(scores.map((s) => s.data()));
    const gain = T.meanInterval(Float64Array.from(mean8, (v, i) => v - input[i]));
    console.log(
      `committed SFT: PSNR one sample ${T.meanInterval(one).mean.toFixed(2)} dB, mean of 8 samples ${T.meanInterval(mean8).mean.toFixed(2)} dB, ` +
        `LQ input ${T.meanInterval(input).mean.toFixed(2)} dB (paired gain of the mean ${gain.mean.toFixed(2)} ± ${gain.halfWidth.toFixed(2)})`,
    );
    expect(gain.mean - gain.halfWidth).toBeGreaterThan(0);
    T.disposeTree([params, hq, lq, single, averaged, scores]);
  });
});
