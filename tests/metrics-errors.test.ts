// Bad metric inputs get errors that name the metric, what was received and the fix: shapes and
// dtypes synchronously in every metric, NaNs and out-of-range values in validateImages / ...Checked.
import { beforeAll, describe, expect, it } from 'vitest';
import { DTypeError, ShapeError, full, setBackend, tensor, zeros, type Tensor } from '../src/index.js';
import {
  MetricInputError,
  psnr,
  psnrChecked,
  ssim,
  ssimChecked,
  validateImages,
  waveletFidelity,
  waveletFidelityChecked,
} from '../src/faces.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const img = (shape: number[], value = 0.5): Tensor => full(shape, value);
const metrics = [
  ['psnr', psnr],
  ['ssim', ssim],
  ['waveletFidelity', waveletFidelity],
] as const;

describe('shape and dtype errors (synchronous, in every metric)', () => {
  for (const [name, f] of metrics) {
    it(`${name} rejects a shape mismatch, naming both shapes`, () => {
      expect(() => f(img([2, 3, 16, 16]), img([2, 3, 16, 17]))).toThrow(ShapeError);
      expect(() => f(img([2, 3, 16, 16]), img([2, 3, 16, 17]))).toThrow(
        new RegExp(`^${name}: x \\[2, 3, 16, 16\\] and y \\[2, 3, 16, 17\\] differ`),
      );
    });

    it(`${name} rejects a CHW image and suggests expandDims`, () => {
      expect(() => f(img([3, 16, 16]), img([3, 16, 16]))).toThrow(/rank 3.*expandDims\(x, 0\)/);
    });

    it(`${name} rejects an empty batch`, () => {
      expect(() => f(img([0, 3, 16, 16]), img([0, 3, 16, 16]))).toThrow(/empty batch; pass at least one image/);
    });

    it(`${name} rejects NHWC images and suggests the transpose`, () => {
      expect(() => f(img([1, 16, 16, 3]), img([1, 16, 16, 3]))).toThrow(/NHWC\? .*transpose\(x, \[0, 3, 1, 2\]\)/);
    });

    it(`${name} rejects integer images`, () => {
      const x = zeros([1, 3, 16, 16], { dtype: 'int32' });
      expect(() => f(x, x)).toThrow(DTypeError);
      expect(() => f(x, x)).toThrow(/dtype int32.*divide 8-bit values by 255/);
    });
  }

  it('ssim rejects images smaller than its 11x11 window', () => {
    expect(() => ssim(img([1, 3, 10, 16]), img([1, 3, 10, 16]))).toThrow(
      /ssim: x \[1, 3, 10, 16\] is 10x16 pixels; it needs at least 11x11/,
    );
  });

  it('psnr rejects a non-positive dataRange', () => {
    expect(() => psnr(img([1, 3, 4, 4]), img([1, 3, 4, 4]), { dataRange: 0 })).toThrow(MetricInputError);
  });
});

describe('value errors (validateImages and the ...Checked forms)', () => {
  it('validateImages accepts images in [0, 1] up to a small tolerance', async () => {
    await expect(
      validateImages('ssim', [tensor([0, 1, 1.0005, -0.0005], { shape: [1, 1, 2, 2] })]),
    ).resolves.toBeUndefined();
  });

  it('rejects NaNs, naming the metric, the count and the first position', async () => {
    const x = tensor([0.1, NaN, 0.2, NaN], { shape: [1, 1, 2, 2] });
    await expect(validateImages('ssim', [x, x])).rejects.toThrow(
      /^ssim: x \[1, 1, 2, 2\] holds 2 NaN value\(s\), the first at flat index 1 \(n=0, c=0, h=0, w=1\)/,
    );
  });

  it('rejects 8-bit values, naming the range found and the fix', async () => {
    const x = img([1, 3, 16, 16]);
    const y = tensor(
      Array.from({ length: 768 }, (_, i) => i % 256),
      { shape: [1, 3, 16, 16] },
    );
    await expect(psnrChecked(x, y)).rejects.toThrow(MetricInputError);
    await expect(psnrChecked(x, y)).rejects.toThrow(
      /^psnr: y has values in \[0, 255\], outside \[0, 1\].*divide 8-bit values by 255/,
    );
  });

  it('rejects [-1, 1] model outputs and suggests (x + 1) / 2', async () => {
    const x = img([1, 3, 16, 16], -0.5);
    await expect(ssimChecked(x, img([1, 3, 16, 16]))).rejects.toThrow(
      /^ssim: x has values in \[-0.5, -0.5\].*\(x \+ 1\) \/ 2/,
    );
    await expect(waveletFidelityChecked(x, img([1, 3, 16, 16]))).rejects.toThrow(/^waveletFidelity: x has values/);
  });

  it('the checked forms return the metric for good images', async () => {
    const x = img([2, 3, 16, 16], 0.4);
    const y = img([2, 3, 16, 16], 0.5);
    expect(Array.from(await (await psnrChecked(x, y)).data())).toEqual([20, 20].map((v) => expect.closeTo(v, 4)));
    expect((await ssimChecked(x, y)).shape).toEqual([2]);
    expect((await waveletFidelityChecked(x, y)).shape).toEqual([2]);
  });

  it('checks shapes before reading anything back', async () => {
    await expect(psnrChecked(img([1, 3, 4, 4]), img([1, 3, 4, 5]))).rejects.toThrow(ShapeError);
  });
});
