// Group normalisation with a learned per-channel affine (torch.nn.GroupNorm), over NCHW feature maps.
import { key, groupNorm } from '../../index.js';
import type { Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import type { NormActivation } from '../../kernels/params.js';
import { initParams, onesSpec, zerosSpec, type InitOptions, type SpecOf } from './init.js';

/** weight (scale) [C] starting at 1, bias (shift) [C] starting at 0. */
export interface GroupNormParams {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

export const groupNormSpec = ({ channels }: { readonly channels: number }): SpecOf<GroupNormParams> => ({
  weight: onesSpec([channels]),
  bias: zerosSpec([channels]),
});

/** Fresh group-norm params (deterministic: scale 1, shift 0, so no key). */
export const groupNormInit = (config: { readonly channels: number }, options: InitOptions = {}): GroupNormParams =>
  initParams<GroupNormParams>(key(0), groupNormSpec(config), options);

/** The largest group count <= maxGroups (default 32, as diffusion UNets use) that divides `channels`. */
export function defaultGroups(channels: number, maxGroups = 32): number {
  for (let g = Math.min(maxGroups, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}

/**
 * groupNorm(x) * weight + bias with `groups` groups (must divide C) and eps 1e-5 (torch's default),
 * then `activation` (default none; 'silu' runs a UNet's norm + SiLU as one op).
 */
export function groupNormApply(
  p: GroupNormParams,
  x: Tensor,
  {
    groups,
    eps = 1e-5,
    activation,
  }: { readonly groups: number; readonly eps?: number; readonly activation?: NormActivation },
): Tensor {
  const c = p.weight.shape[0];
  checkShape(
    x.rank >= 2 && x.shape[1] === c,
    'groupNormLayer',
    () => `x ${fmtShape(x.shape)} must have ${c} channels (axis 1) to match weight ${fmtShape(p.weight.shape)}.`,
  );
  checkShape(
    Number.isInteger(groups) && groups >= 1 && c % groups === 0,
    'groupNormLayer',
    () =>
      `groups = ${groups} must divide the ${c} channels; use defaultGroups(${c}) = ${defaultGroups(c)} or another divisor.`,
  );
  return groupNorm(x, { groups, weight: p.weight, bias: p.bias, eps, activation });
}
