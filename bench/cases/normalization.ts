// Softmax and groupNorm rows. TensorFlow.js has no groupNorm, so it is composed here from tfjs
// ops with the same math as ours: (x - mean) * rsqrt(var + eps) per (sample, group), population
// variance.
import type * as tfc from '@tensorflow/tfjs-core';
import * as T from '../../src/index.js';
import type { BenchCase, TF } from '../case.js';

export const GROUP_NORM_EPS = 1e-5;

/** Group normalisation without affine parameters, in NCHW or NHWC. */
export function tfjsGroupNorm(tf: TF, x: tfc.Tensor, groups: number, layout: 'NCHW' | 'NHWC'): tfc.Tensor {
  const [n, d1, d2, d3] = x.shape;
  // Split channels into [groups, channels per group] and reduce over the group's channels and pixels.
  const [grouped, axes] =
    layout === 'NCHW'
      ? [tf.reshape(x, [n, groups, (d1 / groups) * d2 * d3]), [2]]
      : [tf.reshape(x, [n, d1, d2, groups, d3 / groups]), [1, 2, 4]];
  const { mean, variance } = tf.moments(grouped, axes, true);
  const normalized = tf.mul(tf.sub(grouped, mean), tf.rsqrt(tf.add(variance, GROUP_NORM_EPS)));
  return tf.reshape(normalized, x.shape);
}

/** Softmax over the last axis of [rows, cols]. */
export function softmaxCase(rows: number, cols: number): BenchCase {
  const shape = `[${rows},${cols}]`;
  return {
    id: `softmax ${shape}`,
    op: 'softmax (last axis)',
    shape,
    work: { kind: 'bytes', amount: 2 * rows * cols * 4 },
    // Logits in [-4, 4): exp spans a useful range without overflow concerns.
    inputs: [{ shape: [rows, cols], scale: 4 }],
    outputs: [{}],
    ours: ([x]) => [T.softmax(x, { axis: -1 })],
    tfjs: (tf, [x]) => [tf.softmax(x)],
  };
}

/** groupNorm of x [n, c, h, w] with `groups` groups, no affine parameters. */
export function groupNormCase(n: number, c: number, h: number, w: number, groups: number): BenchCase {
  const shape = `[${n},${c},${h},${w}] ${groups} groups`;
  return {
    id: `groupNorm ${shape}`,
    op: 'groupNorm',
    shape,
    work: { kind: 'bytes', amount: 2 * n * c * h * w * 4 },
    inputs: [{ shape: [n, c, h, w] }],
    outputs: [{}],
    ours: ([x]) => [T.groupNorm(x, { groups, eps: GROUP_NORM_EPS })],
    // NCHW here too: no conv in this row, so no reason to change layout.
    tfjs: (tf, [x]) => [tfjsGroupNorm(tf, x, groups, 'NCHW')],
  };
}
