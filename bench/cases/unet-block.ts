// One UNet-block training step in both engines, same math: conv3x3 -> groupNorm -> silu ->
// conv3x3, plus the residual; loss = mean(y^2); value and gradients of both conv weights.
import type * as tfc from '@tensorflow/tfjs-core';
import * as T from '../../src/index.js';
import type { BenchCase } from '../case.js';
import { NCHW_TO_NHWC, OIHW_TO_HWIO } from '../host.js';
import { GROUP_NORM_EPS, tfjsGroupNorm } from './normalization.js';

/** x [n, c, size, size]; both convs c -> c, 3x3, stride 1, padding 1. */
export function unetBlockStepCase(n: number, c: number, size: number, groups: number): BenchCase {
  const shape = `x [${n},${c},${size},${size}], 2x conv3x3 ${c}->${c}, ${groups} groups`;
  const convFlops = 2 * n * c * size * size * c * 9;
  const weight = { shape: [c, c, 3, 3], scale: 1 / Math.sqrt(c * 9), tfjsPerm: OIHW_TO_HWIO };
  return {
    id: `unet block step ${shape}`,
    op: 'UNet block train step (fwd+bwd)',
    shape,
    // Two forward convs, then conv2's input and weight grads and conv1's weight grad (x is not
    // differentiated); elementwise work is not counted.
    work: { kind: 'flops', amount: 5 * convFlops },
    inputs: [{ shape: [n, c, size, size], tfjsPerm: NCHW_TO_NHWC }, weight, weight],
    outputs: [{}, { tfjsPerm: OIHW_TO_HWIO }, { tfjsPerm: OIHW_TO_HWIO }],
    tolerance: 1e-3,
    ours: ([x, w1, w2]) => {
      const loss = (v1: T.Tensor, v2: T.Tensor): T.Tensor => {
        const h = T.silu(T.groupNorm(T.conv2d(x, v1, { padding: 1 }), { groups, eps: GROUP_NORM_EPS }));
        const y = T.add(T.conv2d(h, v2, { padding: 1 }), x);
        return T.mean(T.square(y));
      };
      const [value, [g1, g2]] = T.valueAndGrad(loss, { argnums: [0, 1] })(w1, w2);
      return [value, g1, g2];
    },
    tfjs: (tf, [x, w1, w2]) => {
      const conv = (a: tfc.Tensor, w: tfc.Tensor) => tf.conv2d(a as tfc.Tensor4D, w as tfc.Tensor4D, 1, 1);
      const loss = (v1: tfc.Tensor, v2: tfc.Tensor): tfc.Scalar => {
        const g = tfjsGroupNorm(tf, conv(x, v1), groups, 'NHWC');
        const h = tf.mul(g, tf.sigmoid(g)); // silu
        const y = tf.add(conv(h, v2), x);
        return tf.mean(tf.square(y)) as tfc.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(loss)([w1, w2]);
      return [value, ...grads];
    },
  };
}
