// A no-reference quality score that works on 32-64 px faces (issue 16): gradient energy with the
// noise's share removed (detail, which blur lowers), minus a noise estimate from the quietest
// blocks' finest wavelet band, minus the excess of 8x8 block-boundary steps (JPEG blocking). Made of engine ops, so it is
// differentiable and can serve direct reward backprop as well as LRPO's rollouts.
import {
  scope,
  tensor,
  avgPool2d,
  conv2d,
  abs,
  add,
  div,
  exp,
  log,
  mul,
  sigmoid,
  sqrt,
  square,
  sub,
  matmul,
  reshape,
  slice,
  mean,
  min,
  sum,
} from '../index.js';
import type { Tensor } from '../index.js';
import { MetricInputError, checkImages } from './validate.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface DetailQualityOptions {
  /** Weight of the noise estimate against detail (default 1.5). */
  readonly noiseWeight?: number;
  /** Weight of the block-boundary excess (default 4). */
  readonly blockWeight?: number;
  /** Temperature of the soft minimum over 8x8 blocks' noise r.m.s., on a log scale (default 0.3: blocks within ~35% of the quietest count). */
  readonly softness?: number;
  /** The raw score maps to sigmoid(gain * (raw - centre)) (defaults 40 and 0.03: a clean face scores about 0.5-0.8). */
  readonly gain?: number;
  readonly centre?: number;
}

/** The parts of the score per image, [N] each, before the squashing. */
export interface DetailQualityParts {
  /** R.m.s. luma gradient with the noise estimate's expected share removed: sqrt(max(0, E|grad|^2 - 4 noise^2)). */
  readonly detail: Tensor;
  /** Soft minimum over 8x8 blocks of the r.m.s. diagonal Haar band of the luma: about the noise s.d. */
  readonly noise: Tensor;
  /** The smallest excess of the |step| across an 8-pixel block boundary over its neighbours' steps, floored at 0 (both axes summed). */
  readonly blocking: Tensor;
}

const LUMA = [0.299, 0.587, 0.114] as const;

/** Luma [N, 1, H, W] of RGB (or gray) NCHW images. */
function lumaOf(x: Tensor): Tensor {
  const c = x.shape[1];
  if (c === 1) return x;
  return conv2d(x, tensor([...LUMA], { shape: [1, 3, 1, 1], dtype: x.dtype, backend: x.backend }));
}

/**
 * Mean squared forward difference (horizontal plus vertical) per image, y [N, 1, H, W] -> [N],
 * inside 8-pixel blocks only: steps across block boundaries (where JPEG puts its block edges) are
 * not detail. 4 sigma^2 for white noise of s.d. sigma.
 */
function stepEnergies(y: Tensor): { inside: Tensor } {
  const [n, , h, w] = y.shape;
  const dx = sub(
    slice(y, [0, 0, 0, 1], [undefined, undefined, h - 1, w]),
    slice(y, [0, 0, 0, 0], [undefined, undefined, h - 1, w - 1]),
  );
  const dy = sub(
    slice(y, [0, 0, 1, 0], [undefined, undefined, h, w - 1]),
    slice(y, [0, 0, 0, 0], [undefined, undefined, h - 1, w - 1]),
  );
  const energy = (keep: (i: number) => boolean) => {
    const mx = Array.from({ length: w - 1 }, (_, i) => (keep(i) ? 1 : 0));
    const my = Array.from({ length: h - 1 }, (_, i) => (keep(i) ? 1 : 0));
    const count = mx.reduce((a: number, b) => a + b, 0) * (h - 1) + my.reduce((a: number, b) => a + b, 0) * (w - 1);
    if (count === 0) return mul(sum(dx, { axis: [1, 2, 3] }), 0);
    const e = add(
      mul(square(dx), tensor(mx, { shape: [1, 1, 1, w - 1], dtype: y.dtype, backend: y.backend })),
      mul(square(dy), tensor(my, { shape: [1, 1, h - 1, 1], dtype: y.dtype, backend: y.backend })),
    );
    return reshape(div(sum(e, { axis: [1, 2, 3] }), count / 2), [n]);
  };
  return { inside: energy((i) => i % 8 !== 7) };
}

/**
 * Block-boundary excess along one axis, per image: y [N, 1, H, W] -> [N]. For each 8-pixel block
 * boundary, the mean |step| across it minus 0.75 x the steps just before and after it (natural
 * images: about -0.5 x a step); the smallest of these over the boundaries, floored at 0. JPEG
 * blocking raises every boundary, a chance edge only one, so the minimum ignores edges.
 */
function boundaryExcess(y: Tensor, axis: 2 | 3): Tensor {
  const [n, , h, w] = y.shape;
  const len = axis === 3 ? w : h;
  const steps =
    axis === 3
      ? abs(sub(slice(y, [0, 0, 0, 1]), slice(y, [0, 0, 0, 0], [undefined, undefined, h, w - 1])))
      : abs(sub(slice(y, [0, 0, 1, 0]), slice(y, [0, 0, 0, 0], [undefined, undefined, h - 1])));
  const profile = reshape(mean(steps, { axis: axis === 3 ? 2 : 3 }), [n, len - 1]);
  // Boundary steps i = 7, 15, ... with a neighbour on each side.
  const boundaries = Array.from({ length: len - 1 }, (_, i) => i).filter((i) => i % 8 === 7 && i + 1 < len - 1);
  if (boundaries.length === 0) return mul(sum(profile, { axis: 1 }), 0);
  const weights = new Float32Array((len - 1) * boundaries.length);
  boundaries.forEach((b, j) => {
    weights[b * boundaries.length + j] = 1;
    weights[(b - 1) * boundaries.length + j] = -0.75;
    weights[(b + 1) * boundaries.length + j] = -0.75;
  });
  const excess = matmul(
    profile,
    tensor(weights, { shape: [len - 1, boundaries.length], dtype: y.dtype, backend: y.backend }),
  );
  return relu0(min(excess, { axis: 1 }));
}

/** The three parts of detailQuality per image (see DetailQualityParts). */
export function detailQualityParts(
  images: Tensor,
  options: Pick<DetailQualityOptions, 'softness'> = {},
): DetailQualityParts {
  const op = 'detailQuality';
  checkImages(op, images, 'images', { minSize: 8, minSizeReason: 'the half-resolution gradients and 8-pixel blocks' });
  const c = images.shape[1];
  if (c !== 1 && c !== 3)
    throw new MetricInputError(`${op}: images must have 1 or 3 channels (gray or RGB), got ${c}.`);
  const softness = options.softness ?? 0.3;
  const [n, , h, w] = images.shape;
  const h2 = h - (h % 2);
  const w2 = w - (w % 2);
  const y = lumaOf(images);
  const even = h2 === h && w2 === w ? y : slice(y, [0, 0, 0, 0], [n, 1, h2, w2]);
  // Diagonal Haar detail of each 2x2 block: (a - b - c + d) / 2, s.d. sigma for white noise of s.d.
  // sigma. Its r.m.s. over 8x8-pixel blocks, then a soft minimum over the blocks: noise is in every
  // block, detail only in some, so the quietest blocks say how noisy the image is.
  const hh = conv2d(even, tensor([0.5, -0.5, -0.5, 0.5], { shape: [1, 1, 2, 2], dtype: y.dtype, backend: y.backend }), {
    stride: 2,
  });
  const side = [Math.floor(hh.shape[2] / 4) * 4, Math.floor(hh.shape[3] / 4) * 4];
  const blockRms = sqrt(add(avgPool2d(square(slice(hh, [0, 0, 0, 0], [n, 1, side[0], side[1]])), { kernel: 4 }), 1e-8));
  // Weighted toward the quietest blocks by their ratio to the quietest, (min / rms)^(1 / softness):
  // scale-free, so it tracks the noise level at any strength.
  const quiet = exp(div(log(div(blockRms, min(blockRms, { axis: [1, 2, 3], keepdims: true }))), -softness));
  const noise = div(sum(mul(quiet, blockRms), { axis: [1, 2, 3] }), sum(quiet, { axis: [1, 2, 3] }));
  const sigma = reshape(noise, [n]);
  // Detail: the r.m.s. gradient with the noise's expected share (4 sigma^2) taken out, so added
  // noise does not count as detail.
  const { inside } = stepEnergies(y);
  const detail = sqrt(add(relu0(sub(inside, mul(square(sigma), 4))), 1e-8));
  const blocking = add(boundaryExcess(y, 3), boundaryExcess(y, 2));
  return { detail, noise: sigma, blocking };
}

/** max(x, 0) written with |.| so it stays in the elementwise family. */
const relu0 = (x: Tensor): Tensor => mul(add(x, abs(x)), 0.5);

/**
 * detailQuality: a no-reference quality score in (0, 1) per image of an NCHW batch in [0, 1] (RGB
 * or gray, at least 8 px), higher is better: sigmoid(gain * (detail - noiseWeight * noise -
 * blockWeight * blocking - centre)). It rises with real detail (blur lowers it), and falls when
 * Gaussian noise or JPEG blocking is added (tests/metrics-detail-quality.test.ts checks exactly
 * these on real and procedural faces at 32 and 64 px). Differentiable. Unlike
 * laplacianSharpness it does not reward noise; unlike BRISQUE it does not leave its trained range
 * at these sizes. It knows nothing about faces: pair it with reference terms.
 */
export function detailQuality(images: Tensor, options: DetailQualityOptions = {}): Tensor {
  requireOptions('detailQuality', options, '{ noiseWeight: 2 }');
  const noiseWeight = options.noiseWeight ?? 2;
  const blockWeight = options.blockWeight ?? 4;
  const gain = options.gain ?? 20;
  const centre = options.centre ?? 0.04;
  for (const [name, v] of Object.entries({ noiseWeight, blockWeight, gain })) {
    if (!(Number.isFinite(v) && v >= 0))
      throw new MetricInputError(`detailQuality: ${name} must be a finite number >= 0, got ${v}.`);
  }
  if (!Number.isFinite(centre)) throw new MetricInputError(`detailQuality: centre must be finite, got ${centre}.`);
  return scope(() => {
    const { detail, noise, blocking } = detailQualityParts(images, options);
    const raw = sub(sub(detail, mul(noise, noiseWeight)), mul(blocking, blockWeight));
    return sigmoid(mul(sub(raw, centre), gain));
  });
}
