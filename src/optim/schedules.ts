// Learning-rate schedules: pure functions from the 0-based update count to a learning rate.

/** A learning-rate schedule: `step` is the number of updates already applied (0 for the first). */
export type Schedule = (step: number) => number;

/** A schedule that always returns `lr`. */
export const constantSchedule =
  (lr: number): Schedule =>
  () =>
    lr;

/** Linear ramp from `start` (default 0) to `peak` over `warmupSteps` updates, then `peak`. */
export function linearWarmup({
  peak,
  warmupSteps,
  start = 0,
}: {
  peak: number;
  warmupSteps: number;
  start?: number;
}): Schedule {
  return (step) => (warmupSteps > 0 && step < warmupSteps ? start + ((peak - start) * step) / warmupSteps : peak);
}

/**
 * Linear warmup from 0 to `peak` over `warmupSteps`, then a half-cosine from `peak` to `final`
 * (default 0) reached at `totalSteps` (counted from the start, warmup included), then `final`.
 * The shape of optax's `warmup_cosine_decay_schedule` (Loshchilov & Hutter, SGDR, eq. 5).
 */
export function cosineDecay({
  peak,
  warmupSteps = 0,
  totalSteps,
  final = 0,
}: {
  peak: number;
  warmupSteps?: number;
  totalSteps: number;
  final?: number;
}): Schedule {
  if (!(totalSteps > warmupSteps)) {
    throw new RangeError(
      `cosineDecay: totalSteps (${totalSteps}) must exceed warmupSteps (${warmupSteps}); raise totalSteps.`,
    );
  }
  const warm = linearWarmup({ peak, warmupSteps });
  return (step) => {
    if (step < warmupSteps) return warm(step);
    const progress = Math.min(1, (step - warmupSteps) / (totalSteps - warmupSteps));
    return final + 0.5 * (peak - final) * (1 + Math.cos(Math.PI * progress));
  };
}
