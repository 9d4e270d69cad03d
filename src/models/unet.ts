// The conditional UNet epsilon-predictor for blind face restoration: eps_theta(x_t, t, c) with the LQ
// image c concatenated to x_t on channels (as SR3 and DiffBIR's conditioning), DDPM's down/middle/up
// layout with skip connections, and timestep injection in every residual block.
import { ShapeError, named, scope, concat, jit } from '../index.js';
import type { PRNGKey, Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { attentionApply, attentionSpec, type AttentionParams } from './layers/attention.js';
import { convApply, convSpec, type ConvParams } from './layers/conv.js';
import { groupNormApply, groupNormSpec, type GroupNormParams } from './layers/group-norm.js';
import { checkParamsAgainstSpec, initParams, type InitOptions, type SpecOf } from './layers/init.js';
import { downsampleApply, resampleSpec, upsampleApply } from './layers/resample.js';
import { resBlockApply, resBlockSpec, resBlockTimeShifts, type ResBlockParams } from './layers/res-block.js';
import { timeEmbeddingApply, timeMlpSpec, type TimeMlpParams } from './layers/timestep-embedding.js';
import type { EpsModel } from './types.js';
import { unetPlan, unetSizeMultiple, validateUnetConfig, type LevelPlan, type UNetConfig } from './unet-config.js';

export { UNET_PRESETS, type UNetConfig } from './unet-config.js';

/** One level of the down path: residual blocks, attention after each when at the lowest level, then a stride-2 conv. */
export interface UNetDownLevel {
  readonly res: readonly ResBlockParams[];
  readonly attn?: readonly AttentionParams[];
  readonly downsample?: ConvParams;
}

/** One level of the up path: numResBlocks + 1 residual blocks on [h, skip], attention, then an upsampling. */
export interface UNetUpLevel {
  readonly res: readonly ResBlockParams[];
  readonly attn?: readonly AttentionParams[];
  readonly upsample?: ConvParams;
}

/** The middle: residual block, attention (when attentionAtLowest), residual block. */
export interface UNetMid {
  readonly res1: ResBlockParams;
  readonly attn?: AttentionParams;
  readonly res2: ResBlockParams;
}

/** Every weight of the UNet as a plain tree (`up` runs from the lowest resolution to the highest). */
export interface UNetParams {
  readonly time: TimeMlpParams;
  readonly inConv: ConvParams;
  readonly down: readonly UNetDownLevel[];
  readonly mid: UNetMid;
  readonly up: readonly UNetUpLevel[];
  readonly outNorm: GroupNormParams;
  readonly outConv: ConvParams;
}

/** The spec (shape and init of every leaf) of a config's params; the single source of the architecture. */
export function unetSpec(config: UNetConfig): SpecOf<UNetParams> {
  const plan = unetPlan(config);
  const zeroInit = config.zeroInit ?? true;
  const { timeEmbedDim } = config;
  const res = (level: LevelPlan) => level.res.map((r) => resBlockSpec({ ...r, timeEmbedDim, zeroInit }));
  const attn = (level: LevelPlan) =>
    level.attention ? { attn: level.res.map(() => attentionSpec({ channels: level.channels, zeroInit })) } : {};
  const mid = plan.midChannels;
  return {
    time: timeMlpSpec({ inDim: config.baseChannels, embedDim: timeEmbedDim }),
    inConv: convSpec({ inChannels: plan.inChannels, outChannels: config.baseChannels }),
    down: plan.down.map((level) => ({
      res: res(level),
      ...attn(level),
      ...(level.resample ? { downsample: resampleSpec({ channels: level.channels }) } : {}),
    })),
    mid: {
      res1: resBlockSpec({ inChannels: mid, outChannels: mid, timeEmbedDim, zeroInit }),
      ...(config.attentionAtLowest ? { attn: attentionSpec({ channels: mid, zeroInit }) } : {}),
      res2: resBlockSpec({ inChannels: mid, outChannels: mid, timeEmbedDim, zeroInit }),
    },
    up: plan.up.map((level) => ({
      res: res(level),
      ...attn(level),
      ...(level.resample ? { upsample: resampleSpec({ channels: level.channels }) } : {}),
    })),
    outNorm: groupNormSpec({ channels: config.baseChannels }),
    outConv: convSpec({ inChannels: config.baseChannels, outChannels: config.imageChannels, zeroInit }),
  };
}

/**
 * Fresh UNet params for `config`: torch-default uniform weights and biases, GroupNorm scale 1 and
 * shift 0, and (unless config.zeroInit is false) zeros in every residual block's last conv, every
 * attention projection and the output conv, so the untrained model predicts eps = 0.
 */
export const unetInit = (k: PRNGKey, config: UNetConfig, options: InitOptions = {}): UNetParams =>
  initParams<UNetParams>(k, unetSpec(config), options);

const configSummary = (c: UNetConfig): string =>
  `the UNet config { baseChannels ${c.baseChannels}, ` +
  `channelMults [${c.channelMults.join(', ')}], numResBlocks ${c.numResBlocks}, ` +
  `attentionAtLowest ${c.attentionAtLowest}, timeEmbedDim ${c.timeEmbedDim} }`;

/**
 * Throws a ShapeError naming the first leaf of `params` that `config` does not expect (missing,
 * another shape, or extra), e.g. when a checkpoint of another preset is loaded.
 */
export function checkUnetParams(params: unknown, config: UNetConfig): void {
  checkParamsAgainstSpec(
    'unetApply',
    params,
    unetSpec(config),
    configSummary(config),
    'Load a checkpoint saved with this config, or pass the config the params were made with.',
  );
}

/** Throws a ShapeError naming the received shapes and the fix when x_t, t or cond do not fit `config`. */
export function checkUnetInputs(config: UNetConfig, xt: Tensor, t: Tensor, cond: Tensor): void {
  const op = 'unetApply';
  const c = config.imageChannels;
  const multiple = unetSizeMultiple(config);
  if (xt.rank !== 4 || xt.shape[1] !== c) {
    throw new ShapeError(
      `${op}: xt ${fmtShape(xt.shape)} must be [B, ${c}, H, W] (config.imageChannels = ${c}); pass noisy images in NCHW with ${c} channels.`,
    );
  }
  if (cond.rank !== 4 || cond.shape[1] !== c) {
    throw new ShapeError(
      `${op}: cond ${fmtShape(cond.shape)} must be [B, ${c}, H, W] (config.imageChannels = ${c}); pass the LQ images in NCHW with ${c} channels.`,
    );
  }
  if (cond.shape.some((d, i) => d !== xt.shape[i])) {
    throw new ShapeError(
      `${op}: xt ${fmtShape(xt.shape)} and cond ${fmtShape(cond.shape)} must have the same shape; resize the LQ image to the size of x_t.`,
    );
  }
  const [b, , h, w] = xt.shape;
  if (h % multiple !== 0 || w % multiple !== 0) {
    throw new ShapeError(
      `${op}: image size ${h}x${w} (xt ${fmtShape(xt.shape)}) ` +
        `must be divisible by 2^(levels - 1) = ${multiple} for the ${config.channelMults.length} levels ` +
        `of channelMults [${config.channelMults.join(', ')}]; ` +
        `resize or pad to ${Math.ceil(h / multiple) * multiple}x${Math.ceil(w / multiple) * multiple}.`,
    );
  }
  if (t.rank !== 1 || t.shape[0] !== b) {
    throw new ShapeError(
      `${op}: t ${fmtShape(t.shape)} must be [${b}], one timestep per image of xt ${fmtShape(xt.shape)}; pass a 1-D float tensor of length ${b}.`,
    );
  }
}

/** Param trees already checked against a config (trees are immutable values, so a check holds). */
const checkedParams = new WeakMap<object, UNetConfig>();

/**
 * eps_theta(x_t, t, cond): xt and cond [B, imageChannels, H, W], t [B] (float timesteps) ->
 * predicted noise [B, imageChannels, H, W]. Checks the inputs and the params' shapes first. All
 * intermediates are freed (the forward runs in a scope); the params are not consumed.
 */
export function unetApply(params: UNetParams, config: UNetConfig, xt: Tensor, t: Tensor, cond: Tensor): Tensor {
  validateUnetConfig(config);
  checkUnetInputs(config, xt, t, cond);
  // The param walk runs once per (params, config): a rollout calls the UNet S times with one tree.
  if (checkedParams.get(params) !== config) {
    checkUnetParams(params, config);
    checkedParams.set(params, config);
  }
  const { groups, heads } = config;
  // Named scopes: a profile() shows where in the UNet each kernel ran ('unet/down1.res0', ...).
  return named('unet', () =>
    scope(() => {
      const temb = named('time', () => timeEmbeddingApply(params.time, t));
      // Every residual block's time shift in one product (tiny UNet forward at batch 8: 0.94x the
      // time, the same values), handed to each block by its params.
      const blocks = [
        ...params.down.flatMap((level) => level.res),
        params.mid.res1,
        params.mid.res2,
        ...params.up.flatMap((level) => level.res),
      ];
      const shifts = named('time', () => resBlockTimeShifts(blocks, temb));
      const shiftOf = new Map(blocks.map((block, i) => [block, shifts[i]]));
      let h = named('inConv', () => convApply(params.inConv, concat([xt, cond], { axis: 1 })));
      const skips: Tensor[] = [h];
      params.down.forEach((level, i) => {
        level.res.forEach((block, j) => {
          h = named(`down${i}.res${j}`, () => resBlockApply(block, h, temb, { groups, shift: shiftOf.get(block) }));
          if (level.attn) h = named(`down${i}.attn${j}`, () => attentionApply(level.attn![j], h, { groups, heads }));
          skips.push(h);
        });
        if (level.downsample) {
          h = named(`down${i}.downsample`, () => downsampleApply(level.downsample!, h));
          skips.push(h);
        }
      });
      h = named('mid.res1', () =>
        resBlockApply(params.mid.res1, h, temb, { groups, shift: shiftOf.get(params.mid.res1) }),
      );
      if (params.mid.attn) h = named('mid.attn', () => attentionApply(params.mid.attn!, h, { groups, heads }));
      h = named('mid.res2', () =>
        resBlockApply(params.mid.res2, h, temb, { groups, shift: shiftOf.get(params.mid.res2) }),
      );
      params.up.forEach((level, i) => {
        level.res.forEach((block, j) => {
          h = named(`up${i}.res${j}`, () =>
            resBlockApply(block, concat([h, skips.pop()!], { axis: 1 }), temb, { groups, shift: shiftOf.get(block) }),
          );
          if (level.attn) h = named(`up${i}.attn${j}`, () => attentionApply(level.attn![j], h, { groups, heads }));
        });
        if (level.upsample) h = named(`up${i}.upsample`, () => upsampleApply(level.upsample!, h));
      });
      return named('out', () =>
        convApply(params.outConv, groupNormApply(params.outNorm, h, { groups, activation: 'silu' })),
      );
    }),
  );
}

/**
 * unetApply recorded per shape (jit): the sampler calls it S times per batch with the same shapes,
 * and at the tiny preset's sizes the engine's host work per op is most of a forward. One cache for
 * the process, so policies made and dropped hold no recordings of their own. Under a transform
 * (the training losses' grad) it runs as plain ops.
 */
const recordedUnetApply = jit(unetApply, { maxRecordings: 4 });

/** The UNet as the EpsModel the sampler and the losses take: (params, xt, t, cond) => eps. */
export const unetModel =
  (config: UNetConfig): EpsModel<UNetParams> =>
  (params, xt, t, cond) =>
    recordedUnetApply(params, config, xt, t, cond);
