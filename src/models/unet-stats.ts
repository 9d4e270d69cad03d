// The UNet's size and cost from its config alone: parameter count (from the spec, so it equals the
// leaves unetInit makes) and FLOPs per image of one forward pass.
import { ShapeError } from '../index.js';
import { specParamCount } from './layers/init.js';
import { unetPlan, unetSizeMultiple, type UNetConfig } from './unet-config.js';
import { unetSpec } from './unet.js';

export interface UNetStats {
  /** Scalar parameters (sum of the sizes of unetInit's leaves). */
  readonly params: number;
  /**
   * FLOPs of one forward pass for one image, counting 2 per multiply-add of every convolution
   * (including the 1x1 skips and the resampling convs), every linear layer (time MLP, per-block time
   * projections, attention qkv and output projections) and the two attention matmuls (Q K^T and
   * weights V). Not counted (all O(activations), a few percent together): GroupNorm, SiLU, softmax,
   * residual adds, bias adds, concatenations, nearest upsampling and the sinusoidal embedding.
   */
  readonly flopsPerImage: number;
}

/** Parameter count and per-image forward FLOPs of the UNet for `config` on height x width images. */
export function unetStats(
  config: UNetConfig,
  { height, width }: { readonly height: number; readonly width: number },
): UNetStats {
  const plan = unetPlan(config);
  const multiple = unetSizeMultiple(config);
  if (!(height % multiple === 0 && width % multiple === 0 && height > 0 && width > 0)) {
    throw new ShapeError(
      `unetStats: image size ${height}x${width} must be positive and divisible by 2^(levels - 1) = ${multiple}.`,
    );
  }
  const pixels = (factor: number) => (height / factor) * (width / factor);
  const conv = (cin: number, cout: number, k: number, outPixels: number) => 2 * cin * cout * k * k * outPixels;
  const linear = (fin: number, fout: number, rows = 1) => 2 * fin * fout * rows;
  const resBlock = (cin: number, cout: number, p: number) =>
    conv(cin, cout, 3, p) +
    linear(config.timeEmbedDim, cout) +
    conv(cout, cout, 3, p) +
    (cin !== cout ? conv(cin, cout, 1, p) : 0);
  const attention = (c: number, p: number) => linear(c, 3 * c, p) + 2 * (2 * p * p * c) + linear(c, c, p);

  let flops = linear(config.baseChannels, config.timeEmbedDim) + linear(config.timeEmbedDim, config.timeEmbedDim);
  flops += conv(plan.inChannels, config.baseChannels, 3, pixels(1));
  for (const level of plan.down) {
    const p = pixels(level.factor);
    for (const r of level.res)
      flops += resBlock(r.inChannels, r.outChannels, p) + (level.attention ? attention(level.channels, p) : 0);
    if (level.resample) flops += conv(level.channels, level.channels, 3, pixels(level.factor * 2));
  }
  const lowest = pixels(plan.down[plan.down.length - 1].factor);
  flops +=
    2 * resBlock(plan.midChannels, plan.midChannels, lowest) +
    (config.attentionAtLowest ? attention(plan.midChannels, lowest) : 0);
  for (const level of plan.up) {
    const p = pixels(level.factor);
    for (const r of level.res)
      flops += resBlock(r.inChannels, r.outChannels, p) + (level.attention ? attention(level.channels, p) : 0);
    if (level.resample) flops += conv(level.channels, level.channels, 3, pixels(level.factor / 2));
  }
  flops += conv(config.baseChannels, config.imageChannels, 3, pixels(1));
  return { params: specParamCount(unetSpec(config)), flopsPerImage: flops };
}
