// Timestep conditioning: the sinusoidal embedding of t (Vaswani et al. 2017 section 3.5, as DDPM and
// diffusers' get_timestep_embedding compute it) and the 2-layer MLP (linear, SiLU, linear) on top.
import { scope, tensor, cast, cos, mul, silu, sin, concat, pad, reshape } from '../../index.js';
import type { PRNGKey, Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import { initParams, type InitOptions, type SpecOf } from './init.js';
import { linearApply, linearSpec, type LinearParams } from './linear.js';

export interface SinusoidalOptions {
  /** The longest period, in timesteps (default 10000). */
  readonly maxPeriod?: number;
  /** Put the cosines first (guided-diffusion's order); default false ([sin, cos], DDPM's). */
  readonly flipSinToCos?: boolean;
  /** Frequencies are exp(-ln(maxPeriod) i / (half - shift)); default 1 (DDPM), 0 in guided-diffusion. */
  readonly downscaleFreqShift?: number;
}

/**
 * The sinusoidal embedding of timesteps t [B] (float, integer values 0..T-1 usually) as [B, dim]:
 * [sin(t f_0) .. sin(t f_{h-1}), cos(t f_0) .. cos(t f_{h-1})] with h = floor(dim / 2) and
 * f_i = exp(-ln(maxPeriod) i / (h - downscaleFreqShift)); an odd dim gets one trailing zero column.
 * Defaults equal diffusers' get_timestep_embedding(t, dim).
 */
export function sinusoidalEmbedding(t: Tensor, dim: number, options: SinusoidalOptions = {}): Tensor {
  const op = 'sinusoidalEmbedding';
  const { maxPeriod = 10000, flipSinToCos = false, downscaleFreqShift = 1 } = options;
  const half = Math.floor(dim / 2);
  checkShape(
    t.rank === 1,
    op,
    () => `t must be 1-D [B] (one timestep per sample), got ${fmtShape(t.shape)}; reshape it to [${t.size}].`,
  );
  checkShape(
    Number.isInteger(dim) && half >= 1 && half - downscaleFreqShift > 0,
    op,
    () => `dim = ${dim} is too small: need floor(dim / 2) - downscaleFreqShift (${downscaleFreqShift}) > 0.`,
  );
  const dtype = t.dtype === 'float64' ? 'float64' : 'float32';
  const freqs = Array.from({ length: half }, (_, i) =>
    Math.exp((-Math.log(maxPeriod) * i) / (half - downscaleFreqShift)),
  );
  return scope(() => {
    const angles = mul(
      reshape(cast(t, dtype), [t.shape[0], 1]),
      tensor(freqs, { shape: [1, half], dtype, backend: t.backend }),
    );
    const parts = flipSinToCos ? [cos(angles), sin(angles)] : [sin(angles), cos(angles)];
    const emb = concat(parts, { axis: 1 });
    return dim % 2 === 1
      ? pad(emb, [
          [0, 0],
          [0, 1],
        ])
      : emb;
  });
}

export interface TimeMlpConfig {
  /** Width of the sinusoidal embedding fed in. */
  readonly inDim: number;
  /** Width of the hidden layer and of the output. */
  readonly embedDim: number;
}

/** linear1 [embedDim, inDim], linear2 [embedDim, embedDim]. */
export interface TimeMlpParams {
  readonly linear1: LinearParams;
  readonly linear2: LinearParams;
}

export const timeMlpSpec = ({ inDim, embedDim }: TimeMlpConfig): SpecOf<TimeMlpParams> => ({
  linear1: linearSpec({ inFeatures: inDim, outFeatures: embedDim }),
  linear2: linearSpec({ inFeatures: embedDim, outFeatures: embedDim }),
});

/** Fresh time-MLP params. */
export const timeMlpInit = (k: PRNGKey, config: TimeMlpConfig, options: InitOptions = {}): TimeMlpParams =>
  initParams<TimeMlpParams>(k, timeMlpSpec(config), options);

/** linear2(SiLU(linear1(emb))): [B, inDim] -> [B, embedDim]. */
export const timeMlpApply = (p: TimeMlpParams, emb: Tensor): Tensor =>
  scope(() => linearApply(p.linear2, silu(linearApply(p.linear1, emb))));

/** The whole time conditioning: timeMlpApply(p, sinusoidalEmbedding(t, inDim)), t [B] -> [B, embedDim]. */
export const timeEmbeddingApply = (p: TimeMlpParams, t: Tensor, options: SinusoidalOptions = {}): Tensor =>
  scope(() => timeMlpApply(p, sinusoidalEmbedding(t, p.linear1.weight.shape[1], options)));
