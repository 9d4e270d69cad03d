// A micro restoration policy (8 px, a few channels) and a cheap, differentiable two-term reward:
// the face ResNet is too slow for unit tests of the training machinery.
import * as T from '../../src/index.js';
import * as F from '../../src/faces.js';
import * as L from '../../src/lrpo.js';
import type { UNetConfig } from '../../src/models/unet.js';
import { policyOf } from '../../src/train/policy.js';

export const MICRO_UNET: UNetConfig = {
  imageChannels: 3,
  baseChannels: 4,
  channelMults: [1, 2],
  numResBlocks: 1,
  attentionAtLowest: false,
  heads: 1,
  groups: 2,
  timeEmbedDim: 8,
};

export const microPolicy = policyOf({ name: 'micro', unet: MICRO_UNET }, 8);

export const cheapReward = L.compositeReward({
  wavelet: { weight: 0.5, fn: (x, gt) => F.waveletFidelity(x, gt, { levels: 1 }) },
  closeness: { weight: 0.5, fn: (x, gt) => T.neg(T.mean(T.abs(T.sub(x, gt)), { axis: [1, 2, 3] })) },
});
