// Resolution changes between UNet levels (DDPM): a stride-2 3x3 conv halves H and W; nearest-neighbour
// x2 upsampling followed by a 3x3 conv doubles them. Both keep the channel count.
import { scope, upsampleNearest2d } from '../../index.js';
import type { PRNGKey, Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import { convApply, convSpec, type ConvParams } from './conv.js';
import { initParams, type InitOptions, type SpecOf } from './init.js';

/** Both resamplers are one 3x3 conv from `channels` to `channels`. */
export const resampleSpec = ({ channels }: { readonly channels: number }): SpecOf<ConvParams> =>
  convSpec({ inChannels: channels, outChannels: channels });

/** Fresh params for downsampleApply or upsampleApply. */
export const resampleInit = (
  k: PRNGKey,
  config: { readonly channels: number },
  options: InitOptions = {},
): ConvParams => initParams<ConvParams>(k, resampleSpec(config), options);

/** Stride-2 3x3 conv (padding 1): [B, C, H, W] -> [B, C, H / 2, W / 2]; H and W must be even. */
export function downsampleApply(p: ConvParams, x: Tensor): Tensor {
  checkShape(
    x.rank === 4 && x.shape[2] % 2 === 0 && x.shape[3] % 2 === 0,
    'downsample',
    () =>
      `x ${fmtShape(x.shape)} must be [B, C, H, W] with even H and W to halve them exactly; pad or resize the input.`,
  );
  return convApply(p, x, { stride: 2 });
}

/** Nearest x2 then 3x3 conv: [B, C, H, W] -> [B, C, 2H, 2W]. */
export const upsampleApply = (p: ConvParams, x: Tensor): Tensor =>
  scope(() => convApply(p, upsampleNearest2d(x, { scale: 2 })));
