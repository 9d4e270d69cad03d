// What the diffusion policy denoises, and how images enter and leave that space. Images are
// [0, 1]; the model sees [-1, 1]. With the 'residual' space the policy samples the scaled
// difference HQ - LQ (SR3/ResShift-style residual diffusion): a small model then spends its
// capacity on lost detail instead of re-drawing the whole face, and it learns faster (see DEFAULT_TARGET_SPACE). 'image' samples the HQ image itself.
import { add, clamp, div, mul, sub, scope } from '../index.js';
import type { Tensor } from '../index.js';

export interface TargetSpace {
  readonly kind: 'residual' | 'image';
  /** residual: x0 = (hq - lq) * scale (in [0, 1] units); ignored for 'image'. */
  readonly scale: number;
}

/**
 * Residual x4: on the tiny preset, residual SFT learns where image-space SFT still gives noise
 * (docs/measurements.md).
 */
export const DEFAULT_TARGET_SPACE: TargetSpace = Object.freeze({ kind: 'residual', scale: 4 });

/** The conditioning image: LQ in [0, 1] mapped to the model's [-1, 1]. */
export const conditionOf = (lq: Tensor): Tensor => scope(() => sub(mul(lq, 2), 1));

/** The clean sample x0 the policy learns to generate for the pair (hq, lq). */
export function targetOf(space: TargetSpace, hq: Tensor, lq: Tensor): Tensor {
  return scope(() => (space.kind === 'residual' ? mul(sub(hq, lq), space.scale) : sub(mul(hq, 2), 1)));
}

/** The restored image in [0, 1] from a generated x0 (clamped: samples may overshoot). */
export function imageOf(space: TargetSpace, x0: Tensor, lq: Tensor): Tensor {
  return scope(() =>
    clamp(space.kind === 'residual' ? add(lq, div(x0, space.scale)) : div(add(x0, 1), 2), { min: 0, max: 1 }),
  );
}
