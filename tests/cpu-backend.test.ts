// The CPU reference backend (src/kernels/cpu) against independent naive formulas written here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Storage, View } from '../src/kernels/backend.js';
import { createCpuBackend } from '../src/kernels/cpu/index.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../src/kernels/elementwise-ops.js';
import { binaryOps, unaryOps } from '../src/kernels/elementwise-ops.js';
import type { Conv2dParams, ConvTranspose2dParams } from '../src/kernels/params.js';
import { randomStream } from '../src/random/threefry.js';
import type { AnyTypedArray, DType } from '../src/tensor/dtype.js';
import { allocHost } from '../src/tensor/dtype.js';
import { BackendError } from '../src/tensor/errors.js';
import type { Shape } from '../src/tensor/shape.js';
import { contiguousStrides, sizeOf } from '../src/tensor/shape.js';

const cpu = createCpuBackend();

// --- helpers: building views and reading them back the slow, obvious way -----------------------

const hostArray = (values: ArrayLike<number>, dtype: DType): AnyTypedArray => {
  const out = allocHost(dtype, values.length);
  for (let i = 0; i < values.length; i++) out[i] = dtype === 'bool' ? Number(values[i] !== 0) : values[i];
  return out;
};

/** A view onto `storage` with explicit strides and offset. */
const viewOf = (
  storage: Storage,
  shape: Shape,
  strides: readonly number[] = contiguousStrides(shape),
  offset = 0,
): View => ({
  storage,
  dtype: storage.dtype,
  shape,
  strides,
  offset,
});

/** A contiguous tensor holding `values` row-major. */
const tensor = (values: ArrayLike<number>, shape: Shape, dtype: DType = 'float64'): View =>
  viewOf(cpu.upload(hostArray(values, dtype), dtype), shape);

/** The contiguous view of an output storage. */
const out = (storage: Storage, shape: Shape): View => viewOf(storage, shape);

const readAll = async (view: View): Promise<number[]> => Array.from(await cpu.read(view));

/** Every multi-index of `shape` in row-major order. */
function* indicesOf(shape: Shape): Generator<number[]> {
  if (shape.some((d) => d === 0)) return;
  const index = new Array<number>(shape.length).fill(0);
  for (;;) {
    yield [...index];
    let d = shape.length - 1;
    for (; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
    if (d < 0) return;
  }
}

/** The view's elements in row-major order, computed from the definition offset + sum(i * stride). */
const naiveElements = (
  data: ArrayLike<number>,
  v: { shape: Shape; strides: readonly number[]; offset: number },
): number[] => Array.from(indicesOf(v.shape), (idx) => data[idx.reduce((o, i, d) => o + i * v.strides[d], v.offset)]);

const flatIndex = (idx: readonly number[], shape: Shape): number => idx.reduce((o, i, d) => o * shape[d] + i, 0);

/** A random strided layout: any strides in [-5, 5] (0 = broadcast, negative = flipped), any offset. */
const stridedLayout = fc
  .array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 4 })
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      strides: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: shape.length, maxLength: shape.length }),
      slack: fc.nat(3),
    }),
  )
  .map(({ shape, strides, slack }) => {
    const low = shape.reduce((s, n, d) => s + Math.min(0, (n - 1) * strides[d]), 0);
    const high = shape.reduce((s, n, d) => s + Math.max(0, (n - 1) * strides[d]), 0);
    const offset = slack - low;
    return { shape, strides, offset, storageSize: offset + high + 1 + slack };
  });

/** Storage of `size` distinct-ish values, as `dtype`. */
const rampStorage = (size: number, dtype: DType = 'float64'): Storage =>
  cpu.upload(
    hostArray(
      Array.from({ length: size }, (_, i) => ((i * 7) % 13) - 6 + i / 16),
      dtype,
    ),
    dtype,
  );

// --- storage and views ------------------------------------------------------------------------

describe('storage, read and copy', () => {
  it('reads any strided view (broadcast, flipped, offset) in row-major order', async () => {
    await fc.assert(
      fc.asyncProperty(stridedLayout, async (layout) => {
        const storage = rampStorage(layout.storageSize);
        const data = await readAll(viewOf(storage, [storage.size]));
        const view = viewOf(storage, layout.shape, layout.strides, layout.offset);
        const expected = naiveElements(data, layout);
        expect(await readAll(view)).toEqual(expected);
        expect(await readAll(out(cpu.copy(view), layout.shape))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('read returns a fresh copy, never the storage array', async () => {
    const x = tensor([1, 2, 3], [3], 'float32');
    const first = await cpu.read(x);
    first[0] = 99;
    expect(await readAll(x)).toEqual([1, 2, 3]);
  });

  it('upload keeps its own copy of the host data and normalises bool to 0/1', async () => {
    const host = new Float32Array([1, 2]);
    const s = cpu.upload(host, 'float32');
    host[0] = 5;
    expect(await readAll(viewOf(s, [2]))).toEqual([1, 2]);
    expect(await readAll(viewOf(cpu.upload(new Uint8Array([0, 2, 255]), 'bool'), [3]))).toEqual([0, 1, 1]);
    expect(s.byteLength).toBe(8);
    expect(s.size).toBe(2);
  });

  it('a transposed 2-d view reads as the transpose', async () => {
    const s = rampStorage(6);
    const data = await readAll(viewOf(s, [6]));
    expect(await readAll(viewOf(s, [3, 2], [1, 3]))).toEqual([data[0], data[3], data[1], data[4], data[2], data[5]]);
  });

  it('a 0-d view reads its single element at the offset', async () => {
    expect(await readAll(viewOf(rampStorage(5), [], [], 3))).toEqual([((3 * 7) % 13) - 6 + 3 / 16]);
  });

  it('using a released storage throws a BackendError; memory pools nothing', async () => {
    const x = tensor([1, 2], [2]);
    cpu.release(x.storage);
    await expect(cpu.read(x)).rejects.toBeInstanceOf(BackendError);
    expect(() => cpu.unary('neg', x)).toThrow(/released/);
    expect(cpu.memory()).toEqual({ pooledBytes: 0, recordedBytes: 0 });
  });

  it('advertises all four dtypes, the host TypedArray limit per dtype, and destroys cleanly', async () => {
    const backend = createCpuBackend();
    expect([...backend.dtypes].sort()).toEqual(['bool', 'float32', 'float64', 'int32']);
    // Node 20: one TypedArray holds at most buffer.constants.MAX_LENGTH bytes; never more than 2^31 - 1 elements.
    const bytes = (await import('node:buffer')).constants.MAX_LENGTH;
    expect(backend.maxElements('float32')).toEqual({
      elements: Math.min(2 ** 31 - 1, bytes / 4),
      limit: `JS TypedArray size (${bytes} bytes)`,
    });
    expect(backend.maxElements('float64').elements).toBe(Math.min(2 ** 31 - 1, bytes / 8));
    await expect(backend.destroy()).resolves.toBeUndefined();
  });
});

// --- elementwise ------------------------------------------------------------------------------

/** Input dtypes each operand class can see after the front end prepared it. */
const operandDTypes = {
  float: ['float32', 'float64'],
  numeric: ['int32', 'float32'],
  bool: ['bool'],
  any: ['int32', 'float32', 'bool'],
} as const;

/** Runs `body` for every input dtype an op's operand class accepts, with the dtype the op stores. */
async function forEachOperandDType(
  spec: { readonly operands: keyof typeof operandDTypes; readonly result: string },
  body: (dtype: DType, resultDType: DType) => Promise<void>,
): Promise<void> {
  for (const dtype of operandDTypes[spec.operands]) await body(dtype, spec.result === 'bool' ? 'bool' : dtype);
}

const SAMPLE = [-3.5, -1, -0.25, 0, 0.5, 1, 2.75, 40];
/** Stores a double the way a TypedArray of `dtype` would (bool: nonzero is 1). */
const stored = (x: number, dtype: DType): number => hostArray([x], dtype)[0];

describe('elementwise', () => {
  it.each(Object.keys(unaryOps) as UnaryOp[])(
    'unary %s applies the table cpu function to a strided view and stores in the table dtype',
    (op) =>
      forEachOperandDType(unaryOps[op], async (dtype, resultDType) => {
        const values = SAMPLE.map((v) => stored(v, dtype));
        // A transposed [2, 4] view of a [4, 2] storage.
        const storage = cpu.upload(hostArray(values, dtype), dtype);
        const x = viewOf(storage, [2, 4], [1, 2]);
        const inputs = naiveElements(values, x);
        const result = cpu.unary(op, x);
        expect(result.dtype).toBe(resultDType);
        const f = unaryOps[op].cpu as (x: number) => number;
        expect(await readAll(out(result, [2, 4]))).toEqual(inputs.map((v) => stored(f(v), resultDType)));
      }),
  );

  it.each(Object.keys(binaryOps) as BinaryOp[])('binary %s applies the table cpu function to broadcast views', (op) =>
    forEachOperandDType(binaryOps[op], async (dtype, resultDType) => {
      const aValues = SAMPLE.map((v) => stored(v, dtype));
      const bValues = [2, -1, 0, 0.5].map((v) => stored(v, dtype));
      const a = tensor(aValues, [2, 4], dtype);
      const b = viewOf(cpu.upload(hostArray(bValues, dtype), dtype), [2, 4], [0, 1]); // row broadcast
      const result = cpu.binary(op, a, b);
      expect(result.dtype).toBe(resultDType);
      const f = binaryOps[op].cpu as (a: number, b: number) => number;
      expect(await readAll(out(result, [2, 4]))).toEqual(
        aValues.map((v, i) => stored(f(v, bValues[i % 4]), resultDType)),
      );
    }),
  );

  it('int32 arithmetic wraps on store and float32 rounds on store', async () => {
    const big = tensor([2 ** 31 - 1], [1], 'int32');
    expect(await readAll(out(cpu.binary('add', big, tensor([1], [1], 'int32')), [1]))).toEqual([-(2 ** 31)]);
    const third = cpu.binary('div', tensor([1], [1], 'float32'), tensor([3], [1], 'float32'));
    expect(await readAll(out(third, [1]))).toEqual([Math.fround(1 / 3)]);
  });

  it('unary and binary handle 0-d and size-0 tensors', async () => {
    expect(await readAll(out(cpu.unary('exp', tensor([0], [])), []))).toEqual([1]);
    expect(await readAll(out(cpu.binary('mul', tensor([3], []), tensor([4], [])), []))).toEqual([12]);
    const empty = tensor([], [0, 3]);
    expect(cpu.unary('neg', empty).size).toBe(0);
    expect(cpu.binary('less', empty, empty).size).toBe(0);
  });

  it('where picks a where cond is true and b elsewhere, with a broadcast cond', async () => {
    const cond = viewOf(cpu.upload(new Uint8Array([1, 0, 1]), 'bool'), [2, 3], [0, 1]);
    const a = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    const b = viewOf(cpu.upload(new Int32Array([-1, -2]), 'int32'), [2, 3], [1, 0]);
    const result = cpu.where(cond, a, b);
    expect(result.dtype).toBe('int32');
    expect(await readAll(out(result, [2, 3]))).toEqual([1, -1, 3, 4, -2, 6]);
  });

  it('cast to int32 truncates toward zero, saturates at the int32 range like WGSL, and sends NaN to 0', async () => {
    const x = tensor([-2.7, 2.7, -0.5, NaN, Infinity, 2 ** 31, 2 ** 32 + 5, -Infinity], [8]);
    expect(await readAll(out(cpu.cast(x, 'int32'), [8]))).toEqual([
      -2,
      2,
      0,
      0,
      2 ** 31 - 1,
      2 ** 31 - 1,
      2 ** 31 - 1,
      -(2 ** 31),
    ]);
  });

  it('cast to bool is x != 0 (NaN is true, -0 is false)', async () => {
    const x = tensor([0, -0, 0.5, -3, NaN, 256], [6]);
    const b = cpu.cast(x, 'bool');
    expect(b.dtype).toBe('bool');
    expect(await readAll(out(b, [6]))).toEqual([0, 0, 1, 1, 1, 1]);
  });

  it('cast from int and bool to float is exact, and float64 to float32 rounds', async () => {
    expect(await readAll(out(cpu.cast(tensor([-(2 ** 31), 7], [2], 'int32'), 'float64'), [2]))).toEqual([
      -(2 ** 31),
      7,
    ]);
    expect(await readAll(out(cpu.cast(tensor([1, 0], [2], 'bool'), 'float32'), [2]))).toEqual([1, 0]);
    expect(await readAll(out(cpu.cast(tensor([16777217, 0.1], [2], 'float64'), 'float32'), [2]))).toEqual([
      16777216,
      Math.fround(0.1),
    ]);
  });

  it('cast reads strided views', async () => {
    const s = rampStorage(6);
    const v = viewOf(s, [3, 2], [1, 3]);
    const expected = naiveElements(await readAll(viewOf(s, [6])), v).map((x) => Math.fround(x));
    expect(await readAll(out(cpu.cast(v, 'float32'), [3, 2]))).toEqual(expected);
  });

  it('fill converts its value like a cast to the dtype', async () => {
    expect(await readAll(out(cpu.fill([2, 2], 2.5, 'int32'), [2, 2]))).toEqual([2, 2, 2, 2]);
    expect(await readAll(out(cpu.fill([3], 256, 'bool'), [3]))).toEqual([1, 1, 1]);
    expect(await readAll(out(cpu.fill([], 0.1, 'float32'), []))).toEqual([Math.fround(0.1)]);
    expect(cpu.fill([0, 4], 1, 'float32').size).toBe(0);
  });
});

// --- reductions -------------------------------------------------------------------------------

/** Naive reduce: for each kept index, fold the reduced indices in row-major order. */
function naiveReduce(
  data: number[],
  shape: Shape,
  axes: number[],
  op: ReduceOp,
): { shape: number[]; values: number[] } {
  const step = {
    sum: (a: number, x: number) => a + x,
    prod: (a: number, x: number) => a * x,
    max: Math.max,
    min: Math.min,
  }[op];
  const start = { sum: 0, prod: 1, max: -Infinity, min: Infinity }[op];
  const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const outShape = kept.map((d) => shape[d]);
  const values = Array.from(indicesOf(outShape), (keptIdx) => {
    let acc = start;
    for (const redIdx of indicesOf(axes.map((d) => shape[d]))) {
      const full = shape.map((_, d) => (axes.includes(d) ? redIdx[axes.indexOf(d)] : keptIdx[kept.indexOf(d)]));
      acc = step(acc, data[flatIndex(full, shape)]);
    }
    return acc;
  });
  return { shape: outShape, values };
}

describe('reduce', () => {
  const reduceCase = stridedLayout
    .filter((l) => l.shape.length > 0)
    .chain((layout) =>
      fc.record({
        layout: fc.constant(layout),
        axes: fc.subarray(
          layout.shape.map((_, d) => d),
          { minLength: 1 },
        ),
        op: fc.constantFrom<ReduceOp>('sum', 'prod', 'max', 'min'),
      }),
    );

  it('matches a naive fold over the reduced axes for any strided view', async () => {
    await fc.assert(
      fc.asyncProperty(reduceCase, async ({ layout, axes, op }) => {
        const storage = rampStorage(layout.storageSize);
        const view = viewOf(storage, layout.shape, layout.strides, layout.offset);
        const elements = await readAll(view);
        const expected = naiveReduce(
          elements,
          layout.shape,
          [...axes].sort((a, b) => a - b),
          op,
        );
        const result = cpu.reduce(
          op,
          view,
          [...axes].sort((a, b) => a - b),
        );
        expect(await readAll(out(result, expected.shape))).toEqual(expected.values);
      }),
      { numRuns: 200 },
    );
  });

  it('over every axis gives a 0-d result', async () => {
    const r = cpu.reduce('sum', tensor([1, 2, 3, 4, 5, 6], [2, 3]), [0, 1]);
    expect(r.size).toBe(1);
    expect(await readAll(out(r, []))).toEqual([21]);
  });

  it('of an empty set is 0 for sum and 1 for prod, and max does not crash', async () => {
    const empty = tensor([], [2, 0], 'float32');
    expect(await readAll(out(cpu.reduce('sum', empty, [1]), [2]))).toEqual([0, 0]);
    expect(await readAll(out(cpu.reduce('prod', empty, [1]), [2]))).toEqual([1, 1]);
    expect(await readAll(out(cpu.reduce('max', empty, [1]), [2]))).toEqual([-Infinity, -Infinity]);
    expect(cpu.reduce('sum', empty, [0]).size).toBe(0);
  });

  it('float32 sums accumulate in float64 and round once', async () => {
    // In float32 arithmetic 2^24 + 1 + 1 stays 2^24; in float64 it is 2^24 + 2, exact in float32.
    const x = tensor([2 ** 24, 1, 1], [3], 'float32');
    expect(await readAll(out(cpu.reduce('sum', x, [0]), []))).toEqual([2 ** 24 + 2]);
  });

  it('max and min propagate NaN', async () => {
    const x = tensor([1, NaN, 3, 2, 5, 4], [2, 3], 'float32');
    expect(await readAll(out(cpu.reduce('max', x, [1]), [2]))).toEqual([NaN, 5]);
    expect(await readAll(out(cpu.reduce('min', x, [1]), [2]))).toEqual([NaN, 2]);
  });

  it('int32 sums wrap on store', async () => {
    const x = tensor([2 ** 31 - 1, 2], [2], 'int32');
    expect(await readAll(out(cpu.reduce('sum', x, [0]), []))).toEqual([-(2 ** 31) + 1]);
  });
});

describe('argReduce', () => {
  it('returns the first index of the max/min along the axis, as int32', async () => {
    const x = tensor([3, 1, 3, 0, 0, 2, 2, 0], [2, 4], 'float32');
    const am = cpu.argReduce('argmax', x, 1);
    expect(am.dtype).toBe('int32');
    expect(await readAll(out(am, [2]))).toEqual([0, 1]);
    expect(await readAll(out(cpu.argReduce('argmin', x, 1), [2]))).toEqual([3, 0]);
  });

  it('matches a naive scan along a middle axis of a transposed view', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 24, maxLength: 24 }),
        fc.constantFrom<'argmax' | 'argmin'>('argmax', 'argmin'),
        async (values, op) => {
          // storage [4, 3, 2], viewed as [2, 3, 4] by reversing the dims; reduce axis 1.
          const view = viewOf(cpu.upload(Float64Array.from(values), 'float64'), [2, 3, 4], [1, 2, 6]);
          const elements = naiveElements(values, view);
          const expected: number[] = [];
          for (const [i, k] of indicesOf([2, 4])) {
            const column = [0, 1, 2].map((j) => elements[flatIndex([i, j, k], [2, 3, 4])]);
            const best = op === 'argmax' ? Math.max(...column) : Math.min(...column);
            expected.push(column.indexOf(best));
          }
          expect(await readAll(out(cpu.argReduce(op, view, 1), [2, 4]))).toEqual(expected);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('treats NaN as the extreme value, picking the first NaN', async () => {
    const x = tensor([1, NaN, 5, NaN], [4], 'float32');
    expect(await readAll(out(cpu.argReduce('argmax', x, 0), []))).toEqual([1]);
    expect(await readAll(out(cpu.argReduce('argmin', x, 0), []))).toEqual([1]);
  });
});

// --- matmul -----------------------------------------------------------------------------------

describe('matmul', () => {
  const matmulCase = fc.record({
    batch: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
    M: fc.integer({ min: 0, max: 4 }),
    K: fc.integer({ min: 0, max: 4 }),
    N: fc.integer({ min: 0, max: 4 }),
    transposeB: fc.boolean(),
    broadcastA: fc.boolean(),
    sliceA: fc.boolean(),
  });

  it('matches the triple loop for batched, transposed, column-sliced and batch-broadcast operands', async () => {
    await fc.assert(
      fc.asyncProperty(matmulCase, async ({ batch, M, K, N, transposeB, broadcastA, sliceA }) => {
        const B = sizeOf(batch);
        // a: one [M, K] matrix broadcast over the batch (stride 0), or a full batch; when sliced,
        // each matrix is columns 1..K of a stored [M, K + 2] matrix (row stride K + 2, offset 1).
        const aMatrices = broadcastA ? 1 : B;
        const storedK = sliceA ? K + 2 : K;
        const aData = Array.from({ length: aMatrices * M * storedK }, (_, i) => ((i * 5) % 11) - 5);
        const aStorage = cpu.upload(Float64Array.from(aData), 'float64');
        const aStored = contiguousStrides([...batch, M, storedK]);
        const aStrides = broadcastA ? [...batch.map(() => 0), storedK, 1] : aStored;
        const a = viewOf(aStorage, [...batch, M, K], aStrides, sliceA ? 1 : 0);
        // b: stored as [..., N, K] and viewed transposed, or stored as [..., K, N].
        const bData = Array.from({ length: B * K * N }, (_, i) => ((i * 3) % 7) - 3 + 0.5);
        const bStorage = cpu.upload(Float64Array.from(bData), 'float64');
        const bStored = transposeB ? contiguousStrides([...batch, N, K]) : contiguousStrides([...batch, K, N]);
        const r = batch.length;
        const bStrides = transposeB ? [...bStored.slice(0, r), bStored[r + 1], bStored[r]] : bStored;
        const b = viewOf(bStorage, [...batch, K, N], bStrides);

        const aEl = naiveElements(aData, a);
        const bEl = naiveElements(bData, b);
        const expected: number[] = [];
        for (let t = 0; t < B; t++) {
          for (let i = 0; i < M; i++) {
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += aEl[(t * M + i) * K + k] * bEl[(t * K + k) * N + j];
              expected.push(s);
            }
          }
        }
        expect(await readAll(out(cpu.matmul(a, b), [...batch, M, N]))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('K = 0 gives zeros', async () => {
    const r = cpu.matmul(tensor([], [2, 0], 'float32'), tensor([], [0, 3], 'float32'));
    expect(await readAll(out(r, [2, 3]))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('computes a hand-checked 2x2 product and keeps the dtype', async () => {
    const r = cpu.matmul(tensor([1, 2, 3, 4], [2, 2], 'int32'), tensor([5, 6, 7, 8], [2, 2], 'int32'));
    expect(r.dtype).toBe('int32');
    expect(await readAll(out(r, [2, 2]))).toEqual([19, 22, 43, 50]);
  });

  it('float32 products accumulate in float64 and round once', async () => {
    const r = cpu.matmul(tensor([2 ** 24, 1, 1], [1, 3], 'float32'), tensor([1, 1, 1], [3, 1], 'float32'));
    expect(await readAll(out(r, [1, 1]))).toEqual([2 ** 24 + 2]);
  });
});

// --- conv2d and convTranspose2d ---------------------------------------------------------------

const convOut = (size: number, k: number, s: number, p: number, d: number): number =>
  Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;

/** conv2d by its definition, with every index bound checked explicitly. */
function naiveConv2d(
  x: number[],
  xs: number[],
  w: number[],
  ws: number[],
  p: Conv2dParams,
): { values: number[]; shape: number[] } {
  const [N, , H, W] = xs;
  const [O, Cg, KH, KW] = ws;
  const Ho = convOut(H, KH, p.stride[0], p.padding[0], p.dilation[0]);
  const Wo = convOut(W, KW, p.stride[1], p.padding[1], p.dilation[1]);
  const values: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let i = 0; i < Ho; i++)
        for (let j = 0; j < Wo; j++) {
          let s = 0;
          const g = Math.floor(o / (O / p.groups));
          for (let c = 0; c < Cg; c++)
            for (let a = 0; a < KH; a++)
              for (let b = 0; b < KW; b++) {
                const h = i * p.stride[0] - p.padding[0] + a * p.dilation[0];
                const v = j * p.stride[1] - p.padding[1] + b * p.dilation[1];
                if (h >= 0 && h < H && v >= 0 && v < W) {
                  s += x[flatIndex([n, g * Cg + c, h, v], xs)] * w[flatIndex([o, c, a, b], ws)];
                }
              }
          values.push(s);
        }
  return { values, shape: [N, O, Ho, Wo] };
}

const convCase = fc
  .record({
    N: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    inPerGroup: fc.integer({ min: 1, max: 2 }),
    outPerGroup: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 1, max: 6 }),
    W: fc.integer({ min: 1, max: 6 }),
    KH: fc.integer({ min: 1, max: 3 }),
    KW: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    seed: fc.nat(1000),
  })
  .filter(
    (c) =>
      convOut(c.H, c.KH, c.stride[0], c.padding[0], c.dilation[0]) >= 1 &&
      convOut(c.W, c.KW, c.stride[1], c.padding[1], c.dilation[1]) >= 1,
  );

const pseudoRandom = (n: number, seed: number): number[] =>
  Array.from({ length: n }, (_, i) => Math.sin(seed * 31.7 + i * 12.9898) * 2);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};

describe('conv2d', () => {
  const noFrills: Conv2dParams = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };

  it('a 2x2 ones kernel sums each 2x2 window (hand-checked)', async () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3]);
    const w = tensor([1, 1, 1, 1], [1, 1, 2, 2]);
    expect(await readAll(out(cpu.conv2d(x, w, noFrills), [1, 1, 2, 2]))).toEqual([12, 16, 24, 28]);
  });

  it('zero padding 1 with a 3x3 ones kernel gives neighbourhood sums (hand-checked)', async () => {
    const x = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const w = tensor(new Array(9).fill(1), [1, 1, 3, 3]);
    expect(await readAll(out(cpu.conv2d(x, w, { ...noFrills, padding: [1, 1] }), [1, 1, 2, 2]))).toEqual([
      10, 10, 10, 10,
    ]);
  });

  it('stride 2 and dilation 2 pick the expected taps (hand-checked)', async () => {
    const x = tensor(
      Array.from({ length: 25 }, (_, i) => i),
      [1, 1, 5, 5],
    );
    // kernel [[1, 0], [0, 10]] dilated by 2 reads x[h][w] + 10 * x[h+2][w+2].
    const w = tensor([1, 0, 0, 10], [1, 1, 2, 2]);
    const r = cpu.conv2d(x, w, { stride: [2, 2], padding: [0, 0], dilation: [2, 2], groups: 1 });
    // Ho = floor((5 - 2 - 1) / 2) + 1 = 2: outputs at (0,0), (0,2), (2,0), (2,2).
    expect(await readAll(out(r, [1, 1, 2, 2]))).toEqual([0 + 10 * 12, 2 + 10 * 14, 10 + 10 * 22, 12 + 10 * 24]);
  });

  it('groups = 2 convolves each half of the channels with its own filters (hand-checked)', async () => {
    // Two 1x1 input channels [3, 5]; group 0 filter scales by 2, group 1 by 7.
    const x = tensor([3, 5], [1, 2, 1, 1]);
    const w = tensor([2, 7], [2, 1, 1, 1]);
    expect(await readAll(out(cpu.conv2d(x, w, { ...noFrills, groups: 2 }), [1, 2, 1, 1]))).toEqual([6, 35]);
  });

  it('matches the naive 7-loop formula for random shapes, strides, padding, dilation and groups', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const xs = [c.N, c.groups * c.inPerGroup, c.H, c.W];
        const ws = [c.groups * c.outPerGroup, c.inPerGroup, c.KH, c.KW];
        const xData = pseudoRandom(sizeOf(xs), c.seed);
        const wData = pseudoRandom(sizeOf(ws), c.seed + 1);
        const p: Conv2dParams = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
        const expected = naiveConv2d(xData, xs, wData, ws, p);
        const got = await readAll(out(cpu.conv2d(tensor(xData, xs), tensor(wData, ws), p), expected.shape));
        expect(got.length).toBe(expected.values.length);
        got.forEach((v, i) => expect(v).toBeCloseTo(expected.values[i], 10));
      }),
      { numRuns: 150 },
    );
  });

  it('reads a strided (channels-last) input view', async () => {
    const xs = [1, 2, 3, 3];
    const xData = pseudoRandom(18, 3);
    // Stored NHWC [1, 3, 3, 2], viewed as NCHW.
    const nhwc = cpu.upload(Float64Array.from(xData), 'float64');
    const x = viewOf(nhwc, xs, [18, 1, 6, 2]);
    const wData = pseudoRandom(2 * 2 * 2 * 2, 4);
    const expected = naiveConv2d(naiveElements(xData, x), xs, wData, [2, 2, 2, 2], noFrills);
    const got = await readAll(out(cpu.conv2d(x, tensor(wData, [2, 2, 2, 2]), noFrills), expected.shape));
    got.forEach((v, i) => expect(v).toBeCloseTo(expected.values[i], 10));
  });
});

describe('convTranspose2d', () => {
  it('is the adjoint of conv2d: <conv2d(x, w), y> = <x, convTranspose2d(y, w)>', async () => {
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const xs = [c.N, c.groups * c.inPerGroup, c.H, c.W];
        const ws = [c.groups * c.outPerGroup, c.inPerGroup, c.KH, c.KW];
        const Ho = convOut(c.H, c.KH, c.stride[0], c.padding[0], c.dilation[0]);
        const Wo = convOut(c.W, c.KW, c.stride[1], c.padding[1], c.dilation[1]);
        const ys = [c.N, c.groups * c.outPerGroup, Ho, Wo];
        // The output padding that makes the transpose land back on H x W (always in [0, stride)).
        const outputPadding: [number, number] = [
          c.H - ((Ho - 1) * c.stride[0] - 2 * c.padding[0] + c.dilation[0] * (c.KH - 1) + 1),
          c.W - ((Wo - 1) * c.stride[1] - 2 * c.padding[1] + c.dilation[1] * (c.KW - 1) + 1),
        ];
        const conv: Conv2dParams = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
        const transpose: ConvTranspose2dParams = { ...conv, outputPadding };
        const x = pseudoRandom(sizeOf(xs), c.seed);
        const y = pseudoRandom(sizeOf(ys), c.seed + 2);
        const w = tensor(pseudoRandom(sizeOf(ws), c.seed + 1), ws);
        const convX = await cpu.read(out(cpu.conv2d(tensor(x, xs), w, conv), ys));
        const transposeY = await cpu.read(out(cpu.convTranspose2d(tensor(y, ys), w, transpose), xs));
        expect(transposeY.length).toBe(x.length);
        const lhs = dot(convX, y);
        const rhs = dot(x, transposeY);
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(lhs)));
      }),
      { numRuns: 150 },
    );
  });

  const plain: ConvTranspose2dParams = {
    stride: [1, 1],
    padding: [0, 0],
    dilation: [1, 1],
    groups: 1,
    outputPadding: [0, 0],
  };

  it('a single input pixel stamps a scaled copy of the kernel (hand-checked)', async () => {
    const r = cpu.convTranspose2d(tensor([2], [1, 1, 1, 1]), tensor([1, 2, 3, 4], [1, 1, 2, 2]), plain);
    expect(await readAll(out(r, [1, 1, 2, 2]))).toEqual([2, 4, 6, 8]);
  });

  it('stride 2 places the stamps apart and output padding adds an untouched row and column (hand-checked)', async () => {
    const x = tensor([1, 10], [1, 1, 1, 2]);
    const w = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
    const r = cpu.convTranspose2d(x, w, { ...plain, stride: [2, 2], outputPadding: [1, 1] });
    // Ho = 0*2 + 1 + 1 + 1 = 3, Wo = 1*2 + 1 + 1 + 1 = 5.
    expect(await readAll(out(r, [1, 1, 3, 5]))).toEqual([1, 2, 10, 20, 0, 3, 4, 30, 40, 0, 0, 0, 0, 0, 0]);
  });

  it('overlapping stamps add, and padding crops the border (hand-checked)', async () => {
    const x = tensor([1, 1], [1, 1, 1, 2]);
    const w = tensor([1, 1, 1, 1], [1, 1, 2, 2]);
    expect(await readAll(out(cpu.convTranspose2d(x, w, plain), [1, 1, 2, 3]))).toEqual([1, 2, 1, 1, 2, 1]);
    const cropped = cpu.convTranspose2d(x, w, { ...plain, padding: [0, 1] });
    expect(await readAll(out(cropped, [1, 1, 2, 1]))).toEqual([2, 2]);
  });

  it('groups map input channel groups to output channel groups (PyTorch weight layout)', async () => {
    // Cin = 2, groups = 2, Cout/groups = 2: w is [2, 2, 1, 1]; channel 0 feeds outputs 0-1, channel 1 outputs 2-3.
    const x = tensor([3, 5], [1, 2, 1, 1]);
    const w = tensor([1, 2, 10, 20], [2, 2, 1, 1]);
    expect(await readAll(out(cpu.convTranspose2d(x, w, { ...plain, groups: 2 }), [1, 4, 1, 1]))).toEqual([
      3, 6, 50, 100,
    ]);
  });
});

// --- pad, concat, take ------------------------------------------------------------------------

describe('pad', () => {
  it('surrounds any strided view with the constant, matching a naive placement', async () => {
    await fc.assert(
      fc.asyncProperty(
        stridedLayout.chain((layout) =>
          fc.record({
            layout: fc.constant(layout),
            widths: fc.array(fc.tuple(fc.nat(2), fc.nat(2)), {
              minLength: layout.shape.length,
              maxLength: layout.shape.length,
            }),
          }),
        ),
        async ({ layout, widths }) => {
          const storage = rampStorage(layout.storageSize);
          const view = viewOf(storage, layout.shape, layout.strides, layout.offset);
          const elements = await readAll(view);
          const outShape = layout.shape.map((n, d) => widths[d][0] + n + widths[d][1]);
          const expected = Array.from(indicesOf(outShape), (idx) => {
            const inner = idx.map((i, d) => i - widths[d][0]);
            const inside = inner.every((i, d) => i >= 0 && i < layout.shape[d]);
            return inside ? elements[flatIndex(inner, layout.shape)] : -7.5;
          });
          expect(await readAll(out(cpu.pad(view, widths, -7.5), outShape))).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('converts the pad value to the dtype', async () => {
    expect(await readAll(out(cpu.pad(tensor([1], [1], 'bool'), [[1, 1]], 5), [3]))).toEqual([1, 1, 1]);
    expect(await readAll(out(cpu.pad(tensor([4], [1], 'int32'), [[0, 1]], -1.5), [2]))).toEqual([4, -1]);
  });
});

describe('concat', () => {
  it('stacks strided parts (including empty ones) along any axis like a naive placement', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }),
        fc.nat(2),
        fc.boolean(),
        async (shape, alongSizes, axisPick, transposeParts) => {
          const axis = axisPick % shape.length;
          const parts = alongSizes.map((n, p) => {
            const partShape = shape.map((d, i) => (i === axis ? n : d));
            const values = Array.from({ length: sizeOf(partShape) }, (_, i) => p * 100 + i);
            if (!transposeParts || partShape.length < 2) return { view: tensor(values, partShape), values, partShape };
            // Store the part with its dims reversed and view it back in logical order.
            const reversed = [...partShape].reverse();
            const rs = contiguousStrides(reversed).reverse();
            const view = viewOf(cpu.upload(Float64Array.from(values), 'float64'), partShape, rs);
            return { view, values: naiveElements(values, view), partShape };
          });
          const outShape = shape.map((d, i) => (i === axis ? alongSizes.reduce((s, n) => s + n, 0) : d));
          const expected = Array.from(indicesOf(outShape), (idx) => {
            let at = idx[axis];
            for (const part of parts) {
              if (at < part.partShape[axis])
                return part.values[
                  flatIndex(
                    idx.map((i, d) => (d === axis ? at : i)),
                    part.partShape,
                  )
                ];
              at -= part.partShape[axis];
            }
            throw new Error('unreachable');
          });
          expect(
            await readAll(
              out(
                cpu.concat(
                  parts.map((p) => p.view),
                  axis,
                ),
                outShape,
              ),
            ),
          ).toEqual(expected);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('take', () => {
  it('picks along a middle axis with an index tensor of any shape', async () => {
    const x = tensor(
      Array.from({ length: 24 }, (_, i) => i),
      [2, 3, 4],
      'int32',
    );
    const idx = tensor([2, 0, 1, 1], [2, 2], 'int32');
    const r = cpu.take(x, idx, 1);
    expect(r.dtype).toBe('int32');
    const expected = [];
    for (let a = 0; a < 2; a++)
      for (const j of [2, 0, 1, 1]) for (let c = 0; c < 4; c++) expected.push(a * 12 + j * 4 + c);
    expect(await readAll(out(r, [2, 2, 2, 4]))).toEqual(expected);
  });

  it('wraps a negative index once, then clamps into range', async () => {
    const x = tensor([10, 11, 12, 13], [4]);
    const idx = tensor([-1, -4, -5, -100, 4, 99, 0], [7], 'int32');
    expect(await readAll(out(cpu.take(x, idx, 0), [7]))).toEqual([13, 10, 10, 10, 13, 13, 10]);
  });

  it('reads strided x and indices views, and handles 0-d indices', async () => {
    const s = rampStorage(6);
    const xT = viewOf(s, [3, 2], [1, 3]); // transpose of [2, 3]
    const elements = await readAll(xT);
    const idx = viewOf(cpu.upload(new Int32Array([1]), 'int32'), [2], [0]); // broadcast [1, 1]
    expect(await readAll(out(cpu.take(xT, idx, 1), [3, 2]))).toEqual([
      elements[1],
      elements[1],
      elements[3],
      elements[3],
      elements[5],
      elements[5],
    ]);
    const scalarIdx = tensor([2], [], 'int32');
    expect(await readAll(out(cpu.take(xT, scalarIdx, 0), [2]))).toEqual([elements[4], elements[5]]);
  });

  it('does not crash when the axis is empty', () => {
    expect(() => cpu.take(tensor([], [2, 0]), tensor([0], [1], 'int32'), 1)).not.toThrow();
    expect(cpu.take(tensor([], [0, 2]), tensor([0], [1], 'int32'), 1).size).toBe(0);
  });
});

// --- random -----------------------------------------------------------------------------------

describe('random', () => {
  it("lays out the Threefry stream row-major: 'bits' as int32, 'uniform' and 'normal' as float32", async () => {
    const key: [number, number] = [1, 2];
    const bits = cpu.random('bits', key, [2, 3]);
    expect(bits.dtype).toBe('int32');
    expect(await readAll(out(bits, [2, 3]))).toEqual(Array.from(randomStream('bits', key, 6)));
    for (const kind of ['uniform', 'normal'] as const) {
      const r = cpu.random(kind, key, [5]);
      expect(r.dtype).toBe('float32');
      expect(await readAll(out(r, [5]))).toEqual(Array.from(randomStream(kind, key, 5)));
    }
  });

  it('a 0-d random tensor holds one element and a size-0 one none', () => {
    expect(cpu.random('uniform', [0, 0], []).size).toBe(1);
    expect(cpu.random('normal', [0, 0], [3, 0]).size).toBe(0);
  });
});
