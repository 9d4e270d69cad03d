// Host-side recipes of strided views (layouts, seeded values) for the WebGPU backend's tests, and
// the comparison of one op's outputs on the WebGPU and CPU backends.
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Backend, Storage, View } from '../../src/kernels/backend.js';
import type { AnyTypedArray, DType } from '../../src/tensor/dtype.js';
import { contiguousStrides, sizeOf } from '../../src/tensor/shape.js';

/** How one logical dim is laid out in its storage. */
export interface DimLayout {
  /** Stride 0 over a storage dim of size 1. */
  readonly broadcast: boolean;
  /** Storage dim is this much longer than the view (a slice) ... */
  readonly extra: number;
  /** ... and the view starts this far in (clamped to `extra`). */
  readonly start: number;
  /** Storage dims are ordered by this key, so unequal keys permute (transpose) the view. */
  readonly order: number;
}

/** A view's recipe: storage contents and the strided window onto them, independent of backend. */
export interface HostView {
  readonly dtype: DType;
  readonly data: number[];
  readonly shape: number[];
  readonly strides: number[];
  readonly offset: number;
}

export const dimLayoutArb: fc.Arbitrary<DimLayout> = fc.record({
  broadcast: fc.constantFrom(false, false, false, true),
  extra: fc.constantFrom(0, 0, 1, 2),
  start: fc.integer({ min: 0, max: 2 }),
  order: fc.integer({ min: 0, max: 3 }),
});
export const layoutArb = (rank: number): fc.Arbitrary<DimLayout[]> =>
  fc.array(dimLayoutArb, { minLength: rank, maxLength: rank });

export const dimArb = (max: number): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.constant(1) },
    { weight: 7, arbitrary: fc.integer({ min: 2, max }) },
  );
export const shapeArb = (minRank: number, maxRank: number, maxDim = 5): fc.Arbitrary<number[]> =>
  fc.array(dimArb(maxDim), { minLength: minRank, maxLength: maxRank });

/** Deterministic values for a seed: a 0.25 grid in [-3, 3] keeps float32 sums and products exact. */
export type ValueKind = 'grid' | 'positive' | 'unit' | 'int' | 'sign' | 'bool';
export function values(kind: ValueKind, n: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const u = next();
    switch (kind) {
      case 'grid':
        return Math.round(u * 24 - 12) / 4;
      case 'positive':
        return Math.round(u * 11 + 1) / 4;
      case 'unit':
        return u;
      case 'int':
        return Math.round(u * 40 - 20);
      case 'sign':
        return u < 0.5 ? -1 : 1;
      case 'bool':
        return u < 0.5 ? 0 : 1;
    }
  });
}

export const defaultKind = (dtype: DType): ValueKind =>
  dtype === 'bool' ? 'bool' : dtype === 'int32' ? 'int' : 'grid';

/** Lays out a view of `shape` per `layout`, filling its storage with values of `kind`. */
export function hostView(
  shape: readonly number[],
  layout: readonly DimLayout[],
  dtype: DType,
  seed: number,
  kind = defaultKind(dtype),
): HostView {
  const rank = shape.length;
  const storageDim = shape.map((d, k) => (layout[k].broadcast ? 1 : d + layout[k].extra));
  const order = shape.map((_, k) => k).sort((a, b) => layout[a].order - layout[b].order || a - b);
  const storageStride = new Array<number>(rank);
  let stride = 1;
  for (let i = rank - 1; i >= 0; i--) {
    storageStride[order[i]] = stride;
    stride *= storageDim[order[i]];
  }
  const strides = shape.map((_, k) => (layout[k].broadcast ? 0 : storageStride[k]));
  const offset = shape.reduce(
    (acc, _, k) => acc + (layout[k].broadcast ? 0 : Math.min(layout[k].start, layout[k].extra) * storageStride[k]),
    0,
  );
  return { dtype, data: values(kind, sizeOf(storageDim), seed), shape: [...shape], strides, offset };
}

export const contiguousHost = (
  shape: readonly number[],
  dtype: DType,
  seed: number,
  kind = defaultKind(dtype),
): HostView => ({
  dtype,
  data: values(kind, sizeOf(shape), seed),
  shape: [...shape],
  strides: contiguousStrides(shape),
  offset: 0,
});

/** A float32 matrix [rows, cols] stored column-major (a transposed view, as matmul's B often is). */
export const transposedHost = ([rows, cols]: readonly [number, number], seed: number): HostView =>
  hostView(
    [rows, cols],
    [1, 0].map((order) => ({ broadcast: false, extra: 0, start: 0, order })),
    'float32',
    seed,
  );

export const hostArray = (dtype: DType, data: readonly number[]): AnyTypedArray =>
  dtype === 'float32'
    ? Float32Array.from(data)
    : dtype === 'int32'
      ? Int32Array.from(data)
      : dtype === 'bool'
        ? Uint8Array.from(data)
        : Float64Array.from(data);

export function toView(b: Backend, h: HostView): View {
  const storage = b.upload(hostArray(h.dtype, h.data), h.dtype);
  return { storage, dtype: h.dtype, shape: h.shape, strides: h.strides, offset: h.offset };
}

export const whole = (s: Storage): View => ({ storage: s, dtype: s.dtype, shape: [s.size], strides: [1], offset: 0 });

export interface Both {
  readonly gpu: AnyTypedArray;
  readonly cpu: AnyTypedArray;
  readonly gpuDtype: DType;
  readonly cpuDtype: DType;
}

/**
 * `onBoth` over the GPU and CPU backends `backends()` gives (made in a test file's beforeAll): it
 * runs `op` on both over the same host views, reads both outputs and releases everything.
 */
export function hostComparison(backends: () => readonly [Backend, Backend]) {
  const onBoth = async (inputs: readonly HostView[], op: (b: Backend, views: View[]) => Storage): Promise<Both> => {
    const run = async (b: Backend): Promise<[AnyTypedArray, DType]> => {
      const views = inputs.map((h) => toView(b, h));
      const out = op(b, views);
      const data = await b.read(whole(out));
      for (const v of views) b.release(v.storage);
      b.release(out);
      return [data, out.dtype];
    };
    const [gpu, cpu] = backends();
    const [g, gd] = await run(gpu);
    const [c, cd] = await run(cpu);
    return { gpu: g, cpu: c, gpuDtype: gd, cpuDtype: cd };
  };
  return { onBoth };
}

/** Equal dtype, length and elements (NaN equals NaN; otherwise |g - c| <= atol + rtol |c|). */
export function expectClose(r: Both, tol: { rtol?: number; atol?: number } = {}, context = ''): void {
  const { rtol = 0, atol = 0 } = tol;
  expect(r.gpuDtype, context).toBe(r.cpuDtype);
  expect(r.gpu.constructor.name, context).toBe(r.cpu.constructor.name);
  expect(r.gpu.length, context).toBe(r.cpu.length);
  for (let i = 0; i < r.cpu.length; i++) {
    const g = r.gpu[i];
    const c = r.cpu[i];
    if (g === c || (Number.isNaN(g) && Number.isNaN(c))) continue;
    if (Math.abs(g - c) <= atol + rtol * Math.abs(c)) continue;
    expect.fail(
      `${context}: element ${i} of ${r.cpu.length} differs: webgpu ${g}, cpu ${c} (rtol ${rtol}, atol ${atol})`,
    );
  }
}
