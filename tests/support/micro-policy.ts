// A micro restoration policy (8 px, a few channels) and a cheap, differentiable two-term reward:
// the face ResNet is too slow for unit tests of the training machinery.
import * as T from '../../src/index.js';
import * as F from '../../src/faces.js';
import * as L from '../../src/lrpo.js';
import type { LrpoConfigOverrides } from '../../src/lrpo.js';
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

/** MICRO_UNET with attention at its lowest level, the block every preset has. */
export const MICRO_UNET_ATTENTION: UNetConfig = { ...MICRO_UNET, attentionAtLowest: true };

export const microPolicy = policyOf({ name: 'micro', unet: MICRO_UNET }, 8);

/** An LRPO run small enough for unit tests: groups of 3 over 2 inputs, 4 sampling steps, the last one GT-regularised. */
export const TINY_LRPO: LrpoConfigOverrides = {
  groupSize: 3,
  inputsPerBatch: 2,
  sampling: { steps: 4, eta: 1 },
  gtRegularization: { lastSteps: 1 },
  optimizer: { lr: 1e-3 },
};

export const cheapReward = L.compositeReward({
  wavelet: { weight: 0.5, fn: (x, gt) => F.waveletFidelity(x, gt, { levels: 1 }) },
  closeness: { weight: 0.5, fn: (x, gt) => T.neg(T.mean(T.abs(T.sub(x, gt)), { axis: [1, 2, 3] })) },
});
