// The training state every method folds over: params, optimizer moments, the step count and the
// run's root key. One value per step; its tensors are freed (disposeState) when the next exists.
import type { UNetParams } from '../models/unet.js';
import { disposeTree, key, keep, treeLeaves } from '../index.js';
import type { AdamWState, Optimizer, PRNGKey } from '../index.js';

/** Everything a training step reads and writes; a new value after every step. */
export interface TrainState {
  readonly params: UNetParams;
  readonly opt: AdamWState<UNetParams>;
  /** Updates applied so far. */
  readonly step: number;
  /** The run's root key: step s draws from foldIn(key, s), so a resumed run repeats its draws. */
  readonly key: PRNGKey;
}

/** A fresh state around `params` (they become the state's; dispose them with the state). */
export const initTrainState = (optimizer: Optimizer, params: UNetParams, seed: number): TrainState => ({
  params,
  opt: optimizer.init(params),
  step: 0,
  key: key(seed),
});

/** Frees a state's tensors (params and optimizer moments). */
export const disposeState = (state: TrainState): void => disposeTree([state.params, state.opt.m, state.opt.v]);

/** keep() for every tensor of a state (so it survives an enclosing scope). */
export const keepState = (state: TrainState): TrainState => {
  treeLeaves([state.params, state.opt.m, state.opt.v]).forEach((t) => keep(t));
  return state;
};
