// The conditional UNet's configuration: its fields, the two presets, validation, and the plan (every
// block's channel counts, level by level) that the spec, the forward pass and the cost model share.
import { ShapeError } from '../index.js';

/** Architecture of the conditional epsilon-predictor UNet (DDPM/guided-diffusion layout). */
export interface UNetConfig {
  /** Channels of x_t, of the conditioning LQ image and of the output (3 for RGB); the input has twice this. */
  readonly imageChannels: number;
  /** Channels of the first level; level i has baseChannels * channelMults[i]. */
  readonly baseChannels: number;
  /** One multiplier per resolution level; levels - 1 downsamplings, so H and W must divide by 2^(levels - 1). */
  readonly channelMults: readonly number[];
  /** Residual blocks per level on the way down (the way up has one more, as in DDPM). */
  readonly numResBlocks: number;
  /** Self-attention after every residual block of the lowest resolution and in the middle. */
  readonly attentionAtLowest: boolean;
  /** Attention heads (must divide the lowest level's channels). */
  readonly heads: number;
  /** GroupNorm groups (must divide every level's channel count). */
  readonly groups: number;
  /** Width of the timestep embedding after the MLP (4 * baseChannels in DDPM). */
  readonly timeEmbedDim: number;
  /** Zero-init each residual block's last conv, the attention projections and the output conv (default true). */
  readonly zeroInit?: boolean;
}

/**
 * tiny: a CPU/lavapipe demo at 32x32 (levels 32, 16, 8 with 8, 16, 32 channels; attention at 8x8):
 * 173,715 params and 50.4 MFLOP per 32x32 image (unetStats). Wider variants cost much more, mostly
 * in the 3x3 convs at 32x32: base 12 x [1, 2, 2] is 72.7 MFLOP, base 16 x [1, 2, 2] 127.7.
 * small: tiny's layout at twice the width (16, 32, 64 channels): 687,779 params, 194.9 MFLOP per
 * 32x32 image; on lavapipe an SFT step of batch 16 takes about twice tiny's (at these sizes much of
 * a step is the cost per dispatch, which the width does not change). Its
 * restorations of real faces were the first to tie their input (docs/faces.md, "Capacity").
 * base: a GPU model at 128x128 (levels 128 .. 8; attention at 8x8): 18.9 M params, 31.1 GFLOP per image.
 */
export const UNET_PRESETS = {
  tiny: {
    imageChannels: 3,
    baseChannels: 8,
    channelMults: [1, 2, 4],
    numResBlocks: 1,
    attentionAtLowest: true,
    heads: 1,
    groups: 4,
    timeEmbedDim: 32,
  },
  small: {
    imageChannels: 3,
    baseChannels: 16,
    channelMults: [1, 2, 4],
    numResBlocks: 1,
    attentionAtLowest: true,
    heads: 1,
    groups: 8,
    timeEmbedDim: 64,
  },
  base: {
    imageChannels: 3,
    baseChannels: 64,
    channelMults: [1, 1, 2, 2, 4],
    numResBlocks: 2,
    attentionAtLowest: true,
    heads: 4,
    groups: 32,
    timeEmbedDim: 256,
  },
} as const satisfies Record<string, UNetConfig>;

/** Channel counts of one residual block. */
export interface ResPlan {
  readonly inChannels: number;
  readonly outChannels: number;
}

/** One resolution level: its residual blocks (each followed by attention when `attention`), then the resampler. */
export interface LevelPlan {
  readonly channels: number;
  /** Downsampling factor of this level's feature maps relative to the input (2^level). */
  readonly factor: number;
  readonly res: readonly ResPlan[];
  readonly attention: boolean;
  /** Down path: a stride-2 conv after the blocks; up path: an upsampling after the blocks. */
  readonly resample: boolean;
}

/** Every block of the UNet with its channel counts; `up` runs from the lowest resolution to the highest. */
export interface UNetPlan {
  readonly inChannels: number;
  readonly down: readonly LevelPlan[];
  readonly midChannels: number;
  readonly up: readonly LevelPlan[];
}

const describeConfig = (c: UNetConfig): string =>
  `{ baseChannels ${c.baseChannels}, channelMults ${JSON.stringify(c.channelMults)}, numResBlocks ${c.numResBlocks}, groups ${c.groups}, heads ${c.heads} }`;

/** Throws a ShapeError naming the field and the fix when the config cannot build a UNet. */
export function validateUnetConfig(c: UNetConfig): void {
  // Not a config at all (the params tree passed in its place, say): say so before reading fields.
  if (typeof c !== 'object' || c === null || !('channelMults' in c))
    throw new ShapeError(
      `unetConfig: expected a UNet config (fields baseChannels, channelMults, ...; e.g. UNET_PRESETS.tiny), got ${c === null ? 'null' : typeof c === 'object' ? `an object with keys ${Object.keys(c).slice(0, 6).join(', ')}` : typeof c}. unetApply takes (params, config, xt, t, cond).`,
    );
  const fail = (msg: string): never => {
    throw new ShapeError(`unetConfig: ${msg} (config ${describeConfig(c)}).`);
  };
  const posInt = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
  for (const field of ['imageChannels', 'baseChannels', 'numResBlocks', 'heads', 'groups', 'timeEmbedDim'] as const) {
    if (!posInt(c[field])) fail(`${field} must be a positive integer, got ${String(c[field])}`);
  }
  if (!Array.isArray(c.channelMults) || c.channelMults.length < 1 || !c.channelMults.every(posInt)) {
    fail(`channelMults must be a non-empty list of positive integers, got ${JSON.stringify(c.channelMults)}`);
  }
  for (const m of c.channelMults) {
    const ch = c.baseChannels * m;
    if (ch % c.groups !== 0)
      fail(
        `groups ${c.groups} does not divide the ${ch} channels of a level (baseChannels x ${m}); pick groups dividing every level's channels`,
      );
  }
  const lowest = c.baseChannels * c.channelMults[c.channelMults.length - 1];
  if (c.attentionAtLowest && lowest % c.heads !== 0)
    fail(`heads ${c.heads} does not divide the ${lowest} channels of the lowest level`);
}

/** The block-by-block channel plan of a config (validated first). */
export function unetPlan(c: UNetConfig): UNetPlan {
  validateUnetConfig(c);
  const levels = c.channelMults.length;
  const widths = c.channelMults.map((m) => c.baseChannels * m);
  // Channels of every feature map the down path hands to the up path (DDPM's hs list).
  const skips: number[] = [c.baseChannels];
  let ch = c.baseChannels;
  const down: LevelPlan[] = widths.map((width, i) => {
    const res: ResPlan[] = [];
    for (let j = 0; j < c.numResBlocks; j++) {
      res.push({ inChannels: ch, outChannels: width });
      ch = width;
      skips.push(ch);
    }
    const resample = i < levels - 1;
    if (resample) skips.push(ch);
    return { channels: width, factor: 2 ** i, res, attention: c.attentionAtLowest && i === levels - 1, resample };
  });
  const midChannels = ch;
  const up: LevelPlan[] = [];
  for (let i = levels - 1; i >= 0; i--) {
    const res: ResPlan[] = [];
    for (let j = 0; j <= c.numResBlocks; j++) {
      res.push({ inChannels: ch + skips.pop()!, outChannels: widths[i] });
      ch = widths[i];
    }
    up.push({
      channels: widths[i],
      factor: 2 ** i,
      res,
      attention: c.attentionAtLowest && i === levels - 1,
      resample: i > 0,
    });
  }
  return { inChannels: 2 * c.imageChannels, down, midChannels, up };
}

/** 2^(levels - 1): image height and width must be multiples of it. */
export const unetSizeMultiple = (c: UNetConfig): number => 2 ** (c.channelMults.length - 1);
