// One optimizer update of a training state, the same for every method (SFT, LRPO, reward
// backprop): value and gradient of the method's loss, global-norm clipping, the optimizer, ONE
// readback of the numbers, and the hand-over of the state. The method supplies only its loss.
import { valueAndGrad, clipGradNorm, disposeTree, scope, jit } from '../index.js';
import type { Jitted, Optimizer, Tensor } from '../index.js';
import type { UNetParams } from '../models/unet.js';
import { disposeState, type TrainState } from './state.js';

export interface UpdateSpec {
  /** The caller, as errors name it. */
  readonly op: string;
  readonly optimizer: Optimizer;
  /** The global gradient norm is clipped to this (clipGradNorm). */
  readonly gradClip: number;
  /** The learning rate a non-finite loss's message advises lowering (a schedule's peak). */
  readonly lr: number;
}

/** A method's loss of the params: the scalar to minimise, and named tensors to read back with it. */
export type LossOf<A extends string> = (params: UNetParams) => readonly [Tensor, Readonly<Record<A, Tensor>>];

/**
 * A loss whose tensors all come in as `inputs` (no closure over tensors or random keys), so its
 * loss-and-gradient call is recorded once per shape and replayed (jit). `fn` must be one function
 * for the whole run (a recording is keyed on it).
 */
export interface RecordableLoss<A extends string, I> {
  readonly fn: (params: UNetParams, inputs: I) => readonly [Tensor, Readonly<Record<A, Tensor>>];
  readonly inputs: I;
}

/** valueAndGrad (with aux) of a RecordableLoss, recorded per shape: one training step's forward and backward. */
const recordedValueAndGrad = jit(
  <A extends string, I>(fn: RecordableLoss<A, I>['fn'], params: UNetParams, inputs: I) =>
    valueAndGrad((p: UNetParams) => fn(p, inputs), { hasAux: true })(params),
  { maxRecordings: 4 },
);

/** The training steps' recordings (jit): how many calls each replayed, for tests and diagnostics. */
export const trainingStepRecordings = (): Jitted<unknown[], unknown>['recordings'] => recordedValueAndGrad.recordings;

export interface UpdateResult<A extends string> {
  /** The updated state. Its step is the input's: the caller counts steps (LRPO updates several times per step). */
  readonly state: TrainState;
  readonly loss: number;
  /** The global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Every element of each named tensor, read back. */
  readonly aux: Readonly<Record<A, Float64Array>>;
}

/**
 * Updates `state` once on the loss `lossIn()` builds (a RecordableLoss runs as a replayed
 * recording from its third step on). `lossIn` runs inside the update's scope, so
 * tensors it makes for the loss (targets, a trajectory sampled without gradients) are freed with
 * it. `state` is consumed: freed when the update succeeds, and freed with the new state when the
 * loss, the gradient norm or any read-back number is NaN or infinite (NonFiniteLossError), so no
 * bad update reaches a hook or a checkpoint.
 */
export async function optimizerUpdate<A extends string, I = unknown>(
  spec: UpdateSpec,
  state: TrainState,
  lossIn: () => LossOf<A> | RecordableLoss<A, I>,
): Promise<UpdateResult<A>> {
  const out = scope(() => {
    const lossOf = lossIn();
    const [[loss, aux], grads] =
      typeof lossOf === 'function'
        ? valueAndGrad(lossOf, { hasAux: true })(state.params)
        : (recordedValueAndGrad(lossOf.fn as RecordableLoss<string, unknown>['fn'], state.params, lossOf.inputs) as [
            readonly [Tensor, Readonly<Record<A, Tensor>>],
            UNetParams,
          ]);
    const clipped = clipGradNorm(grads, spec.gradClip);
    const next = spec.optimizer.update(clipped.grads, state.opt, state.params);
    return { next: { ...state, params: next.params, opt: next.state }, loss, norm: clipped.norm, aux };
  });
  const names = Object.keys(out.aux) as A[];
  const read = [out.loss, out.norm, ...names.map((n) => out.aux[n])];
  const values = await Promise.all(read.map(async (t) => Float64Array.from(await t.data())));
  disposeTree(read);
  const [[loss], [gradNorm], ...auxValues] = values;
  const bad = nonFinite([
    ['loss', [loss]],
    ['gradient norm', [gradNorm]],
    ...names.map((n, i) => [n, auxValues[i]] as const),
  ]);
  disposeState(state);
  if (bad) {
    disposeState(out.next);
    throw new NonFiniteLossError(spec.op, state.step + 1, bad.value, spec.lr, bad.name);
  }
  return {
    state: out.next,
    loss,
    gradNorm,
    aux: Object.fromEntries(names.map((n, i) => [n, auxValues[i]])) as Record<A, Float64Array>,
  };
}

/** The first NaN or infinite number, with the name of what holds it. */
function nonFinite(
  named: readonly (readonly [string, ArrayLike<number>])[],
): { name: string; value: number } | undefined {
  for (const [name, values] of named) {
    const value = Array.from(values).find((v) => !Number.isFinite(v));
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** A NaN or infinite loss (or gradient norm): training stops before the bad update reaches a checkpoint. */
export class NonFiniteLossError extends Error {
  constructor(op: string, step: number, value: number, lr: number, quantity = 'loss') {
    super(
      `${op}: the ${quantity} became ${value} at step ${step}; ` +
        `the run stopped and earlier checkpoints are intact. Lower the learning rate (now ${lr}) ` +
        `or the gradient clip, or resume from the last checkpoint.`,
    );
    this.name = 'NonFiniteLossError';
  }
}
