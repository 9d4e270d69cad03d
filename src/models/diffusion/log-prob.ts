// The isotropic Gaussian log-density per sample, averaged over dimensions as LRPO's per-step
// policy log-probability is (docs/architecture.md, "The LRPO pipeline").
import { ShapeError, scope, add, mul, square, sub, reshape, mean } from '../../index.js';
import type { Tensor } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import { requireFloatBatch } from './q-sample.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log N(x; mean, sigma^2 I) per sample, AVERAGED over the non-batch dimensions:
 * mean_d[-(x_d - mean_d)^2 / (2 sigma^2)] - log sigma - 0.5 log(2 pi), shape [B].
 * x and mean share their shape [B, ...]; sigma is a positive number. Differentiable in x and mean.
 */
export function gaussianLogProb(x: Tensor, mean_: Tensor, sigma: number): Tensor {
  const op = 'gaussianLogProb';
  requireFloatBatch(op, x, 'x');
  requireFloatBatch(op, mean_, 'mean');
  if (x.shape.length !== mean_.shape.length || x.shape.some((d, i) => d !== mean_.shape[i])) {
    throw new ShapeError(`${op}: x ${fmtShape(x.shape)} and mean ${fmtShape(mean_.shape)} must have the same shape.`);
  }
  if (typeof sigma !== 'number' || !(sigma > 0) || !Number.isFinite(sigma)) {
    throw new ShapeError(
      `${op}: sigma must be a finite number > 0, got ${String(sigma)}. A step with sigma 0 (eta = 0, or the last step of a ` +
        `stepsOffset-0 plan) is deterministic and has no density; sample with eta > 0 (LRPO uses eta = 1).`,
    );
  }
  return scope(() => {
    const batch = x.shape[0];
    const meanSq = mean(reshape(square(sub(x, mean_)), [batch, -1]), { axis: 1 });
    return add(mul(meanSq, -0.5 / (sigma * sigma)), -Math.log(sigma) - HALF_LOG_2PI);
  });
}
