// The denoising objective of an epsilon-prediction policy (Ho et al. 2020, eq. 14, "L_simple"):
// the mean squared error between the model's noise estimate and the noise that made x_t.
import { ShapeError, scope, tensor, square, sub, mean, PRNGKey, normal, split } from '../../index.js';
import type { Tensor } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import { randomStream } from '../../random/threefry.js';
import type { EpsModel } from '../types.js';
import { checkEps } from './ddim-step.js';
import { qSample, requireFloatBatch } from './q-sample.js';
import { requireSchedule, type NoiseSchedule } from './schedule.js';

/**
 * `batch` timesteps drawn uniformly from {0, ..., T-1} with `k`: floor(u * T) for the uniform
 * stream of `k` (the same float32 values `uniform(k, [batch])` gives on every backend), drawn on
 * the host so no readback is needed.
 */
export function sampleTimesteps(k: PRNGKey, batch: number, T: number): number[] {
  if (!(k instanceof PRNGKey))
    throw new ShapeError(`sampleTimesteps: expected a PRNGKey from key(seed) or split(k), got ${String(k)}.`);
  if (!Number.isInteger(batch) || batch < 0 || !Number.isInteger(T) || T < 1) {
    throw new ShapeError(
      `sampleTimesteps: batch ${batch} must be a non-negative integer and T ${T} a positive integer.`,
    );
  }
  return Array.from(randomStream('uniform', k.words, batch), (u) => Math.min(T - 1, Math.floor(u * T)));
}

export interface EpsLossInputs {
  /** Clean images [B, C, H, W] (in [-1, 1]). */
  readonly x0: Tensor;
  /** The conditioning passed to the model (the LQ images), batch B. */
  readonly cond: Tensor;
  /** Draws the timesteps and the noise: the loss is a deterministic function of params for a key. */
  readonly key: PRNGKey;
  readonly schedule: NoiseSchedule;
}

/**
 * The scalar mean over all elements of (eps_theta(x_t, t, cond) - noise)^2, with t ~ U{0..T-1}
 * per sample and noise ~ N(0, I) drawn from `key` (split into a timestep key and a noise key),
 * x_t = qSample(x0, t, noise). Differentiable w.r.t. params: use it inside valueAndGrad.
 */
export function epsLoss<P>(model: EpsModel<P>, params: P, inputs: EpsLossInputs): Tensor {
  const { x0, cond, key, schedule } = inputs;
  return scope(() => epsLossOf(model, params, { x0, cond, ...epsLossDraws(key, x0, schedule) }, schedule));
}

/** The random part of epsLoss: its timesteps [B] (float32, drawn on the host) and its noise, from `key`. */
export function epsLossDraws(key: PRNGKey, x0: Tensor, schedule: NoiseSchedule): { t: Tensor; noise: Tensor } {
  const op = 'epsLoss';
  requireSchedule(op, schedule);
  requireFloatBatch(op, x0, 'x0');
  if (!(key instanceof PRNGKey))
    throw new ShapeError(`${op}: expected a PRNGKey from key(seed) or split(k) as inputs.key, got ${String(key)}.`);
  const [timeKey, noiseKey] = split(key, 2);
  const t = sampleTimesteps(timeKey, x0.shape[0], schedule.T);
  return {
    t: tensor(t, { dtype: 'float32', backend: x0.backend }),
    noise: normal(noiseKey, x0.shape, { dtype: x0.dtype, backend: x0.backend }),
  };
}

/** The tensors epsLossOf reads: clean images, conditioning, timesteps [B] and noise. */
export interface EpsLossOfInputs {
  readonly x0: Tensor;
  readonly cond: Tensor;
  readonly t: Tensor;
  readonly noise: Tensor;
}

/**
 * epsLoss on given draws (epsLossDraws): every tensor it reads is an argument, so a training step
 * can record its loss-and-gradient call once and replay it (jit).
 */
export function epsLossOf<P>(model: EpsModel<P>, params: P, inputs: EpsLossOfInputs, schedule: NoiseSchedule): Tensor {
  const op = 'epsLoss';
  const { x0, cond, t, noise } = inputs;
  requireSchedule(op, schedule);
  requireFloatBatch(op, x0, 'x0');
  requireFloatBatch(op, cond, 'cond');
  if (cond.shape[0] !== x0.shape[0]) {
    throw new ShapeError(
      `${op}: cond ${fmtShape(cond.shape)} and x0 ${fmtShape(x0.shape)} must have the same batch size.`,
    );
  }
  return scope(() => {
    const xt = qSample(schedule, x0, t, noise);
    const eps = checkEps(op, model(params, xt, t, cond), xt);
    return mean(square(sub(eps, noise)));
  });
}
