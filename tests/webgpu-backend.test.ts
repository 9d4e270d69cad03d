// Specification of the WebGPU backend: every Backend method agrees with the CPU reference backend
// on generated shapes, values and strided views (broadcast, transposed, sliced, 0-d, size-0), plus
// the device-level behaviour: grid folding, batching hazards, pooling, and readable errors. matmul's
// variants and defaults: webgpu-matmul.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/kernels/backend.js';
import { type BinaryOp, binaryOps, type OperandClass, type UnaryOp, unaryOps } from '../src/kernels/elementwise-ops.js';
import { convOutSize, convTransposeOutSize } from '../src/kernels/params.js';
import { BufferPool, sizeClass } from '../src/kernels/webgpu/buffer-pool.js';
import { FIRST_SUBMIT_DISPATCHES, foldGrid, MAX_DISPATCHES_PER_SUBMIT } from '../src/kernels/webgpu/encoder.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { randomStream } from '../src/random/threefry.js';
import type { DType } from '../src/tensor/dtype.js';
import { BackendError } from '../src/tensor/errors.js';
import { sizeOf } from '../src/tensor/shape.js';
import { useRawBackends } from './support/backends.js';
import {
  contiguousHost,
  defaultKind,
  expectClose,
  hostComparison,
  hostView,
  layoutArb,
  shapeArb,
  toView,
  whole,
  type DimLayout,
} from './support/host-views.js';

let gpu: WebGpuBackend;
let cpu: Backend;
const { onBoth } = hostComparison(() => [gpu, cpu]);

useRawBackends((g, c) => {
  gpu = g;
  cpu = c;
});

const RUNS = { numRuns: 60 };

// --- storage ----------------------------------------------------------------------------------

describe('storage and readback', () => {
  it('reads back every dtype of any strided view (broadcast, transposed, sliced, 0-d, size-0) like the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(0, 4).chain((shape) => fc.tuple(fc.constant(shape), layoutArb(shape.length))),
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        fc.nat(),
        async ([shape, layout], dtype, seed) => {
          const h = hostView(shape, layout, dtype, seed);
          const g = toView(gpu, h);
          const c = toView(cpu, h);
          expectClose({ gpu: await gpu.read(g), cpu: await cpu.read(c), gpuDtype: dtype, cpuDtype: dtype });
          gpu.release(g.storage);
        },
      ),
      RUNS,
    );
  });

  it('copy materialises any strided view as contiguous storage', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(0, 5).chain((shape) => fc.tuple(fc.constant(shape), layoutArb(shape.length))),
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        fc.nat(),
        async ([shape, layout], dtype, seed) => {
          expectClose(await onBoth([hostView(shape, layout, dtype, seed)], (b, [x]) => b.copy(x)));
        },
      ),
      RUNS,
    );
  });

  it('refuses float64 with a message naming the fix, and holds float32, int32 and bool', () => {
    expect(gpu.dtypes).toEqual(['float32', 'int32', 'bool']);
    expect(() => gpu.upload(new Float64Array(3), 'float64')).toThrow(BackendError);
    expect(() => gpu.upload(new Float64Array(3), 'float64')).toThrow(
      /float64 is CPU-only.*cast to float32.*cpu backend/,
    );
  });

  it('maxElements names the binding-size limit it comes from', () => {
    const { elements, limit } = gpu.maxElements('float32');
    expect(elements).toBeGreaterThan(1 << 20);
    expect(limit).toMatch(/^(maxStorageBufferBindingSize|maxBufferSize) = \d+ bytes$/);
    expect(elements).toBe(Math.floor(Number(limit.split(' = ')[1].split(' ')[0]) / 4));
  });

  it('bool uploads any nonzero byte as true and reads back 0/1 bytes', async () => {
    const s = gpu.upload(Uint8Array.from([0, 1, 7, 255, 0]), 'bool');
    expect(Array.from(await gpu.read(whole(s)))).toEqual([0, 1, 1, 1, 0]);
    expect(await gpu.read(whole(s))).toBeInstanceOf(Uint8Array);
    gpu.release(s);
  });

  it('read returns a fresh array each time', async () => {
    const s = gpu.upload(Float32Array.from([1, 2, 3]), 'float32');
    const a = await gpu.read(whole(s));
    a[0] = 99;
    expect(Array.from(await gpu.read(whole(s)))).toEqual([1, 2, 3]);
    gpu.release(s);
  });
});

// --- elementwise ------------------------------------------------------------------------------

const dtypesFor = (c: OperandClass): DType[] =>
  c === 'float'
    ? ['float32']
    : c === 'numeric'
      ? ['float32', 'int32']
      : c === 'bool'
        ? ['bool']
        : ['float32', 'int32', 'bool'];
/** log/sqrt/rsqrt/reciprocal take positive inputs (WGSL leaves negative domains indeterminate). */
const POSITIVE_DOMAIN = new Set<string>(['log', 'sqrt', 'rsqrt', 'reciprocal']);
const TRANSCENDENTAL = { rtol: 2e-5, atol: 2e-6 };

const opAndDtype = <Op extends string>(table: Record<Op, { operands: OperandClass }>): fc.Arbitrary<[Op, DType]> =>
  fc
    .constantFrom(...(Object.keys(table) as Op[]))
    .chain((op) => fc.tuple(fc.constant(op), fc.constantFrom(...dtypesFor(table[op].operands))));

describe('elementwise', () => {
  it('every unary op in the table matches the CPU on strided views', async () => {
    await fc.assert(
      fc.asyncProperty(
        opAndDtype<UnaryOp>(unaryOps),
        shapeArb(0, 4).chain((shape) => fc.tuple(fc.constant(shape), layoutArb(shape.length))),
        fc.nat(),
        async ([op, dtype], [shape, layout], seed) => {
          const kind = dtype === 'float32' && POSITIVE_DOMAIN.has(op) ? 'positive' : defaultKind(dtype);
          const r = await onBoth([hostView(shape, layout, dtype, seed, kind)], (b, [x]) => b.unary(op, x));
          expectClose(r, TRANSCENDENTAL, `${op} ${dtype} ${JSON.stringify(shape)}`);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('every binary op in the table matches the CPU on two differently strided views', async () => {
    await fc.assert(
      fc.asyncProperty(
        opAndDtype<BinaryOp>(binaryOps),
        shapeArb(0, 4).chain((shape) => fc.tuple(fc.constant(shape), layoutArb(shape.length), layoutArb(shape.length))),
        fc.nat(),
        async ([op, dtype], [shape, la, lb], seed) => {
          const r = await onBoth(
            [hostView(shape, la, dtype, seed), hostView(shape, lb, dtype, seed + 1)],
            (b, [x, y]) => b.binary(op, x, y),
          );
          expectClose(r, { rtol: 1e-4, atol: 1e-6 }, `${op} ${dtype} ${JSON.stringify(shape)}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('pow follows Math.pow for negative bases, zero exponents and 0^0', async () => {
    const a = contiguousHost([6], 'float32', 0);
    const base = { ...a, data: [-2, -2, 0, 0, 2, -0.5] };
    const exp = { ...a, data: [3, 0.5, 0, -1, 10, -2] };
    expectClose(await onBoth([base, exp], (b, [x, y]) => b.binary('pow', x, y)), { rtol: 1e-6 });
  });

  it('where picks a where cond is true and b elsewhere, for any strides', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        shapeArb(0, 4).chain((shape) =>
          fc.tuple(fc.constant(shape), layoutArb(shape.length), layoutArb(shape.length), layoutArb(shape.length)),
        ),
        fc.nat(),
        async (dtype, [shape, lc, la, lb], seed) => {
          const r = await onBoth(
            [
              hostView(shape, lc, 'bool', seed),
              hostView(shape, la, dtype, seed + 1),
              hostView(shape, lb, dtype, seed + 2),
            ],
            (b, [c, x, y]) => b.where(c, x, y),
          );
          expectClose(r);
        },
      ),
      RUNS,
    );
  });

  it('cast between every pair of dtypes matches the CPU, including NaN, infinities and out-of-range floats', async () => {
    const special = [NaN, Infinity, -Infinity, 1e10, -1e10, 2.7, -2.7, -0, 0, 0.5, 2147483520];
    for (const from of ['float32', 'int32', 'bool'] as const) {
      for (const to of ['float32', 'int32', 'bool'] as const) {
        const h =
          from === 'float32'
            ? { ...contiguousHost([special.length], from, 0), data: special }
            : contiguousHost([3, 7], from, 5);
        expectClose(await onBoth([h], (b, [x]) => b.cast(x, to)), {}, `cast ${from} -> ${to}`);
        const t = hostView(
          [4, 3],
          [1, 0].map((order) => ({ broadcast: false, extra: 1, start: 1, order })),
          from,
          9,
        );
        expectClose(await onBoth([t], (b, [x]) => b.cast(x, to)), {}, `strided cast ${from} -> ${to}`);
      }
    }
  });

  it('fill converts its value like the CPU store rules, for 0-d, size-0 and 2-d shapes', async () => {
    for (const dtype of ['float32', 'int32', 'bool'] as const) {
      for (const value of [0, 1, -2.5, 3.7, NaN, Infinity, -0]) {
        for (const shape of [[], [0], [3, 5]]) {
          expectClose(
            await onBoth([], (b) => b.fill(shape, value, dtype)),
            {},
            `fill ${dtype} ${value} ${JSON.stringify(shape)}`,
          );
        }
      }
    }
  });

  it('folds a grid past 65,535 workgroups into 2-D and still covers every element', async () => {
    const n = 65_535 * 64 + 777; // 64-thread workgroups: one more than fits one grid dimension
    expect(foldGrid(Math.ceil(n / 64), 65_535)[1]).toBeGreaterThan(1);
    const a = Float32Array.from({ length: n }, (_, i) => (i % 1000) / 4);
    const bRow = Float32Array.from({ length: 777 }, (_, i) => i);
    const sa = gpu.upload(a, 'float32');
    const sb = gpu.upload(bRow, 'float32');
    // The same storage bound twice (read-only) in one dispatch is allowed.
    const out = gpu.binary('add', whole(sa), whole(sa));
    const got = (await gpu.read(whole(out))) as Float32Array;
    expect(got.length).toBe(n);
    for (let i = 0; i < n; i += 9973) expect(got[i]).toBe(2 * a[i]);
    expect(got[n - 1]).toBe(2 * a[n - 1]);
    // b is broadcast over rows (a stride-0 leading dim), so the strided path runs past the limit too.
    const shape = [5398, 777]; // 4,194,246 elements: 65,536 workgroups
    const m = sizeOf(shape);
    const bc = gpu.binary(
      'mul',
      { storage: sa, dtype: 'float32', shape, strides: [777, 1], offset: 0 },
      { storage: sb, dtype: 'float32', shape, strides: [0, 1], offset: 0 },
    );
    const prod = (await gpu.read(whole(bc))) as Float32Array;
    expect(prod.length).toBe(m);
    for (let i = 0; i < m; i += 7919) expect(prod[i]).toBe(Math.fround(a[i] * bRow[i % 777]));
    expect(prod[m - 1]).toBe(Math.fround(a[m - 1] * bRow[776]));
    for (const s of [sa, sb, out, bc]) gpu.release(s);
  });
});

// --- reductions -------------------------------------------------------------------------------

const axesArb = (rank: number): fc.Arbitrary<number[]> =>
  fc
    .subarray(
      Array.from({ length: rank }, (_, k) => k),
      { minLength: 1 },
    )
    .map((a) => [...a].sort((x, y) => x - y));

describe('reduce', () => {
  it('sum, prod, max and min over any axes of any strided view match the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('sum', 'prod', 'max', 'min' as const),
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        shapeArb(1, 4, 6).chain((shape) =>
          fc.tuple(fc.constant(shape), layoutArb(shape.length), axesArb(shape.length)),
        ),
        fc.nat(),
        async (op, dtype, [shape, layout, axes], seed) => {
          // max/min of nothing is refused by the front end (the CPU stores -Infinity as int32 0).
          fc.pre(!(op === 'max' || op === 'min') || axes.every((k) => shape[k] > 0));
          // Products of +-1 stay exact (and in range) in every dtype.
          const kind = dtype === 'bool' ? 'bool' : op === 'prod' ? 'sign' : defaultKind(dtype);
          const r = await onBoth([hostView(shape, layout, dtype, seed, kind)], (b, [x]) => b.reduce(op, x, axes));
          expectClose(r, {}, `${op} ${dtype} ${JSON.stringify(shape)} axes ${JSON.stringify(axes)}`);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('long rows (workgroup tree, and split rows with a second pass) match the CPU', async () => {
    const cases: {
      shape: number[];
      layout?: DimLayout[];
      axes: number[];
      op: 'sum' | 'max' | 'min' | 'prod';
      dtype: DType;
    }[] = [
      { shape: [3, 5000], axes: [1], op: 'sum', dtype: 'float32' },
      { shape: [200_000], axes: [0], op: 'sum', dtype: 'float32' },
      { shape: [300, 700], axes: [0, 1], op: 'max', dtype: 'float32' },
      {
        shape: [2000, 3],
        axes: [0],
        op: 'min',
        dtype: 'int32',
        layout: [1, 0].map((order) => ({ broadcast: false, extra: 1, start: 1, order })),
      },
      { shape: [4, 30, 50], axes: [0, 2], op: 'sum', dtype: 'int32' },
      { shape: [70, 3000], axes: [1], op: 'max', dtype: 'int32' },
      { shape: [1500, 300], axes: [0], op: 'sum', dtype: 'float32' }, // column-like: one thread per output
      // Contiguous 4-aligned rows (vec4 chunks on CPU adapters): few rows cut into chunks, many rows
      // whole, a bool 'any', and rows whose start is not 4-aligned (the scalar kernels).
      { shape: [6, 2048], axes: [1], op: 'min', dtype: 'float32' },
      { shape: [300, 64], axes: [1], op: 'sum', dtype: 'float32' },
      { shape: [2, 1028], axes: [1], op: 'sum', dtype: 'bool' },
      {
        shape: [3, 1024],
        axes: [1],
        op: 'max',
        dtype: 'float32',
        layout: [0, 1].map((order) => ({ broadcast: false, extra: 1, start: 1, order })),
      },
    ];
    for (const c of cases) {
      const h = c.layout ? hostView(c.shape, c.layout, c.dtype, 3) : contiguousHost(c.shape, c.dtype, 3);
      expectClose(await onBoth([h], (b, [x]) => b.reduce(c.op, x, c.axes)), {}, JSON.stringify(c));
    }
  });

  it('max and min propagate NaN in short and long rows', async () => {
    for (const n of [5, 5000]) {
      const h = contiguousHost([2, n], 'float32', 1);
      const data = [...h.data];
      data[n - 2] = NaN;
      for (const op of ['max', 'min'] as const) {
        const r = await onBoth([{ ...h, data }], (b, [x]) => b.reduce(op, x, [1]));
        expect(Number.isNaN(r.gpu[0])).toBe(true);
        expectClose(r);
      }
    }
  });

  it('a bool sum stays a 0/1 bool on the device (cast to int32 reads 1, not the count)', async () => {
    const h = { ...contiguousHost([3, 4], 'bool', 0), data: [1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0] };
    const r = await onBoth([h], (b, [x]) => {
      const s = b.reduce('sum', x, [1]);
      const out = b.cast(whole(s), 'int32');
      b.release(s);
      return out;
    });
    expect(Array.from(r.gpu)).toEqual([1, 0, 1]);
    expectClose(r);
  });

  it('over an empty axis gives the identity (0 for sum, 1 for prod)', async () => {
    for (const op of ['sum', 'prod'] as const) {
      expectClose(await onBoth([contiguousHost([3, 0], 'float32', 1)], (b, [x]) => b.reduce(op, x, [1])));
    }
  });

  it('argmax and argmin return the first extreme index (int32) along any axis of a strided view', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('argmax', 'argmin' as const),
        fc.constantFrom<DType>('float32', 'int32'),
        shapeArb(1, 4, 6)
          .filter((s) => s.every((d) => d > 0))
          .chain((shape) => fc.tuple(fc.constant(shape), layoutArb(shape.length), fc.nat(shape.length - 1))),
        fc.nat(),
        async (op, dtype, [shape, layout, axis], seed) => {
          // Few distinct values, so ties (first index wins) are common.
          const h = hostView(shape, layout, dtype, seed, dtype === 'int32' ? 'sign' : 'grid');
          expectClose(await onBoth([h], (b, [x]) => b.argReduce(op, x, axis)));
        },
      ),
      RUNS,
    );
  });

  it('argmax treats NaN as the extreme and picks the first NaN', async () => {
    const h = { ...contiguousHost([2, 5], 'float32', 0), data: [1, NaN, 3, NaN, 2, 4, 4, 1, 0, 4] };
    for (const op of ['argmax', 'argmin'] as const) {
      const r = await onBoth([h], (b, [x]) => b.argReduce(op, x, 1));
      expectClose(r);
    }
  });
});

// --- convolutions -----------------------------------------------------------------------------

const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 2 }),
    cpg: fc.integer({ min: 1, max: 3 }),
    opg: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 7 }),
    w: fc.integer({ min: 1, max: 7 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    outputPadding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  })
  .chain((p) => fc.tuple(fc.constant(p), layoutArb(4), layoutArb(4)));

describe('convolutions', () => {
  it('conv2d matches the CPU for strides, padding, dilation, groups and strided inputs', async () => {
    await fc.assert(
      fc.asyncProperty(convArb, fc.nat(), async ([p, lx, lw], seed) => {
        fc.pre(convOutSize(p.h, p.kh, p.stride[0], p.padding[0], p.dilation[0]) > 0);
        fc.pre(convOutSize(p.w, p.kw, p.stride[1], p.padding[1], p.dilation[1]) > 0);
        const x = hostView([p.n, p.cpg * p.groups, p.h, p.w], lx, 'float32', seed);
        const w = hostView([p.opg * p.groups, p.cpg, p.kh, p.kw], lw, 'float32', seed + 1);
        const params = { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups };
        expectClose(await onBoth([x, w], (b, [xv, wv]) => b.conv2d(xv, wv, params)), {}, JSON.stringify(p));
      }),
      RUNS,
    );
  });

  it('convTranspose2d matches the CPU for strides, padding, dilation, output padding and groups', async () => {
    await fc.assert(
      fc.asyncProperty(convArb, fc.nat(), async ([p, lx, lw], seed) => {
        const outputPadding = [0, 1].map((i) => p.outputPadding[i] % Math.max(p.stride[i], p.dilation[i])) as [
          number,
          number,
        ];
        fc.pre(convTransposeOutSize(p.h, p.kh, p.stride[0], p.padding[0], p.dilation[0], outputPadding[0]) > 0);
        fc.pre(convTransposeOutSize(p.w, p.kw, p.stride[1], p.padding[1], p.dilation[1], outputPadding[1]) > 0);
        const x = hostView([p.n, p.cpg * p.groups, p.h, p.w], lx, 'float32', seed);
        const w = hostView([p.cpg * p.groups, p.opg, p.kh, p.kw], lw, 'float32', seed + 1);
        const params = { stride: p.stride, padding: p.padding, dilation: p.dilation, groups: p.groups, outputPadding };
        expectClose(await onBoth([x, w], (b, [xv, wv]) => b.convTranspose2d(xv, wv, params)), {}, JSON.stringify(p));
      }),
      RUNS,
    );
  });
});

// --- movement ---------------------------------------------------------------------------------

describe('pad, concat and take', () => {
  it('pad surrounds any strided view with the value', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(0, 4).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            layoutArb(shape.length),
            fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: shape.length, maxLength: shape.length }),
          ),
        ),
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        fc.constantFrom(0, -1.5, 7),
        fc.nat(),
        async ([shape, layout, widths], dtype, value, seed) => {
          expectClose(await onBoth([hostView(shape, layout, dtype, seed)], (b, [x]) => b.pad(x, widths, value)));
        },
      ),
      RUNS,
    );
  });

  it('concat joins strided views along any axis, including empty parts', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 4).chain((shape) =>
          fc.tuple(
            fc.constant(shape),
            fc.nat(shape.length - 1),
            fc.array(fc.tuple(fc.nat(3), layoutArb(shape.length)), { minLength: 1, maxLength: 3 }),
          ),
        ),
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        fc.nat(),
        async ([shape, axis, parts], dtype, seed) => {
          const hs = parts.map(([len, layout], i) =>
            hostView(
              shape.map((d, k) => (k === axis ? len : d)),
              layout,
              dtype,
              seed + i,
            ),
          );
          expectClose(await onBoth(hs, (b, xs) => b.concat(xs, axis)));
        },
      ),
      RUNS,
    );
  });

  it('take gathers along any axis at wrapped-then-clamped int32 indices of any shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb(1, 3)
          .filter((s) => s.every((d) => d > 0))
          .chain((shape) =>
            fc
              .tuple(fc.constant(shape), layoutArb(shape.length), fc.nat(shape.length - 1), shapeArb(0, 2))
              .chain(([s, l, axis, ishape]) =>
                fc.tuple(
                  fc.constant(s),
                  fc.constant(l),
                  fc.constant(axis),
                  fc.constant(ishape),
                  layoutArb(ishape.length),
                ),
              ),
          ),
        fc.constantFrom<DType>('float32', 'int32', 'bool'),
        fc.nat(),
        async ([shape, layout, axis, ishape, ilayout], dtype, seed) => {
          const x = hostView(shape, layout, dtype, seed);
          const n = shape[axis];
          const idx = hostView(ishape, ilayout, 'int32', seed + 1);
          const indices = { ...idx, data: idx.data.map((v) => (v % (n + 3)) - (v < 0 ? 0 : 1)) };
          expectClose(await onBoth([x, indices], (b, [xv, iv]) => b.take(xv, iv, axis)));
        },
      ),
      RUNS,
    );
  });
});

// --- random -----------------------------------------------------------------------------------

describe('random', () => {
  it('bits and uniform are bit-identical to the CPU stream; normal agrees to float32 tolerance', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('bits', 'uniform', 'normal' as const),
        fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })),
        fc.oneof(fc.constant<number[]>([]), shapeArb(1, 3, 9), fc.constant([4097])),
        async (kind, key, shape) => {
          const r = await onBoth([], (b) => b.random(kind, key, shape));
          expectClose(
            r,
            kind === 'normal' ? { rtol: 1e-5, atol: 2e-5 } : {},
            `${kind} ${JSON.stringify(key)} ${JSON.stringify(shape)}`,
          );
          if (kind !== 'normal') expect(Array.from(r.gpu)).toEqual(Array.from(randomStream(kind, key, sizeOf(shape))));
        },
      ),
      RUNS,
    );
  });
});

// --- device behaviour -------------------------------------------------------------------------

describe('dispatch batching, pooling and errors', () => {
  it('a buffer released while queued work still reads it is not overwritten by a later upload', async () => {
    const x = gpu.upload(
      Float32Array.from({ length: 64 }, (_, i) => i),
      'float32',
    );
    const y = gpu.unary('neg', whole(x)); // recorded, not yet submitted
    gpu.release(x);
    const z = gpu.upload(new Float32Array(64).fill(1000), 'float32'); // same size class as x
    const got = await gpu.read(whole(y));
    expect(Array.from(got)).toEqual(Array.from({ length: 64 }, (_, i) => -i));
    expect(Array.from(await gpu.read(whole(z)))).toEqual(new Array(64).fill(1000));
    gpu.release(y);
    gpu.release(z);
  });

  it('a chain of 300 dependent ops spans several automatic submits and stays correct', async () => {
    gpu.ctx.fusion = false; // one dispatch per op, to exercise the batching
    const submitsBefore = gpu.ctx.dispatcher.submits;
    let acc = gpu.fill([100], 0, 'float32');
    const one = gpu.fill([100], 1, 'float32');
    for (let i = 0; i < 300; i++) {
      const next = gpu.binary('add', whole(acc), whole(one));
      gpu.release(acc);
      acc = next;
    }
    expect(Array.from(await gpu.read(whole(acc)))).toEqual(new Array(100).fill(300));
    expect(gpu.ctx.dispatcher.submits - submitsBefore).toBeGreaterThanOrEqual(3);
    gpu.release(acc);
    gpu.release(one);
    gpu.ctx.fusion = true;
  });

  it('after the host waited for the device, the first automatic submit comes early and each later one waits twice as long', async () => {
    gpu.ctx.fusion = false; // one dispatch per op
    let acc = gpu.fill([100], 0, 'float32');
    const one = gpu.fill([100], 1, 'float32');
    await gpu.read(whole(one)); // the host waited: the ramp starts over
    const dispatcher = gpu.ctx.dispatcher;
    const submitsAt: number[] = [];
    for (let i = 1; i <= 300; i++) {
      const before = dispatcher.submits;
      const next = gpu.binary('add', whole(acc), whole(one));
      if (dispatcher.submits > before) submitsAt.push(i);
      gpu.release(acc);
      acc = next;
    }
    // Batches of 8, 16, 32, 64, 128 (FIRST_SUBMIT_DISPATCHES doubling up to MAX_DISPATCHES_PER_SUBMIT).
    expect(submitsAt).toEqual([9, 25, 57, 121, 249]);
    expect([FIRST_SUBMIT_DISPATCHES, MAX_DISPATCHES_PER_SUBMIT]).toEqual([8, 128]);
    expect(Array.from(await gpu.read(whole(acc)))).toEqual(new Array(100).fill(300));
    gpu.release(acc);
    gpu.release(one);
    gpu.ctx.fusion = true;
  });

  it('1,000 alloc/compute/release cycles keep the pool bounded and, once warm, create no buffers', async () => {
    const cycle = async (): Promise<void> => {
      for (let i = 0; i < 1000; i++) {
        const s = gpu.upload(new Float32Array(1000).fill(i), 'float32');
        const t = gpu.unary('neg', whole(s));
        gpu.release(s);
        gpu.release(t);
      }
      const probe = gpu.fill([1], 0, 'float32');
      await gpu.read(whole(probe));
      gpu.release(probe);
    };
    const pooledBefore = gpu.memory().pooledBytes;
    await cycle();
    const created = gpu.ctx.pool.buffersCreated;
    const pooled = gpu.memory().pooledBytes;
    // Two buffers per dispatch wait for each submit, so the pool holds about one batch of them.
    expect(pooled - pooledBefore).toBeLessThanOrEqual((2 * MAX_DISPATCHES_PER_SUBMIT + 8) * sizeClass(4000));
    await cycle();
    expect(gpu.ctx.pool.buffersCreated).toBe(created);
    expect(gpu.memory().pooledBytes).toBe(pooled);
  });

  it('a kernel that fails to compile surfaces at the next readback as a BackendError naming it, with numbered source', async () => {
    const source =
      'struct Params { n: u32 }\n@group(0) @binding(0) var<uniform> p: ' +
      'Params;\n@compute @workgroup_size(1)\nfn main() { let x: u32 = p.n + undefined_thing; }\n';
    gpu.ctx.dispatch({
      kernel: 'deliberately-broken',
      source,
      uniform: new ArrayBuffer(16),
      storage: [],
      workgroups: 1,
    });
    const s = gpu.fill([2], 5, 'float32');
    const error = await gpu.read(whole(s)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendError);
    const message = (error as Error).message;
    expect(message).toMatch(/kernel 'deliberately-broken' failed to compile/);
    expect(message).toMatch(/undefined_thing/);
    expect(message).toMatch(/line 4:/);
    expect(message).toContain('4 | fn main() { let x: u32 = p.n + undefined_thing; }');
    // The batch holding the broken dispatch was dropped; the error is reported once and later work runs normally.
    gpu.release(s);
    const t = gpu.fill([2], 5, 'float32');
    expect(Array.from(await gpu.read(whole(t)))).toEqual([5, 5]);
    gpu.release(t);
  });

  it('the pool parks buffers released before a submit, reuses by size class, and trims to its cap', () => {
    let live = 0;
    const fakeDevice = {
      createBuffer: ({ size }: { size: number }) => {
        live++;
        return { size, destroy: () => void live-- } as unknown as GPUBuffer;
      },
    } as unknown as GPUDevice;
    const pool = new BufferPool(fakeDevice, { usage: 0, capBytes: 4096, maxBufferSize: 1 << 30 });
    const a = pool.acquire(1000);
    expect(a.size).toBe(1024);
    pool.release(a, true);
    expect(pool.acquire(1000)).not.toBe(a); // parked until the submit
    pool.afterSubmit();
    const c = pool.acquire(900);
    expect(c).toBe(a); // same size class, reused
    for (let i = 0; i < 10; i++) pool.release(pool.acquire(1024), false);
    expect(pool.pooledBytes).toBeLessThanOrEqual(4096);
    for (const b of Array.from({ length: 8 }, () => pool.acquire(1024))) pool.release(b, false);
    expect(pool.pooledBytes).toBeLessThanOrEqual(4096);
    expect(sizeClass(0)).toBe(256);
    expect(sizeClass(3 << 20)).toBe(3 << 20);
    expect(sizeClass((4 << 20) + 1)).toBe(5 << 20);
    expect(live).toBeLessThanOrEqual(4 + 3); // cap / 1024 pooled, plus the two acquired above and one spare
  });

  it('folds workgroup counts into a grid within the per-dimension limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65_535 * 65_535 }), (count) => {
        const [x, y] = foldGrid(count, 65_535);
        expect(x).toBeLessThanOrEqual(65_535);
        expect(y).toBeLessThanOrEqual(65_535);
        expect(x * y).toBeGreaterThanOrEqual(count);
        expect(x * (y - 1)).toBeLessThan(count);
      }),
    );
  });
});
