// The PPO-clip policy loss of one denoising step (docs/architecture.md, "The LRPO pipeline"), and
// its diagnostics (approximate KL, clip fraction) read back to host numbers.
import { stopGradient, DTypeError, ShapeError, scope, clamp, exp, maximum, mul, neg, sub, mean } from '../index.js';
import type { Tensor } from '../index.js';
import { isFloat } from '../tensor/dtype.js';
import { fmtShape } from '../tensor/errors.js';
import { requireTensor } from '../tensor/ops/operand.js';
import { LrpoConfigError } from './config.js';

export interface PpoClipOptions {
  /** The ratio is clipped to [1 - clipEps, 1 + clipEps] (default 1e-4, the paper's). */
  readonly clipEps?: number;
}

/** Throws unless every tensor is a float vector of one length N >= 1; names each by role. */
export function checkVectors(op: string, named: Readonly<Record<string, unknown>>): number {
  let n: number | undefined;
  let first = '';
  for (const [name, x] of Object.entries(named)) {
    const t = requireTensor(op, x, name);
    if (!isFloat(t.dtype)) throw new DTypeError(`${op}: ${name} has dtype ${t.dtype}; expected float32 or float64.`);
    if (t.rank !== 1 || t.size === 0) {
      throw new ShapeError(
        `${op}: ${name} has shape ${fmtShape(t.shape)}; expected a non-empty vector [N], one value per sample (average log-probs over pixels first).`,
      );
    }
    if (n === undefined) {
      n = t.shape[0];
      first = name;
    } else if (t.shape[0] !== n) {
      throw new ShapeError(
        `${op}: ${name} has shape ${fmtShape(t.shape)} but ${first} has [${n}]; pass one value per sample for every input.`,
      );
    }
  }
  return n!;
}

export function checkClipEps(op: string, clipEps: number): void {
  if (!(typeof clipEps === 'number' && clipEps > 0 && clipEps < 1)) {
    throw new LrpoConfigError(
      `${op}: clipEps is ${String(clipEps)}; expected a number in (0, 1) (the paper uses 1e-4).`,
    );
  }
}

/**
 * L_policy = mean_i max(-A_i rho_i, -A_i clip(rho_i, 1 - eps, 1 + eps)), rho_i = exp(logProbNew_i -
 * logProbOld_i) (PPO-clip, Schulman et al. 2017, eq. 7, as a loss; docs/architecture.md, "The LRPO
 * pipeline"). Inputs are [N] (one trained step of N = B * K samples). logProbOld and advantages are
 * treated as constants (stopGradient). Returns a scalar tensor for valueAndGrad: where the clipped
 * term wins (rho > 1 + eps with A > 0, rho < 1 - eps with A < 0) the gradient is zero. At an exact
 * tie (rho = 1 +- eps) our maximum/minimum split the gradient in half, as JAX does.
 */
export function ppoClipLoss(
  logProbNew: Tensor,
  logProbOld: Tensor,
  advantages: Tensor,
  options: PpoClipOptions = {},
): Tensor {
  const op = 'ppoClipLoss';
  const clipEps = options.clipEps ?? 1e-4;
  checkClipEps(op, clipEps);
  checkVectors(op, { logProbNew, logProbOld, advantages });
  return scope(() => {
    const negA = neg(stopGradient(advantages));
    const ratio = exp(sub(logProbNew, stopGradient(logProbOld)));
    const unclipped = mul(negA, ratio);
    const clipped = mul(negA, clamp(ratio, { min: 1 - clipEps, max: 1 + clipEps }));
    return mean(maximum(unclipped, clipped));
  });
}

/** Host-side summaries of one PPO step, for logging (not differentiable). */
export interface PpoDiagnostics {
  /** 0.5 * mean((logProbNew - logProbOld)^2), the approximate KL logged by DDPO / Flow-GRPO. */
  readonly approxKl: number;
  /** Fraction of samples with |rho - 1| > clipEps (their gradient is clipped when A's sign agrees). */
  readonly clipFraction: number;
  readonly ratioMean: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
}

/**
 * Reads logProbNew and logProbOld [N] back and computes PpoDiagnostics in float64 on the host.
 * Cheap (two vectors of N numbers); await it outside any scope. Near |rho - 1| = clipEps the
 * clip fraction may differ from the device's float32 ratio by one sample.
 */
export async function ppoDiagnostics(
  logProbNew: Tensor,
  logProbOld: Tensor,
  options: PpoClipOptions = {},
): Promise<PpoDiagnostics> {
  const op = 'ppoDiagnostics';
  const clipEps = options.clipEps ?? 1e-4;
  checkClipEps(op, clipEps);
  const n = checkVectors(op, { logProbNew, logProbOld });
  const [lpNew, lpOld] = await Promise.all([logProbNew.data(), logProbOld.data()]);
  let kl = 0;
  let clipped = 0;
  let sum = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const d = lpNew[i] - lpOld[i];
    const rho = Math.exp(d);
    kl += 0.5 * d * d;
    if (Math.abs(rho - 1) > clipEps) clipped++;
    sum += rho;
    lo = Math.min(lo, rho);
    hi = Math.max(hi, rho);
  }
  return { approxKl: kl / n, clipFraction: clipped / n, ratioMean: sum / n, ratioMin: lo, ratioMax: hi };
}
