// The noise schedule: Stable Diffusion's "scaled linear" betas and their cumulative alpha products,
// as a host-side float64 table (docs/architecture.md, "The LRPO pipeline"), plus the timestep
// checks every diffusion function shares.
import { ShapeError } from '../../index.js';
import { requireOptions } from '../../tensor/ops/operand.js';

/**
 * A discrete noise schedule with T steps: `betas[t]` and `alphasCumprod[t]` = prod_{s<=t}(1 - betas[s])
 * (abar_t), for t in 0..T-1, in float64 on the host. The record is frozen; its typed arrays cannot
 * be frozen by JavaScript, so treat them as read-only.
 */
export interface NoiseSchedule {
  readonly kind: 'scaled-linear';
  readonly T: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
}

/** Another name for NoiseSchedule. */
export type DiffusionSchedule = NoiseSchedule;

export interface ScaledLinearScheduleOptions {
  /** beta_0 (default 0.00085, Stable Diffusion's). */
  readonly betaStart?: number;
  /** beta_{T-1} (default 0.012). */
  readonly betaEnd?: number;
  /** The number of diffusion steps T (default 1000). */
  readonly steps?: number;
}

/**
 * Stable Diffusion's scaled-linear schedule: betas = linspace(sqrt(betaStart), sqrt(betaEnd), T)^2
 * (diffusers' `beta_schedule="scaled_linear"`), computed in float64 (diffusers uses float32, so
 * its abar values differ from ours by ~1e-7 relative).
 */
export function scaledLinearSchedule(options: ScaledLinearScheduleOptions = {}): NoiseSchedule {
  const op = 'scaledLinearSchedule';
  requireOptions(op, options, '{ steps: 1000, betaStart: 0.00085, betaEnd: 0.012 }');
  const betaStart = options.betaStart ?? 0.00085;
  const betaEnd = options.betaEnd ?? 0.012;
  const T = options.steps ?? 1000;
  if (!Number.isInteger(T) || T < 1) {
    throw new ShapeError(`${op}: steps must be a positive integer, got ${T}. The paper's policy uses steps: 1000.`);
  }
  if (!(betaStart > 0 && betaEnd > 0 && betaStart < 1 && betaEnd < 1)) {
    throw new ShapeError(
      `${op}: betaStart ${betaStart} and betaEnd ${betaEnd} must lie in (0, 1); the defaults are 0.00085 and 0.012.`,
    );
  }
  const lo = Math.sqrt(betaStart);
  const hi = Math.sqrt(betaEnd);
  const betas = new Float64Array(T);
  const alphasCumprod = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    const root = T === 1 ? lo : t === T - 1 ? hi : lo + ((hi - lo) * t) / (T - 1);
    betas[t] = root * root;
    prod *= 1 - betas[t];
    alphasCumprod[t] = prod;
  }
  return Object.freeze({ kind: 'scaled-linear', T, betaStart, betaEnd, betas, alphasCumprod });
}

/** Throws unless `schedule` looks like a NoiseSchedule (a clear message for a wrong argument). @internal */
export function requireSchedule(op: string, schedule: unknown): NoiseSchedule {
  const s = schedule as Partial<NoiseSchedule> | undefined;
  if (
    s === undefined ||
    s === null ||
    !Number.isInteger(s.T) ||
    !(s.alphasCumprod instanceof Float64Array) ||
    s.alphasCumprod.length !== s.T
  ) {
    throw new ShapeError(`${op}: expected a NoiseSchedule from scaledLinearSchedule(), got ${String(schedule)}.`);
  }
  return s as NoiseSchedule;
}

/** Throws unless every timestep is an integer in 0..T-1, naming the first bad one. @internal */
export function checkTimesteps(op: string, schedule: NoiseSchedule, t: readonly number[]): void {
  const bad = t.findIndex((v) => !Number.isInteger(v) || v < 0 || v >= schedule.T);
  if (bad >= 0) {
    throw new ShapeError(
      `${op}: timestep t[${bad}] = ${t[bad]} is not an integer in 0..${schedule.T - 1} (the schedule has T = ${schedule.T} steps). ` +
        `Pass integer timesteps below T.`,
    );
  }
}
