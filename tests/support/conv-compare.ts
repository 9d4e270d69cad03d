// The WebGPU convolution tests' operands and comparisons: views over grid values (exact in
// float32), the GPU's and the CPU's results of one convolution, and their comparison.
import { expect } from 'vitest';
import type { Backend, View } from '../../src/kernels/backend.js';

/** A view with only a shape, to ask a variant whether it supports a problem. */
export const fakeView = (shape: number[]): View =>
  ({ shape, strides: [0, 0, 0, 0], offset: 0, dtype: 'float32' }) as unknown as View;

/** Pseudo-random values in [-2, 2] from `seed`. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}

/**
 * Multiples of 1/4 in [-2, 2]: every product and sum here is exact in float32 (Winograd's halves
 * and sums of a few hundred terms too), so results compare exactly.
 */
export const gridValues = (n: number, seed: number): Float32Array =>
  randomValues(n, seed).map((v) => Math.round(v * 4) / 4);

/** A [d0, d1, d2, d3] view whose storage holds the dims in `order` (a permutation), so it is strided when order is not 0123. */
export function view(
  b: Backend,
  shape: readonly number[],
  order: readonly number[],
  seed: number,
  values = gridValues,
): View {
  const storageShape = order.map((k) => shape[k]);
  const size = shape.reduce((x, y) => x * y, 1);
  const storageStrides = storageShape.map((_, i) => storageShape.slice(i + 1).reduce((x, y) => x * y, 1));
  const strides = shape.map((_, k) => storageStrides[order.indexOf(k)]);
  return {
    storage: b.upload(values(size, seed), 'float32'),
    dtype: 'float32',
    shape: [...shape],
    strides,
    offset: 0,
  };
}

/**
 * Variants whose arithmetic rounds even on grid values, with the largest error allowed per unit of
 * reduction length (channels x taps) on values in [-2, 2]: F(4x4, 3x3)'s transforms have thirds
 * (conv-winograd.ts). 1e-5: 400 generated problems of every Winograd test passed at it, while
 * 4e-6 failed on a 1-channel transposed case (5.3e-5 over 9 terms). Every other variant must equal
 * the CPU exactly on grid values.
 */
export const ROUNDING_PER_TERM: Record<string, number> = { winograd4x3: 1e-5 };

/** A convolution's operands as the comparisons take them: shapes, and the storage order of each. */
export interface ConvShapes {
  readonly x: number[];
  readonly w: number[];
  readonly xOrder?: readonly number[];
  readonly wOrder?: readonly number[];
}

/** `results` and `compare` over the GPU and CPU backends `backends()` gives (made in a test file's beforeAll). */
export function convComparison(backends: () => readonly [Backend, Backend]) {
  /** The GPU's and the CPU's results of `run` on the same operands (grid values unless `values` says otherwise). */
  async function results(
    shapes: ConvShapes,
    run: (b: Backend, x: View, w: View) => ReturnType<Backend['conv2d']>,
    values = gridValues,
  ): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const b of backends()) {
      const x = view(b, shapes.x, shapes.xOrder ?? [0, 1, 2, 3], 1, values);
      const w = view(b, shapes.w, shapes.wOrder ?? [0, 1, 2, 3], 2, values);
      const y = run(b, x, w);
      out.push(
        (await b.read({ storage: y, dtype: 'float32', shape: [y.size], strides: [1], offset: 0 })) as Float32Array,
      );
      for (const s of [x.storage, w.storage, y]) b.release(s);
    }
    return out;
  }

  async function compare(
    shapes: ConvShapes,
    run: (b: Backend, x: View, w: View) => ReturnType<Backend['conv2d']>,
    label: string,
    roundingPerTerm = 0,
  ): Promise<void> {
    const [onGpu, onCpu] = await results(shapes, run);
    if (roundingPerTerm === 0) {
      expect(Array.from(onGpu), label).toEqual(Array.from(onCpu));
      return;
    }
    // Both directions reduce over (channels of x) x (taps) terms.
    const terms = shapes.x[1] * shapes.w[2] * shapes.w[3];
    const worst = onGpu.reduce((m, v, i) => Math.max(m, Math.abs(v - onCpu[i])), 0);
    expect(onGpu.length, label).toBe(onCpu.length);
    expect(worst, label).toBeLessThanOrEqual(roundingPerTerm * terms);
  }

  return { results, compare };
}
