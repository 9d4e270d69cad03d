// The KL divergence between two denoising-step Gaussians of equal variance, per sample: the
// optional KL-to-reference penalty of the LRPO objective (paper weight beta = 0).
import { isFloat } from '../tensor/dtype.js';
import { DTypeError, ShapeError, scope, div, mul, square, sub, reshape, mean, Tensor } from '../index.js';
import { fmtShape } from '../tensor/errors.js';
import { requireTensor } from '../tensor/ops/operand.js';
import { shapesEqual } from '../tensor/shape.js';

/**
 * KL(N(meanP, s^2 I) || N(meanQ, s^2 I)) / D per sample = mean_d (meanP - meanQ)^2 / (2 s^2), shape
 * [B] (the closed form for equal variances, averaged over the D non-batch dimensions like the
 * per-step log-probs). meanP and meanQ are [B, ...] of one shape (e.g. mu_theta and mu_ref of one
 * DDIM step); sigma is s_t: a number, a scalar or [1] tensor, a [B] tensor (one s per sample), or a
 * tensor broadcasting to meanP. Gradients flow into both means: wrap a reference mean in
 * stopGradient if it depends on the trained params. sigma must be > 0 (not checked on device).
 */
export function gaussianKl(meanP: Tensor, meanQ: Tensor, sigma: Tensor | number): Tensor {
  const op = 'gaussianKl';
  requireTensor(op, meanP, 'meanP');
  requireTensor(op, meanQ, 'meanQ');
  for (const [name, t] of [
    ['meanP', meanP],
    ['meanQ', meanQ],
  ] as const) {
    if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${name} has dtype ${t.dtype}; expected float32 or float64.`);
  }
  if (meanP.rank < 1 || !shapesEqual(meanP.shape, meanQ.shape)) {
    throw new ShapeError(
      `${op}: meanP ${fmtShape(meanP.shape)} and meanQ ${fmtShape(meanQ.shape)} must have one shape [B, ...]; pass the two step means of the same batch.`,
    );
  }
  if (typeof sigma === 'number') {
    if (!(sigma > 0 && Number.isFinite(sigma)))
      throw new RangeError(`${op}: sigma is ${sigma}; expected a finite s_t > 0 (a zero-noise step has no KL).`);
  } else {
    requireTensor(op, sigma, 'sigma');
    if (!isFloat(sigma.dtype))
      throw new DTypeError(`${op}: sigma has dtype ${sigma.dtype}; expected float32 or float64.`);
  }
  const b = meanP.shape[0];
  return scope(() => {
    let s: Tensor | number = sigma;
    // A [B] sigma is one s per sample: line it up with the batch axis ([1] broadcasts as is).
    if (s instanceof Tensor && s.rank === 1 && s.shape[0] !== 1 && meanP.rank > 1) {
      if (s.shape[0] !== b)
        throw new ShapeError(
          `${op}: sigma ${fmtShape(s.shape)} is a vector but meanP ${fmtShape(meanP.shape)} has ${b} samples; ` +
            `pass one s per sample, a scalar, or a tensor broadcasting to meanP.`,
        );
      s = reshape(s, [b, ...meanP.shape.slice(1).map(() => 1)]);
    }
    const twoVariance = s instanceof Tensor ? mul(square(s), 2) : 2 * s * s;
    const perDim = div(square(sub(meanP, meanQ)), twoVariance);
    if (!shapesEqual(perDim.shape, meanP.shape)) {
      throw new ShapeError(
        `${op}: sigma ${fmtShape((sigma as Tensor).shape)} broadcasts meanP ${fmtShape(meanP.shape)} to ` +
          `${fmtShape(perDim.shape)}; pass a number, a scalar, [${b}] or a shape that broadcasts to meanP.`,
      );
    }
    return meanP.rank === 1 ? perDim : mean(perDim, { axis: meanP.shape.slice(1).map((_, i) => i + 1) });
  });
}
