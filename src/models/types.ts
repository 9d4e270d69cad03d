// The contracts shared by the diffusion policy's pieces: the epsilon-predictor signature the
// sampler and losses are written against, and the param-tree shape every layer uses.
import type { Tensor } from '../index.js';

/** A param tree: tensors nested in records and arrays (what `valueAndGrad` differentiates). */
export type ParamTree = Tensor | readonly ParamTree[] | { readonly [name: string]: ParamTree };

/**
 * An epsilon-predictor eps_theta(x_t, t, c): `xt` the noisy images [B, C, H, W], `t` the
 * timesteps as float32 [B] (integer values in 0..T-1), `cond` the conditioning (the LQ images
 * [B, C, H, W]). Returns the predicted noise, shaped like `xt`. Pure: same inputs, same output.
 */
export type EpsModel<P> = (params: P, xt: Tensor, t: Tensor, cond: Tensor) => Tensor;
