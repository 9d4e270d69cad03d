// What the diffusion policy denoises, and how images enter and leave that space. Images are
// [0, 1]; the model sees [-1, 1]. With the 'residual' space the policy samples the scaled
// difference HQ - LQ (SR3/ResShift-style residual diffusion): a small model then spends its
// capacity on lost detail instead of re-drawing the whole face, and it learns faster (see DEFAULT_TARGET_SPACE). 'image' samples the HQ image itself.
import { add, clamp, div, mul, sub, scope } from '../index.js';
import type { Tensor } from '../index.js';
import { gaussianBlur } from '../data/degrade.js';

export interface TargetSpace {
  readonly kind: 'residual' | 'image';
  /** residual: x0 = (hq - lq) * scale (in [0, 1] units); ignored for 'image'. */
  readonly scale: number;
  /**
   * residual only: the restoration keeps its input's content below a Gaussian low-pass of this
   * sigma (px at the policy's size): the generated residual's part below it is dropped. Blur,
   * resampling, noise and JPEG leave a face's coarse content where it was, so what a sample adds
   * there is error (a tiny policy's samples shift 8x8 block means 3x as far from the ground truth
   * as the LQ input's are, docs/faces.md). Absent or 0: off.
   */
  readonly inputLowpass?: number;
}

/** Why a target space (e.g. read from a checkpoint) cannot be used, or undefined when it can. */
export function targetSpaceProblem(space: unknown): string | undefined {
  if (typeof space !== 'object' || space === null) return `the target space is ${JSON.stringify(space)}, not a record`;
  const { kind, scale, inputLowpass } = space as Record<string, unknown>;
  if (kind !== 'residual' && kind !== 'image')
    return `target space kind ${JSON.stringify(kind)} is not 'residual' or 'image'`;
  if (typeof scale !== 'number' || !(scale > 0 && Number.isFinite(scale)))
    return `target space scale ${JSON.stringify(scale)} is not a finite number > 0`;
  if (inputLowpass !== undefined && !(typeof inputLowpass === 'number' && inputLowpass >= 0 && inputLowpass <= 64))
    return `target space inputLowpass ${JSON.stringify(inputLowpass)} is not a number of pixels in [0, 64]`;
  return undefined;
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
  return scope(() => {
    if (space.kind === 'image') return clamp(div(add(x0, 1), 2), { min: 0, max: 1 });
    const residual = div(x0, space.scale);
    const sigma = space.inputLowpass ?? 0;
    const kept = sigma > 0 ? sub(residual, gaussianBlur(residual, sigma)) : residual;
    return clamp(add(lq, kept), { min: 0, max: 1 });
  });
}
