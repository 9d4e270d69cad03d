// The activations a fused group normalisation applies (GroupNormActParams.act): each as its value
// and derivative, in JavaScript (the CPU reference) and in WGSL (the kernels), one row per
// activation, so the two backends read one table. The value is elementwise-ops.ts's, so a fused
// layer computes what the separate ops did.
import { unaryOps } from './elementwise-ops.js';
import type { NormActivation } from './params.js';

export interface NormActivationRule {
  readonly value: (a: number) => number;
  readonly derivative: (a: number) => number;
  /** WGSL of the value and of the derivative at `a`, an identifier (f32 or vec4<f32>); no derivative: 1. */
  readonly wgslValue: (a: string) => string;
  readonly wgslDerivative?: (a: string) => string;
}

export const NORM_ACTIVATIONS: Readonly<Record<NormActivation, NormActivationRule>> = {
  identity: {
    value: (a) => a,
    derivative: () => 1,
    wgslValue: (a) => a,
  },
  // silu'(a) = s (1 + a (1 - s)), s = sigmoid(a).
  silu: {
    value: unaryOps.silu.cpu,
    derivative: (a) => {
      const s = 1 / (1 + Math.exp(-a));
      return s * (1 + a * (1 - s));
    },
    wgslValue: (a) => unaryOps.silu.wgsl([a]),
    wgslDerivative: (a) => `(1.0 / (1.0 + exp(-${a}))) * (1.0 + ${a} * (1.0 - 1.0 / (1.0 + exp(-${a}))))`,
  },
};
