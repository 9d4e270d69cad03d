// A fully connected layer as a pure function over its params: y = x W^T + b (torch.nn.Linear's layout).
import { scope, add, matmul, transpose } from '../../index.js';
import type { PRNGKey, Tensor } from '../../index.js';
import { checkShape, fmtShape } from '../../tensor/errors.js';
import { initParams, kaimingUniform, zerosSpec, type InitOptions, type SpecOf } from './init.js';

export interface LinearConfig {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Start weight and bias at zero (guided-diffusion's zero_module); default false. */
  readonly zeroInit?: boolean;
}

/** weight [out, in] (torch's layout, so torch checkpoints load untransposed), bias [out]. */
export interface LinearParams {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

/** The leaves of a linear layer: torch's default U(-1/sqrt(in), 1/sqrt(in)) for both, or zeros. */
export function linearSpec({ inFeatures, outFeatures, zeroInit = false }: LinearConfig): SpecOf<LinearParams> {
  const leaf = (shape: number[]) => (zeroInit ? zerosSpec(shape) : kaimingUniform(shape, inFeatures));
  return { weight: leaf([outFeatures, inFeatures]), bias: leaf([outFeatures]) };
}

/** Fresh linear-layer params. */
export const linearInit = (k: PRNGKey, config: LinearConfig, options: InitOptions = {}): LinearParams =>
  initParams<LinearParams>(k, linearSpec(config), options);

/** y = x W^T + b over the last axis: x [..., in] -> [..., out]. */
export function linearApply(p: LinearParams, x: Tensor): Tensor {
  const inFeatures = p.weight.shape[1];
  checkShape(
    x.rank >= 1 && x.shape[x.rank - 1] === inFeatures,
    'linear',
    () =>
      `x ${fmtShape(x.shape)} must end in ${inFeatures} features to match weight ${fmtShape(p.weight.shape)} ([out, in]); ` +
      `reshape x or build the layer with inFeatures ${x.shape[x.rank - 1]}.`,
  );
  return scope(() => add(matmul(x, transpose(p.weight)), p.bias));
}
