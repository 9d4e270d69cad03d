// Acceptance (issue 5): the committed SFT policy (trained by `pretrain`, see README) restores
// held-out synthetic faces better than their LQ input on PSNR, with LRPO's rollout sampler.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as L from '../src/lrpo.js';
import * as F from '../src/faces.js';
import { COMMITTED_SFT } from '../src/cli/commands/demo.js';
import { useBackends } from './support/backends.js';

useBackends();

describe('the committed SFT checkpoint', () => {
  it('loads as the tiny preset at 32 px; its posterior-mean restoration beats the LQ input on PSNR over 32 held-out faces', async () => {
    const { info, params } = await L.loadCheckpoint(COMMITTED_SFT, { expect: { preset: 'tiny', imageSize: 32 } });
    const policy = L.policyOfCheckpoint(info);
    const pairs = await L.evalSet('synthetic', { size: 32, count: 32 });
    const { hq, lq } = L.pairBatch(
      pairs,
      Array.from({ length: 32 }, (_, i) => i),
    );
    // LRPO's rollout sampler (DDIM, 10 steps, eta 1): one sample, and the mean of 8 samples.
    const single = L.restore(policy, params, lq, T.key(1000), { steps: 10, eta: 1 });
    const averaged = L.restore(policy, params, lq, T.key(1000), { steps: 10, eta: 1, samples: 8 });
    const scores = [F.psnr(single, hq), F.psnr(averaged, hq), F.psnr(lq, hq)];
    const [one, mean8, input] = await Promise.all(scores.map((s) => s.data()));
    const gain = L.meanInterval(Float64Array.from(mean8, (v, i) => v - input[i]));
    console.log(
      `committed SFT: PSNR one sample ${L.meanInterval(one).mean.toFixed(2)} dB, mean of 8 samples ${L.meanInterval(mean8).mean.toFixed(2)} dB, ` +
        `LQ input ${L.meanInterval(input).mean.toFixed(2)} dB (paired gain of the mean ${gain.mean.toFixed(2)} ± ${gain.halfWidth.toFixed(2)})`,
    );
    expect(gain.mean - gain.halfWidth).toBeGreaterThan(0);
    T.disposeTree([params, hq, lq, single, averaged, scores]);
  });
});
