// The DDPM residual block with timestep injection (Ho et al. 2020, appendix B; guided-diffusion's
// ResBlock): GN -> SiLU -> conv3x3 -> + linear(SiLU(temb)) over H, W -> GN -> SiLU -> conv3x3,
// added to the input (through a 1x1 conv when the channel count changes).
import { scope, add, concat, matmul, silu, reshape, slice, transpose } from '../../index.js';
import type { PRNGKey, Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import { convApply, convSpec, type ConvParams } from './conv.js';
import { groupNormApply, groupNormSpec, type GroupNormParams } from './group-norm.js';
import { initParams, type InitOptions, type SpecOf } from './init.js';
import { linearApply, linearSpec, type LinearParams } from './linear.js';

export interface ResBlockConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Width of the timestep embedding the block reads. */
  readonly timeEmbedDim: number;
  /** Zero-initialise the last conv so the block starts as its skip path (guided-diffusion); default true. */
  readonly zeroInit?: boolean;
}

export interface ResBlockParams {
  readonly norm1: GroupNormParams;
  readonly conv1: ConvParams;
  /** Projects SiLU(temb) [B, timeEmbedDim] to a per-channel shift [B, outChannels]. */
  readonly time: LinearParams;
  readonly norm2: GroupNormParams;
  readonly conv2: ConvParams;
  /** 1x1 conv on the skip path; present only when inChannels != outChannels. */
  readonly skip?: ConvParams;
}

export function resBlockSpec({
  inChannels,
  outChannels,
  timeEmbedDim,
  zeroInit = true,
}: ResBlockConfig): SpecOf<ResBlockParams> {
  return {
    norm1: groupNormSpec({ channels: inChannels }),
    conv1: convSpec({ inChannels, outChannels }),
    time: linearSpec({ inFeatures: timeEmbedDim, outFeatures: outChannels }),
    norm2: groupNormSpec({ channels: outChannels }),
    conv2: convSpec({ inChannels: outChannels, outChannels, zeroInit }),
    ...(inChannels !== outChannels ? { skip: convSpec({ inChannels, outChannels, kernel: 1 }) } : {}),
  };
}

/** Fresh residual-block params. */
export const resBlockInit = (k: PRNGKey, config: ResBlockConfig, options: InitOptions = {}): ResBlockParams =>
  initParams<ResBlockParams>(k, resBlockSpec(config), options);

/**
 * x [B, in, H, W], temb [B, timeEmbedDim] -> [B, out, H, W]; `groups` divides both channel counts.
 * `shift`, when given, is this block's linear(SiLU(temb)) [B, out] already computed (the UNet
 * computes every block's at once with resBlockTimeShifts).
 */
export function resBlockApply(
  p: ResBlockParams,
  x: Tensor,
  temb: Tensor,
  { groups, shift }: { readonly groups: number; readonly shift?: Tensor },
): Tensor {
  const [outChannels, timeEmbedDim] = p.time.weight.shape;
  checkShape(
    temb.rank === 2 && temb.shape[0] === x.shape[0] && temb.shape[1] === timeEmbedDim,
    'resBlock',
    () =>
      `temb ${fmtShape(temb.shape)} must be [B, ${timeEmbedDim}] with B = ${x.shape[0]}, the batch of x ${fmtShape(x.shape)}.`,
  );
  checkShape(
    shift === undefined || (shift.rank === 2 && shift.shape[0] === x.shape[0] && shift.shape[1] === outChannels),
    'resBlock',
    () => `shift ${fmtShape(shift!.shape)} must be [${x.shape[0]}, ${outChannels}], the block's linear(SiLU(temb)).`,
  );
  return scope(() => {
    let h = convApply(p.conv1, groupNormApply(p.norm1, x, { groups, activation: 'silu' }));
    h = add(h, reshape(shift ?? linearApply(p.time, silu(temb)), [x.shape[0], outChannels, 1, 1]));
    h = convApply(p.conv2, groupNormApply(p.norm2, h, { groups, activation: 'silu' }));
    return add(p.skip ? convApply(p.skip, x) : x, h);
  });
}

/**
 * Every block's time shift linear(SiLU(temb)) [B, out], in block order, from one product of SiLU(temb)
 * with the blocks' time weights side by side: one matmul where each block ran its own (two
 * dispatches a block, each mostly the dispatch's fixed cost at the tiny UNet's sizes). The biases
 * are added per block, as linearApply adds them, so the sums fuse downstream as before.
 */
export function resBlockTimeShifts(blocks: readonly ResBlockParams[], temb: Tensor): Tensor[] {
  if (blocks.length === 0) return [];
  const widths = blocks.map((block) => block.time.weight.shape[1]);
  checkShape(
    temb.rank === 2 && widths.every((w) => w === temb.shape[1]),
    'resBlockTimeShifts',
    () =>
      `temb ${fmtShape(temb.shape)} must be [B, E] with E every block's time embedding width (the blocks take ${[...new Set(widths)].join(', ')}).`,
  );
  const b = temb.shape[0];
  return scope(() => {
    const weights = concat(
      blocks.map((block) => block.time.weight),
      { axis: 0 },
    );
    const all = matmul(silu(temb), transpose(weights));
    let start = 0;
    return blocks.map((block) => {
      const width = block.time.weight.shape[0];
      start += width;
      return add(slice(all, [0, start - width], [b, start]), block.time.bias);
    });
  });
}
