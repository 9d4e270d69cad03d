// conv2d rows on UNet-like shapes: the forward pass, and the two gradients a training step needs
// (input and weight), each through the engines' own autodiff. TensorFlow.js is NHWC / HWIO, so
// its inputs and outputs are permuted on the host, outside the timed region.
import type * as tfc from '@tensorflow/tfjs-core';
import * as T from '../../src/index.js';
import type { BenchCase, InputSpec, TF } from '../case.js';
import { NCHW_TO_NHWC, OIHW_TO_HWIO } from '../host.js';

/** x [n, c, h, w] convolved with w [o, c, kernel, kernel], symmetric zero padding. */
export interface ConvShape {
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly o: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
}

export type ConvPass = 'forward' | 'inputGrad' | 'weightGrad';

const outSize = (size: number, s: ConvShape): number => Math.floor((size + 2 * s.padding - s.kernel) / s.stride) + 1;

export const describeConv = (s: ConvShape): string => `N${s.n} C${s.c}->${s.o} ${s.h}x${s.w} k${s.kernel} s${s.stride}`;

const forwardFlops = (s: ConvShape): number =>
  2 * s.n * s.o * outSize(s.h, s) * outSize(s.w, s) * s.c * s.kernel * s.kernel;

const asT4 = (t: tfc.Tensor): tfc.Tensor4D => t as tfc.Tensor4D;

/** The forward conv in each engine (tfjs: NHWC; a number pad is symmetric, like ours). */
const oursConv =
  (s: ConvShape) =>
  (x: T.Tensor, w: T.Tensor): T.Tensor =>
    T.conv2d(x, w, { stride: s.stride, padding: s.padding });
const tfjsConv =
  (tf: TF, s: ConvShape) =>
  (x: tfc.Tensor, w: tfc.Tensor): tfc.Tensor =>
    tf.conv2d(asT4(x), asT4(w), s.stride, s.padding);

const PASS_LABEL: Record<ConvPass, string> = {
  forward: 'conv2d forward',
  inputGrad: 'conv2d input grad (fwd+bwd)',
  weightGrad: 'conv2d weight grad (fwd+bwd)',
};

export function convCase(s: ConvShape, pass: ConvPass): BenchCase {
  const x: InputSpec = { shape: [s.n, s.c, s.h, s.w], tfjsPerm: NCHW_TO_NHWC };
  // 1/sqrt(fan-in) keeps outputs O(1), so the scaled tolerance means the same for every shape.
  const w: InputSpec = {
    shape: [s.o, s.c, s.kernel, s.kernel],
    scale: 1 / Math.sqrt(s.c * s.kernel * s.kernel),
    tfjsPerm: OIHW_TO_HWIO,
  };
  const dy: InputSpec = { shape: [s.n, s.o, outSize(s.h, s), outSize(s.w, s)], tfjsPerm: NCHW_TO_NHWC };
  const op = PASS_LABEL[pass];
  const shape = describeConv(s);
  const common = { id: `${op} ${shape}`, op, shape, torch: { kind: 'conv2d', pass, ...s } as const };
  const fwd = forwardFlops(s);
  switch (pass) {
    case 'forward':
      return {
        ...common,
        work: { kind: 'flops', amount: fwd },
        inputs: [x, w],
        outputs: [{ tfjsPerm: NCHW_TO_NHWC }],
        ours: ([xt, wt]) => [oursConv(s)(xt, wt)],
        tfjs: (tf, [xt, wt]) => [tfjsConv(tf, s)(xt, wt)],
      };
    case 'inputGrad':
      // Both engines run the forward pass too (eager autodiff): the work counts both convs.
      return {
        ...common,
        work: { kind: 'flops', amount: 2 * fwd },
        inputs: [x, w, dy],
        outputs: [{ tfjsPerm: NCHW_TO_NHWC }],
        ours: ([xt, wt, g]) => {
          const [, pullback] = T.vjp((xv: T.Tensor) => oursConv(s)(xv, wt), xt);
          return pullback(g);
        },
        tfjs: (tf, [xt, wt, g]) => [tf.grad((xv: tfc.Tensor) => tfjsConv(tf, s)(xv, wt))(xt, g)],
      };
    case 'weightGrad':
      return {
        ...common,
        work: { kind: 'flops', amount: 2 * fwd },
        inputs: [x, w, dy],
        outputs: [{ tfjsPerm: OIHW_TO_HWIO }],
        ours: ([xt, wt, g]) => {
          const [, pullback] = T.vjp((wv: T.Tensor) => oursConv(s)(xt, wv), wt);
          return pullback(g);
        },
        tfjs: (tf, [xt, wt, g]) => [tf.grad((wv: tfc.Tensor) => tfjsConv(tf, s)(xt, wv))(wt, g)],
      };
  }
}

/** Forward, input grad and weight grad rows for one shape. */
export const convRows = (s: ConvShape): BenchCase[] =>
  (['forward', 'inputGrad', 'weightGrad'] as const).map((p) => convCase(s, p));
