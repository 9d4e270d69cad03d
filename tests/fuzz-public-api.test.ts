// Issue 17: property-based fuzzing of the public API with hostile input. Every case must end in
// one of two ways: a synchronous error of one of the engine's named classes whose message names the
// op, or a result of the right shape (and, for the ops with an exact host reference, the right
// values). Afterwards no tensor is left behind (memory() unchanged) and the engine still computes.
// Random shapes (empty, huge), dtypes, axes of every kind, NaN/Inf, disposed inputs, operands on
// two backends, huge sizes, and hostile safetensors headers and files.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { broadcastShapes, shapeArb, sizeOf } from './support/arbitraries.js';
import { useBackends } from './support/backends.js';

useBackends();

/** The error classes a caller can catch by name; anything else (TypeError, RangeError, a crash) fails the case. */
const NAMED_ERRORS = [
  T.ShapeError,
  T.DTypeError,
  T.DisposedTensorError,
  T.BackendError,
  T.ArgumentError,
  T.SafetensorsError,
] as const;

/** What the fuzzing saw, for the README's figures (printed at the end). */
const tally = { cases: 0, results: 0, errors: new Map<string, number>() };
afterAll(() => {
  const errors = [...tally.errors].map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`fuzz-public-api: ${tally.cases} cases, ${tally.results} results, errors by class: ${errors}`);
});

/** Asserts `e` is a named engine error whose message starts with an op name and names `op`'s argument problem. */
function expectNamedError(e: unknown, op: string): void {
  const named = NAMED_ERRORS.find((C) => e instanceof C);
  expect(
    named,
    `${op}: threw ${String(e)} (${(e as Error)?.constructor?.name}), not a named engine error`,
  ).toBeDefined();
  const message = (e as Error).message;
  expect(message, `${op}: the message does not start with the op`).toMatch(/^[\w.]+( pullback)?(\([^)]*\))?:/);
  expect(
    message.includes(op) || message.includes('disposed') || message.includes('backend'),
    `${op}: '${message}' does not name the op`,
  ).toBe(true);
  tally.errors.set(named!.name, (tally.errors.get(named!.name) ?? 0) + 1);
}

// --- hostile arguments --------------------------------------------------------------------------

type Axis = number | string | number[] | undefined;
/** Axes of every kind: valid, negative, out of range, fractional, NaN, strings, duplicated lists. */
const axisArb: fc.Arbitrary<Axis> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -5, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 1.5, Number.NaN, '1', '-1', 2 ** 40) },
  { weight: 2, arbitrary: fc.array(fc.integer({ min: -4, max: 4 }), { maxLength: 3 }) },
);
/** Values that break naive kernels. */
const valueArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: -8, max: 8 }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, 0.5, -0, 3e38, 1e-40) },
);
type Backend = 'cpu' | 'webgpu';
const dtypeArb = fc.constantFrom<T.DType>('float32', 'float32', 'int32', 'bool', 'float64');

interface Operand {
  readonly shape: number[];
  readonly dtype: T.DType;
  readonly backend: Backend;
  readonly values: number[];
}
const operandArb = (shape?: fc.Arbitrary<number[]>): fc.Arbitrary<Operand> =>
  fc
    .record({
      shape: shape ?? shapeArb({ maxRank: 4 }),
      dtype: dtypeArb,
      backend: fc.constantFrom<Backend>('cpu', 'webgpu'),
      seed: fc.array(valueArb, { minLength: 1, maxLength: 4 }),
    })
    .map(({ shape, dtype, backend, seed }) => ({
      shape,
      dtype,
      backend,
      values: Array.from({ length: sizeOf(shape) }, (_, i) => seed[i % seed.length]),
    }));

/** Values as the dtype stores them (what a correct result is computed from). */
const stored = (o: Operand): number[] =>
  o.values.map((v) =>
    o.dtype === 'bool'
      ? v
        ? 1
        : 0
      : o.dtype === 'int32'
        ? Number.isFinite(v)
          ? Math.trunc(v) | 0
          : 0
        : o.dtype === 'float32'
          ? Math.fround(v)
          : v,
  );

const expectedReduceShape = (shape: readonly number[], axis: Axis): number[] | undefined => {
  if (axis === undefined) return [];
  const list = typeof axis === 'number' ? [axis] : Array.isArray(axis) ? axis : undefined;
  if (list === undefined || !list.every((a) => Number.isInteger(a) && a >= -shape.length && a < shape.length))
    return undefined;
  const axes = list.map((a) => (a < 0 ? a + shape.length : a));
  return new Set(axes).size === axes.length ? shape.filter((_, i) => !axes.includes(i)) : undefined;
};

/** The ops under test as a rule table: how to call each on the operands, and the result it must have. */
interface OpRule {
  readonly arity: 1 | 2;
  readonly run: (xs: T.Tensor[], axis: Axis, target: number[]) => T.Tensor;
  /** The result's shape when the call is valid (checked when the call returns). */
  readonly shape?: (shapes: number[][], axis: Axis, target: number[]) => number[] | undefined;
  /** Exact host reference for the values (float64 operands only, to avoid rounding questions). */
  readonly reference?: (values: number[][], shapes: number[][]) => number[];
}
const OPS: Record<string, OpRule> = {
  neg: { arity: 1, run: ([x]) => T.neg(x), shape: ([s]) => s, reference: ([v]) => v.map((a) => -a) },
  exp: { arity: 1, run: ([x]) => T.exp(x), shape: ([s]) => s },
  sqrt: { arity: 1, run: ([x]) => T.sqrt(x), shape: ([s]) => s },
  relu: { arity: 1, run: ([x]) => T.relu(x), shape: ([s]) => s },
  logicalNot: { arity: 1, run: ([x]) => T.logicalNot(x), shape: ([s]) => s },
  add: { arity: 2, run: ([a, b]) => T.add(a, b), shape: ([a, b]) => broadcastShapes(a, b) },
  mul: { arity: 2, run: ([a, b]) => T.mul(a, b), shape: ([a, b]) => broadcastShapes(a, b) },
  div: { arity: 2, run: ([a, b]) => T.div(a, b), shape: ([a, b]) => broadcastShapes(a, b) },
  less: { arity: 2, run: ([a, b]) => T.less(a, b), shape: ([a, b]) => broadcastShapes(a, b) },
  maximum: { arity: 2, run: ([a, b]) => T.maximum(a, b), shape: ([a, b]) => broadcastShapes(a, b) },
  matmul: { arity: 2, run: ([a, b]) => T.matmul(a, b) },
  sum: {
    arity: 1,
    run: ([x], axis) => T.sum(x, { axis: axis as number }),
    shape: ([s], axis) => expectedReduceShape(s, axis),
    reference: ([v], [s]) => (s.length >= 0 ? [v.reduce((a, b) => a + b, 0)] : []),
  },
  max: {
    arity: 1,
    run: ([x], axis) => T.max(x, { axis: axis as number }),
    shape: ([s], axis) => expectedReduceShape(s, axis),
  },
  mean: {
    arity: 1,
    run: ([x], axis) => T.mean(x, { axis: axis as number }),
    shape: ([s], axis) => expectedReduceShape(s, axis),
  },
  argmax: { arity: 1, run: ([x], axis) => T.argmax(x, { axis: axis as number }) },
  softmax: { arity: 1, run: ([x], axis) => T.softmax(x, { axis: axis as number }), shape: ([s]) => s },
  reshape: {
    arity: 1,
    run: ([x], _a, target) => T.reshape(x, target),
    shape: ([s], _a, target) => (sizeOf(s) === sizeOf(target) ? target : undefined),
  },
  broadcastTo: { arity: 1, run: ([x], _a, target) => T.broadcastTo(x, target), shape: (_s, _a, target) => target },
  transpose: { arity: 1, run: ([x], axis) => T.transpose(x, Array.isArray(axis) ? axis : undefined) },
  expandDims: { arity: 1, run: ([x], axis) => T.expandDims(x, axis as number) },
  squeeze: { arity: 1, run: ([x], axis) => T.squeeze(x, axis as number) },
  take: { arity: 1, run: ([x], axis) => T.take(x, Array.isArray(axis) ? axis : [axis as number]) },
  concat: { arity: 2, run: ([a, b], axis) => T.concat([a, b], { axis: axis as number }) },
  cast: { arity: 1, run: ([x]) => T.cast(x, 'int32'), shape: ([s]) => s },
};

/** A case: an op, its operands, an axis and a target shape, and whether operand 0 is disposed first. */
const caseArb = fc.record({
  op: fc.constantFrom(...Object.keys(OPS)),
  a: operandArb(),
  b: operandArb(),
  sameShape: fc.boolean(),
  axis: axisArb,
  target: fc
    .oneof(shapeArb({ maxRank: 4 }), fc.constantFrom([-1], [2 ** 31], [1.5], [2 ** 20, 2 ** 20]))
    .map((t) => [...t]),
  disposeFirst: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
  mixedBackends: fc.boolean(),
});

const make = (o: Operand, backend: Backend): T.Tensor =>
  T.tensor(Float64Array.from(o.values), { shape: o.shape, dtype: o.dtype, backend });

describe('random calls of the public API', () => {
  it('end in a named error or a correct result, and leave memory unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        tally.cases++;
        const rule = OPS[c.op];
        const before = T.memory();
        const b: Operand = c.sameShape ? { ...c.b, shape: c.a.shape, values: c.a.values } : c.b;
        const backendB = c.mixedBackends ? (c.a.backend === 'cpu' ? 'webgpu' : 'cpu') : c.a.backend;
        const operands = rule.arity === 1 ? [c.a] : [c.a, { ...b, backend: backendB }];
        const xs: T.Tensor[] = [];
        let out: T.Tensor | undefined;
        let step = 'tensor'; // making the operands is part of the case: int32 NaN, float64 on WebGPU...
        try {
          for (const o of operands) xs.push(make(o, o.backend));
          if (c.disposeFirst) xs[0].dispose();
          step = c.op;
          out = rule.run(xs, c.axis, c.target);
        } catch (e) {
          expectNamedError(e, step);
        }
        try {
          if (out !== undefined) {
            tally.results++;
            expect(c.disposeFirst, `${c.op} accepted a disposed tensor`).toBe(false);
            const want = rule.shape?.(
              operands.map((o) => o.shape),
              c.axis,
              c.target,
            );
            if (want !== undefined) expect(out.shape, `${c.op} shape`).toEqual(want);
            // A view (broadcastTo) may be far larger than its storage: its readback is refused by size.
            const data = await out.data().catch((e: unknown) => {
              expectNamedError(e, 'data');
              return undefined;
            });
            if (data !== undefined) expect(data.length).toBe(out.size);
            const exact = operands.every((o) => o.dtype === 'float64');
            if (data !== undefined && rule.reference && exact && (c.op !== 'sum' || c.axis === undefined)) {
              const ref = rule.reference(
                operands.map(stored),
                operands.map((o) => o.shape),
              );
              expect(Array.from(data), `${c.op} values`).toEqual(ref);
            }
          }
        } finally {
          T.dispose([xs, out]);
        }
        expect(T.memory(), `${c.op} left tensors behind`).toEqual(before);
      }),
      { numRuns: 1500, seed: 17 },
    );
    // The engine still computes on both backends.
    for (const backend of ['cpu', 'webgpu'] as const) {
      const x = T.ones([3], { backend });
      const s = T.sum(x);
      expect(await s.array()).toBe(3);
      T.dispose([x, s]);
    }
  });
});

describe('creation with sizes from the user', () => {
  it('huge or invalid sizes are refused before allocating; small ones are made', async () => {
    const sizeArb = fc.oneof(
      fc.integer({ min: 0, max: 64 }),
      fc.constantFrom(2e9, 1e10, 2 ** 31, 2 ** 53, -1, 1.5, Number.NaN, Infinity),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('zeros', 'arange', 'linspace', 'full'),
        sizeArb,
        fc.constantFrom<Backend>('cpu', 'webgpu'),
        async (op, n, backend) => {
          tally.cases++;
          const before = T.memory();
          const make: Record<string, () => T.Tensor> = {
            zeros: () => T.zeros([n], { backend }),
            arange: () => T.arange(n, undefined, 1, { backend }),
            linspace: () => T.linspace(0, 1, n, { backend }),
            full: () => T.full([n, 2], 7, { backend }),
          };
          let out: T.Tensor | undefined;
          try {
            out = make[op]();
          } catch (e) {
            expectNamedError(e, op === 'zeros' ? 'full' : op);
          }
          if (out) {
            tally.results++;
            expect(n).toBeLessThanOrEqual(64);
            expect((await out.data()).length).toBe(out.size);
            out.dispose();
          }
          expect(T.memory()).toEqual(before);
        },
      ),
      { numRuns: 120, seed: 17 },
    );
  });
});

// --- hostile safetensors -----------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'fuzz-safetensors-'));
let fileCount = 0;
const DTYPE_BYTES: Record<string, number> = { F32: 4, I32: 4, BOOL: 1, F64: 8, F16: 2, X: 1 };
const nameArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('w', 'a', 'a.b', 'a.0', 'a.1', 'blocks.0.conv.weight', 'x.y.z') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '__proto__.polluted',
      'constructor.prototype.polluted',
      'prototype',
      'a..b',
      '.a',
      'a.',
      '',
      'toString',
      'hasOwnProperty.x',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);
const entryArb = fc.record({
  name: nameArb,
  dtype: fc.constantFrom('F32', 'I32', 'BOOL', 'F64', 'F16', 'X'),
  shape: fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(-1, 1.5)), { maxLength: 3 }),
});
/** How the byte ranges are laid out: tiled as the format requires, or broken one of several ways. */
const layoutArb = fc.constantFrom('tiled', 'tiled', 'tiled', 'overlap', 'gap', 'reversed', 'past-end', 'trailing');

function hostileFile(
  entries: { name: string; dtype: string; shape: number[] }[],
  layout: string,
  corrupt: string,
): string {
  const header: Record<string, unknown> = {};
  let offset = 0;
  entries.forEach((e, i) => {
    const bytes = Math.max(0, Math.round(e.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[e.dtype]));
    let range = [offset, offset + bytes];
    if (i === entries.length - 1 && layout === 'overlap' && offset > 0) range = [offset - 1, offset - 1 + bytes];
    if (i === entries.length - 1 && layout === 'gap') range = [offset + 4, offset + 4 + bytes];
    if (i === entries.length - 1 && layout === 'reversed') range = [offset + bytes + 1, offset];
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: range };
    offset += bytes;
  });
  const dataBytes = layout === 'past-end' ? Math.max(0, offset - 1) : layout === 'trailing' ? offset + 3 : offset;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)) + (corrupt === 'length' ? 5n : 0n));
  let file = Buffer.concat([len, Buffer.from(json), Buffer.alloc(dataBytes, 1)]);
  if (corrupt === 'truncate') file = file.subarray(0, Math.max(0, file.length - 9));
  if (corrupt === 'not-json') file.fill(0x7b, 8, 12);
  const path = join(dir, `f${fileCount++}.safetensors`);
  writeFileSync(path, file);
  return path;
}

describe('hostile safetensors files', () => {
  it('load to the tree they describe or are refused with a SafetensorsError naming the file; nothing is polluted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(entryArb, { minLength: 0, maxLength: 4 }),
        layoutArb,
        fc.constantFrom('none', 'none', 'length', 'truncate', 'not-json'),
        async (entries, layout, corrupt) => {
          tally.cases++;
          const before = T.memory();
          const path = hostileFile(entries, layout, corrupt);
          let loaded: Awaited<ReturnType<typeof T.loadSafetensors>> | undefined;
          try {
            loaded = await T.loadSafetensors(path, { backend: 'cpu' });
          } catch (e) {
            expect(e, String(e)).toBeInstanceOf(T.SafetensorsError);
            expect((e as Error).message).toContain(`loadSafetensors(${path})`);
            tally.errors.set('SafetensorsError', (tally.errors.get('SafetensorsError') ?? 0) + 1);
          }
          if (loaded) {
            tally.results++;
            const unique = new Set(entries.map((e) => e.name));
            expect(T.treeLeaves(loaded.tree)).toHaveLength(unique.size);
            T.dispose(loaded.tree);
          }
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'x')).toBe(false);
          expect(T.memory()).toEqual(before);
        },
      ),
      { numRuns: 300, seed: 17 },
    );
  });

  it('random bytes are refused with a SafetensorsError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        tally.cases++;
        const path = join(dir, `bytes${fileCount++}.safetensors`);
        writeFileSync(path, bytes);
        const result = await T.loadSafetensors(path, { backend: 'cpu' }).then(
          (r) => r,
          (e: unknown) => e,
        );
        if (result instanceof Error) {
          expect(result).toBeInstanceOf(T.SafetensorsError);
          tally.errors.set('SafetensorsError', (tally.errors.get('SafetensorsError') ?? 0) + 1);
        } else {
          tally.results++; // 8 bytes of length 0..: an empty header is a valid empty file only if it parses
          T.dispose((result as { tree: unknown }).tree);
        }
      }),
      { numRuns: 100, seed: 17 },
    );
  });
});
