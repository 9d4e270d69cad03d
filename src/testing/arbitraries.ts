// fast-check arbitraries for property tests of tensor code: shapes, broadcast-compatible shape
// sets and tensors. Imported from 'webgpu-lrpo/testing' (fast-check is a peer dependency).
import fc from 'fast-check';
import type { BackendName } from '../kernels/backend.js';
import type { DType } from '../tensor/dtype.js';
import { tensor } from '../tensor/ops/creation.js';
import { sizeOf } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ShapeOptions {
  readonly minRank?: number;
  readonly maxRank?: number;
  readonly minDim?: number;
  readonly maxDim?: number;
}

/** Shapes of rank minRank..maxRank (default 0..4) with dims minDim..maxDim (default 1..5). */
export function arbitraryShape({ minRank = 0, maxRank = 4, minDim = 1, maxDim = 5 }: ShapeOptions = {}): fc.Arbitrary<
  number[]
> {
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank });
}

/**
 * `count` shapes that broadcast together (NumPy rules), made from one output shape by dropping
 * leading dims and setting some dims to 1. Returns [outputShape, ...operandShapes].
 */
export function arbitraryBroadcastShapes(count = 2, options: ShapeOptions = {}): fc.Arbitrary<number[][]> {
  return arbitraryShape(options).chain((out) =>
    fc
      .tuple(
        ...Array.from({ length: count }, () =>
          fc.tuple(
            fc.integer({ min: 0, max: out.length }),
            fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
          ),
        ),
      )
      .map((specs) => [out, ...specs.map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)))]),
  );
}

export interface TensorArbitraryOptions {
  /** A fixed shape, or an arbitrary of shapes (default arbitraryShape()). */
  readonly shape?: readonly number[] | fc.Arbitrary<number[]>;
  /** Default float64 (gradient checks want it); float32, int32 and bool work too. */
  readonly dtype?: DType;
  readonly min?: number;
  readonly max?: number;
  /** Keep values at least this far from 0 (for log, division, ... ); default 0. */
  readonly awayFromZero?: number;
  /** Default 'cpu'. Tensors are not disposed by fast-check: prefer the CPU for generated data. */
  readonly backend?: BackendName;
}

/** Tensors with values in [min, max] (default [-2, 2]); integers for int32, 0/1 for bool. */
export function arbitraryTensor(options: TensorArbitraryOptions = {}): fc.Arbitrary<Tensor> {
  const dtype = options.dtype ?? 'float64';
  const min = options.min ?? -2;
  const max = options.max ?? 2;
  const away = options.awayFromZero ?? 0;
  const shapes =
    options.shape === undefined
      ? arbitraryShape()
      : Array.isArray(options.shape)
        ? fc.constant([...options.shape])
        : (options.shape as fc.Arbitrary<number[]>);
  const element: fc.Arbitrary<number> =
    dtype === 'bool'
      ? fc.integer({ min: 0, max: 1 })
      : dtype === 'int32'
        ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
        : fc
            .double({ min, max, noNaN: true, noDefaultInfinity: true })
            .filter((v) => Math.abs(v) >= away)
            .map((v) => (dtype === 'float32' ? Math.fround(v) : v));
  return shapes.chain((shape) =>
    fc
      .array(element, { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
      .map((values) => tensor(Float64Array.from(values), { shape, dtype, backend: options.backend ?? 'cpu' })),
  );
}

/**
 * vmap in-axes for arguments of the given (per-example) ranks: per argument null (shared by the
 * batch) or where its batch axis sits, 0..rank, sometimes written negative; at least one argument
 * is batched. `batchedOnly` lists the arguments that must be batched (indices).
 */
export function arbitraryInAxes(
  ranks: readonly number[],
  { batchedOnly = [] as readonly number[] } = {},
): fc.Arbitrary<(number | null)[]> {
  return fc
    .tuple(
      ...ranks.map((r, i) =>
        fc.oneof(
          fc.integer({ min: 0, max: r }),
          fc.integer({ min: -(r + 1), max: -1 }),
          ...(batchedOnly.includes(i) ? [] : [fc.constant(null)]),
        ),
      ),
    )
    .filter((axes) => axes.some((a) => a !== null));
}

/** Batch sizes for vmap properties: 1 (the edge) to 4. */
export const arbitraryBatchSize = (): fc.Arbitrary<number> => fc.integer({ min: 1, max: 4 });
