// A 2-D convolution layer (k x k, 'same'-style padding (k - 1) / 2) as a pure function over its params.
import { conv2d } from '../../index.js';
import type { PRNGKey, Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import { initParams, kaimingUniform, zerosSpec, type InitOptions, type SpecOf } from './init.js';

export interface ConvConfig {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Odd kernel size: 3 (default) or 1. */
  readonly kernel?: number;
  /** Start weight and bias at zero (guided-diffusion's zero_module); default false. */
  readonly zeroInit?: boolean;
}

/** weight [out, in, k, k] (OIHW), bias [out]. */
export interface ConvParams {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

/** The leaves of a conv layer: torch's default U(-1/sqrt(in k k), 1/sqrt(in k k)) for both, or zeros. */
export function convSpec({ inChannels, outChannels, kernel = 3, zeroInit = false }: ConvConfig): SpecOf<ConvParams> {
  checkShape(
    Number.isInteger(kernel) && kernel >= 1 && kernel % 2 === 1,
    'convSpec',
    () => `kernel must be an odd positive integer (1, 3, ...), got ${kernel}.`,
  );
  const leaf = (shape: number[]) => (zeroInit ? zerosSpec(shape) : kaimingUniform(shape, inChannels * kernel * kernel));
  return { weight: leaf([outChannels, inChannels, kernel, kernel]), bias: leaf([outChannels]) };
}

/** Fresh conv-layer params. */
export const convInit = (k: PRNGKey, config: ConvConfig, options: InitOptions = {}): ConvParams =>
  initParams<ConvParams>(k, convSpec(config), options);

/**
 * conv2d(x, weight, padding (k - 1) / 2) + bias: x [N, in, H, W] -> [N, out, H / stride, W / stride]
 * (for stride 1 the size is kept; for stride 2 and even H, W it is halved).
 */
export function convApply(p: ConvParams, x: Tensor, { stride = 1 }: { readonly stride?: number } = {}): Tensor {
  const [, inChannels, kh] = p.weight.shape;
  checkShape(
    x.rank === 4 && x.shape[1] === inChannels,
    'conv',
    () =>
      `x ${fmtShape(x.shape)} must be [N, ${inChannels}, H, W] to match weight ${fmtShape(p.weight.shape)} ([out, in, k, k]).`,
  );
  return conv2d(x, p.weight, { stride, padding: (kh - 1) / 2, bias: p.bias });
}
