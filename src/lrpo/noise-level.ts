// Noise-level advantage assignment (docs/architecture.md, "The LRPO pipeline"): a sample's
// advantage is spread over the trained denoising steps in proportion to each step's sampling noise
// s_t, then clipped.
import { LrpoConfigError } from './config.js';

type Numbers = Float64Array | Float32Array | readonly number[];

/**
 * w_j = s_{t_j} / mean_k s_{t_k} over the trained steps (LRPO's noise-level weights; they average
 * to 1). `sigmas` are the DDIM step stds s_t of the trained steps, in sampling order. Every s_t
 * must be finite and > 0: a zero-noise step (the last DDIM step, or eta = 0) has no log-prob to
 * train, so leave it out (trainLastStep: false) rather than weighting it 0.
 */
export function noiseLevelWeights(sigmas: Numbers): Float64Array {
  const op = 'noiseLevelWeights';
  if (sigmas === null || typeof sigmas !== 'object' || sigmas.length === 0) {
    throw new RangeError(
      `${op}: expected the s_t of at least one trained step, got ${sigmas === null || typeof sigmas !== 'object' ? String(sigmas) : 'an empty list'}.`,
    );
  }
  let total = 0;
  for (let j = 0; j < sigmas.length; j++) {
    const s = sigmas[j];
    if (!(typeof s === 'number' && Number.isFinite(s) && s > 0)) {
      throw new RangeError(
        `${op}: sigma ${j} is ${String(s)}; every trained step's s_t must be finite and ` +
          `> 0 (leave deterministic steps, such as the last DDIM step, out of training).`,
      );
    }
    total += s;
  }
  const meanSigma = total / sigmas.length;
  return Float64Array.from(sigmas, (s) => s / meanSigma);
}

export interface StepAdvantageOptions {
  /** A_ij is clipped to [-clip, clip] (default 5, the paper's; Infinity: no clipping). */
  readonly clip?: number;
  /** The number of trained steps; required when `weights` is null, else must equal weights.length. */
  readonly steps?: number;
}

/**
 * A_ij = clip(A_i * w_j, -clip, clip) (docs/architecture.md, "The LRPO pipeline"), or clip(A_i,
 * -clip, clip) for every step when `weights` is null (the "no noise-level" ablation; pass `steps`).
 * Returns a row-major Float64Array [samples][steps]: A_ij at i * steps + j. Use `stepColumn` for
 * one step's [samples].
 */
export function stepAdvantages(
  advantages: Numbers,
  weights: Numbers | null,
  options: StepAdvantageOptions = {},
): Float64Array {
  const op = 'stepAdvantages';
  const clip = options.clip ?? 5;
  if (!(typeof clip === 'number' && clip > 0))
    throw new LrpoConfigError(
      `${op}: clip is ${String(clip)}; expected a number > 0 (the paper uses 5; Infinity switches clipping off).`,
    );
  if (advantages === null || typeof advantages !== 'object' || advantages.length === 0) {
    throw new RangeError(
      `${op}: expected the per-sample advantages (groupAdvantages' result), ` +
        `got ${advantages === null || typeof advantages !== 'object' ? String(advantages) : 'an empty list'}.`,
    );
  }
  const steps = weights === null ? options.steps : weights.length;
  if (weights === null && options.steps === undefined) {
    throw new RangeError(
      `${op}: weights is null (no noise-level weighting), so pass { steps } to say how many trained steps to fill.`,
    );
  }
  if (!(typeof steps === 'number' && Number.isInteger(steps) && steps >= 1)) {
    throw new RangeError(
      `${op}: ${weights === null ? `steps is ${String(options.steps)}` : 'weights is empty'}; expected at least one trained step.`,
    );
  }
  if (weights !== null && options.steps !== undefined && options.steps !== weights.length) {
    throw new RangeError(
      `${op}: steps is ${options.steps} but there are ${weights.length} weights; give one weight per trained step (or leave steps out).`,
    );
  }
  for (let i = 0; i < advantages.length; i++) {
    if (!Number.isFinite(advantages[i]))
      throw new RangeError(`${op}: advantage ${i} is ${String(advantages[i])}; advantages must be finite.`);
  }
  if (weights !== null) {
    for (let j = 0; j < weights.length; j++) {
      if (!(Number.isFinite(weights[j]) && weights[j] >= 0))
        throw new RangeError(
          `${op}: weight ${j} is ${String(weights[j])}; weights must be finite and >= 0 (from noiseLevelWeights).`,
        );
    }
  }
  const out = new Float64Array(advantages.length * steps);
  for (let i = 0; i < advantages.length; i++) {
    for (let j = 0; j < steps; j++) {
      const a = advantages[i] * (weights === null ? 1 : weights[j]);
      out[i * steps + j] = Math.min(clip, Math.max(-clip, a));
    }
  }
  return out;
}

/** Step j's advantages of every sample, [samples], from stepAdvantages' [samples][steps] layout. */
export function stepColumn(values: Float64Array, steps: number, j: number): Float64Array {
  const op = 'stepColumn';
  if (!(Number.isInteger(steps) && steps >= 1 && values.length % steps === 0)) {
    throw new RangeError(
      `${op}: ${values.length} values do not split into rows of ${steps} steps; pass the steps stepAdvantages was built with.`,
    );
  }
  if (!(Number.isInteger(j) && j >= 0 && j < steps))
    throw new RangeError(`${op}: step ${j} is out of range; expected an integer in 0..${steps - 1}.`);
  const samples = values.length / steps;
  return Float64Array.from({ length: samples }, (_, i) => values[i * steps + j]);
}
