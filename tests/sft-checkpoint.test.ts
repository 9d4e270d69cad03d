// Acceptance (issues 5 and 16): each committed SFT policy (trained by `pretrain`, see README)
// restores held-out faces of the kind it was trained on better than their LQ input on PSNR, with
// LRPO's rollout sampler: the cartoon one (train/ablate default), the photographic tiny one and the
// photographic small one (the demo).
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as L from '../src/lrpo.js';
import * as F from '../src/faces.js';
import { UNET_PRESETS } from '../src/nn.js';
import { COMMITTED_SFT, DEMO_SFT, TINY_PHOTO_SFT } from '../src/cli/commands/demo.js';
import { useBackends } from './support/backends.js';

useBackends();

describe.each([
  { name: 'sft-tiny-32', path: COMMITTED_SFT, preset: 'tiny', faces: 'synthetic' },
  { name: 'sft-tiny-32-photo', path: TINY_PHOTO_SFT, preset: 'tiny', faces: 'photo' },
  { name: 'sft-small-32-photo (the demo)', path: DEMO_SFT, preset: 'small', faces: 'photo' },
] as const)('the committed SFT checkpoint $name', ({ name, path, preset, faces }) => {
  it(`loads as the ${preset} preset at 32 px; its posterior-mean restoration beats the LQ input on PSNR over 32 held-out ${faces} faces`, async () => {
    const { info, params } = await L.loadCheckpoint(path, {
      expect: { preset, unet: UNET_PRESETS[preset], imageSize: 32 },
    });
    const policy = L.policyOfCheckpoint(info);
    const pairs = await L.evalSet(faces, { size: 32, count: 32 });
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
      `${name}: PSNR one sample ${L.meanInterval(one).mean.toFixed(2)} dB, mean of 8 samples ${L.meanInterval(mean8).mean.toFixed(2)} dB, ` +
        `LQ input ${L.meanInterval(input).mean.toFixed(2)} dB (paired gain of the mean ${gain.mean.toFixed(2)} ± ${gain.halfWidth.toFixed(2)})`,
    );
    expect(gain.mean - gain.halfWidth).toBeGreaterThan(0);
    T.disposeTree([params, hq, lq, single, averaged, scores]);
  });
});
