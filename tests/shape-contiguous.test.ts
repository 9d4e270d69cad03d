// The one contiguity rule (tensor/shape.ts isContiguous), used by Tensor.isContiguous and by the
// CPU and WebGPU kernels: row-major with no gaps, size-1 dims' strides ignored, and a shape with a
// 0 dim contiguous whatever its strides (it has no elements to walk).
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { conv2dOutHW, convTranspose2dOutHW } from '../src/kernels/params.js';
import { isContiguous } from '../src/tensor/shape.js';
import { useBackends } from './support/backends.js';

useBackends();

describe('isContiguous', () => {
  it.each([
    { shape: [], strides: [], want: true },
    { shape: [2, 3], strides: [3, 1], want: true },
    { shape: [2, 3], strides: [1, 2], want: false }, // a transpose
    { shape: [2, 3], strides: [4, 1], want: false }, // a gap between rows (a slice of wider rows)
    { shape: [3, 4], strides: [0, 1], want: false }, // a broadcast
    { shape: [1, 3], strides: [99, 1], want: true }, // a size-1 dim's stride never matters
    { shape: [2, 1, 3], strides: [3, 7, 1], want: true },
    { shape: [0, 3], strides: [3, 1], want: true },
    { shape: [0, 3], strides: [1, 5], want: true }, // no elements: contiguous whatever the strides
    { shape: [2, 0, 4], strides: [1, 9, 2], want: true },
  ])('$shape with strides $strides: $want', ({ shape, strides, want }) => {
    expect(isContiguous(shape, strides)).toBe(want);
  });

  it('Tensor.isContiguous follows the same rule, size-0 views included', () => {
    for (const backend of ['cpu', 'webgpu'] as const) {
      const x = T.zeros([0, 3], { backend });
      const t = T.transpose(x, [1, 0]);
      expect(t.isContiguous, backend).toBe(isContiguous(t.shape, t.strides));
      expect(t.isContiguous, backend).toBe(true);
      const y = T.zeros([2, 3], { backend });
      const yt = T.transpose(y, [1, 0]);
      expect(yt.isContiguous, backend).toBe(false);
      [x, t, y, yt].forEach((v) => v.dispose());
    }
  });

  it('a size-0 strided view reads back empty and reshapes on both backends', async () => {
    for (const backend of ['cpu', 'webgpu'] as const) {
      const x = T.transpose(T.zeros([0, 3], { backend }), [1, 0]);
      const r = T.reshape(x, [0]);
      expect(Array.from(await r.data()), backend).toEqual([]);
      expect(Array.from(await x.data()), backend).toEqual([]);
      [x, r].forEach((v) => v.dispose());
    }
  });
});

describe('conv output sizes', () => {
  it('conv2dOutHW is floor((H + 2p - d (k - 1) - 1) / s) + 1 per axis, 0 where the kernel does not fit', () => {
    expect(conv2dOutHW([32, 17], [3, 5], { stride: [2, 1], padding: [1, 2], dilation: [1, 2] })).toEqual([16, 13]);
    expect(conv2dOutHW([2, 8], [5, 3], { stride: [1, 1], padding: [0, 0], dilation: [1, 1] })).toEqual([0, 6]);
  });

  it('convTranspose2dOutHW inverts the conv size (with outputPadding for the lost remainder)', () => {
    const p = {
      stride: [2, 2] as [number, number],
      padding: [1, 1] as [number, number],
      dilation: [1, 1] as [number, number],
    };
    expect(convTranspose2dOutHW([16, 9], [3, 3], { ...p, outputPadding: [1, 0] })).toEqual([32, 17]);
    expect(conv2dOutHW([32, 17], [3, 3], p)).toEqual([16, 9]);
    expect(convTranspose2dOutHW([1, 1], [1, 1], { ...p, outputPadding: [0, 0] })).toEqual([0, 0]);
  });
});
