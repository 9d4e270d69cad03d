// The training loop of every method, as a fold: apply the method's step until `steps` updates are
// done, telling the hooks after each. Methods differ only in the step they hand in.
import type { TrainState } from './state.js';

export interface TrainHooks<M> {
  /** After every step, with the step's metrics (awaited). */
  readonly onStep?: (metrics: M) => void | Promise<void>;
  /** Every `every` steps and after the last: evaluation, checkpoints (awaited before going on). */
  readonly periodic?: { readonly every: number; readonly run: (state: TrainState) => Promise<void> };
}

/** One step of a method: consumes the state, returns the next and what to report. */
export type TrainStep<M> = (state: TrainState) => Promise<{ readonly state: TrainState; readonly metrics: M }>;

/**
 * Runs `step` from state.step until `steps` (a resumed state finishes the same run). Consumes
 * `state` and returns the final one.
 */
export async function trainFold<M>(
  state: TrainState,
  steps: number,
  step: TrainStep<M>,
  hooks: TrainHooks<M> = {},
): Promise<TrainState> {
  let current = state;
  while (current.step < steps) {
    const { state: next, metrics } = await step(current);
    current = next;
    await hooks.onStep?.(metrics);
    if (hooks.periodic && (current.step % hooks.periodic.every === 0 || current.step === steps))
      await hooks.periodic.run(current);
  }
  return current;
}
