// What one bench row is: its inputs, its work, and the same computation written for each engine
// family (ours and TensorFlow.js).
import type * as tfc from '@tensorflow/tfjs-core';
import type { Tensor } from '../src/index.js';

export type TF = typeof tfc;

/** One input, described in our layout; `tfjsPerm` is the permutation to TensorFlow.js's layout. */
export interface InputSpec {
  readonly shape: readonly number[];
  /** Values are uniform in [-scale, scale) (default 1). */
  readonly scale?: number;
  readonly tfjsPerm?: readonly number[];
}

/** How an output is laid out in TensorFlow.js, relative to ours (undefined: the same). */
export interface OutputSpec {
  readonly tfjsPerm?: readonly number[];
}

/** Floating-point operations (compute-bound rows) or bytes moved at minimum (memory-bound rows). */
export type Work =
  { readonly kind: 'flops'; readonly amount: number } | { readonly kind: 'bytes'; readonly amount: number };

/** What a PyTorch anchor can time for this row (bench/torch_anchor.py reads it from the JSON). */
export type TorchSpec =
  | { readonly kind: 'matmul'; readonly batch: number; readonly m: number; readonly k: number; readonly n: number }
  | {
      readonly kind: 'conv2d';
      readonly pass: 'forward' | 'inputGrad' | 'weightGrad';
      readonly n: number;
      readonly c: number;
      readonly h: number;
      readonly w: number;
      readonly o: number;
      readonly kernel: number;
      readonly stride: number;
      readonly padding: number;
    };

export interface BenchCase {
  /** Unique and stable across runs: `${op} ${shape}`. */
  readonly id: string;
  readonly op: string;
  readonly shape: string;
  readonly work: Work;
  readonly inputs: readonly InputSpec[];
  readonly outputs: readonly OutputSpec[];
  /** Our engine: same inputs in our layout, outputs in the order of `outputs`. */
  readonly ours: (xs: readonly Tensor[]) => Tensor[];
  /** TensorFlow.js: inputs in its layout (see InputSpec.tfjsPerm), outputs likewise. */
  readonly tfjs: (tf: TF, xs: readonly tfc.Tensor[]) => tfc.Tensor[];
  /** Allowed max |diff| / max |ref| (default 1e-3). */
  readonly tolerance?: number;
  readonly torch?: TorchSpec;
}
