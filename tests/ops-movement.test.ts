// Acceptance: movement ops (views and copies) give bit-identical results on WebGPU and the CPU
// reference, alone and composed with elementwise ops that must read the strided views in place.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { DType } from '../src/index.js';
import { expectEqual, runOnBoth, useBackends, type HostTensor } from './support/backends.js';
import {
  axisArb,
  broadcastableTo,
  dimArb,
  nonEmptyShapeArb,
  permutationArb,
  runs,
  shapeArb,
  sizeOf,
  type Shape,
} from './support/arbitraries.js';

useBackends();

/** Distinct, exactly representable values 0.5 * i - n / 4 (so any misplaced element shows). */
const distinct = (shape: readonly number[], dtype: DType = 'float32'): HostTensor & { values: number[] } => {
  const n = sizeOf(shape);
  const values = Array.from({ length: n }, (_, i) =>
    dtype === 'float32' ? 0.5 * i - n / 4 : dtype === 'int32' ? i - (n >> 1) : i % 3 === 0 ? 1 : 0,
  );
  return { values, shape: [...shape], dtype };
};

const dtypeArb = fc.constantFrom<DType>('float32', 'float32', 'int32', 'bool');

/** A shape and a dtype, with distinct-valued host data. */
const distinctArb = (shape: fc.Arbitrary<Shape>) => fc.tuple(shape, dtypeArb).map(([s, d]) => distinct(s, d));

/** A target shape with the same element count: the dims shuffled, some adjacent pairs merged, 1s inserted. */
const reshapeTargetArb = (shape: Shape): fc.Arbitrary<Shape> =>
  fc
    .tuple(
      permutationArb(shape.length),
      fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }),
      fc.array(fc.nat(shape.length + 1), { maxLength: 2 }),
    )
    .map(([perm, merge, ones]) => {
      const dims = perm.map((p) => shape[p]);
      const out: number[] = [];
      dims.forEach((d, i) => {
        if (merge[i] && out.length > 0) out[out.length - 1] *= d;
        else out.push(d);
      });
      for (const at of ones) out.splice(Math.min(at, out.length), 0, 1);
      return out;
    });

/** Optionally replaces one dim of a target by -1 (never when the rest multiply to 0). */
const withInferredDim = (target: Shape): fc.Arbitrary<number[]> =>
  target.length === 0
    ? fc.constant([])
    : fc.option(fc.nat(target.length - 1), { nil: undefined }).map((at) => {
        if (at === undefined || sizeOf(target.filter((_, i) => i !== at)) === 0) return [...target];
        return target.map((d, i) => (i === at ? -1 : d));
      });

/** NumPy-style slice arguments for a shape: starts/ends anywhere in [-d - 2, d + 2] (or omitted), steps 1..3. */
const sliceArgsArb = (shape: Shape) =>
  fc.record({
    starts: fc.tuple(...shape.map((d) => fc.integer({ min: -d - 2, max: d + 2 }))),
    ends: fc.tuple(...shape.map((d) => fc.option(fc.integer({ min: -d - 2, max: d + 2 }), { nil: undefined }))),
    steps: fc.tuple(...shape.map(() => fc.integer({ min: 1, max: 3 }))),
  });

/** Python's len(range(*slice(start, end, step).indices(d))) for a positive step. */
function sliceLength(d: number, start: number, end: number | undefined, step: number): number {
  const clamp = (i: number): number => Math.min(d, Math.max(0, i < 0 ? i + d : i));
  const s = clamp(start);
  const e = end === undefined ? d : clamp(end);
  return Math.max(0, Math.ceil((e - s) / step));
}

describe('views: reshape, transpose, broadcastTo, expandDims, squeeze, slice', () => {
  it('reshape to any shape with the same size (one dim possibly -1) matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb()).chain((x) =>
          fc.tuple(fc.constant(x), reshapeTargetArb([...x.shape]).chain(withInferredDim)),
        ),
        async ([x, target]) => {
          const r = await runOnBoth([x], (t) => T.reshape(t, target));
          expect(sizeOf(r.shape)).toBe(sizeOf(x.shape));
          target.forEach((d, i) => d >= 0 && expect(r.shape[i]).toBe(d));
          expectEqual(r);
          // A contiguous reshape never reorders: the row-major elements are the input's.
          expect(Array.from(r.gpu)).toEqual(Array.from(x.values));
        },
      ),
      runs(30),
    );
  });

  it('reshape of a non-contiguous (transposed, sliced) view copies in the right order', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb({ minRank: 2 })).chain((x) => fc.tuple(fc.constant(x), permutationArb(x.shape.length))),
        async ([x, perm]) => {
          const r = await runOnBoth([x], (t) => {
            const view = T.slice(T.transpose(t, perm), [1], [undefined], [2]);
            const last = view.shape[view.rank - 1];
            return last > 0 ? T.reshape(view, [-1, last]) : T.reshape(view, [-1]);
          });
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('reshape of a transposed matrix gives the transposed order (hand case)', async () => {
    const r = await runOnBoth([{ values: [1, 2, 3, 4, 5, 6], shape: [2, 3] }], (t) =>
      T.reshape(T.transpose(t), [2, 3]),
    );
    expect(Array.from(r.gpu)).toEqual([1, 4, 2, 5, 3, 6]);
    expectEqual(r);
  });

  it('reshape of a strided (transposed, stepped, broadcast) view equals reshaping a contiguous copy of it', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb({ minRank: 1, maxRank: 3 }).chain((s) =>
          fc.tuple(
            fc.constant(distinct(s)),
            permutationArb(s.length),
            fc.integer({ min: 1, max: 2 }),
            fc.nat(s.length),
            fc.constantFrom(1, 2, 3),
          ),
        ),
        async ([x, perm, step, at, copies]) => {
          const viewOf = (t: T.Tensor): T.Tensor => {
            const moved = T.slice(T.transpose(t, perm), [0], [undefined], [step]);
            const widened = T.expandDims(moved, at);
            return T.broadcastTo(
              widened,
              widened.shape.map((d, i) => (i === at ? copies : d)),
            );
          };
          const viewShape = (() => {
            const moved = perm.map((p) => x.shape[p]);
            moved[0] = Math.ceil(moved[0] / step);
            moved.splice(at, 0, copies);
            return moved;
          })();
          await fc.assert(
            fc.asyncProperty(reshapeTargetArb(viewShape), async (target) => {
              const inPlace = await runOnBoth([x], (t) => T.reshape(viewOf(t), target));
              const copied = await runOnBoth([x], (t) => T.reshape(T.mul(viewOf(t), 1), target));
              expectEqual(inPlace);
              expect(Array.from(inPlace.gpu)).toEqual(Array.from(copied.gpu));
              expect(Array.from(inPlace.cpu)).toEqual(Array.from(copied.cpu));
            }),
            { numRuns: 3 },
          );
        },
      ),
      runs(15),
    );
  });

  it('reshapes that only regroup aligned dims of a strided view share its storage (no copy)', async () => {
    const x = T.reshape(T.arange(24, undefined, 1, { dtype: 'float32' }), [2, 3, 4]);
    const bytes = T.memory().webgpu.bytes;
    // Squeezing an inserted 1, merging the two leading dims of a transpose, splitting a broadcast dim.
    const views = [
      T.reshape(T.expandDims(T.transpose(x, [2, 0, 1]), 1), [4, 2, 3]),
      T.reshape(T.transpose(x, [1, 2, 0]), [12, 2]),
      T.reshape(T.broadcastTo(T.reshape(x, [2, 1, 12]), [2, 6, 12]), [2, 2, 3, 12]),
    ];
    expect(T.memory().webgpu.bytes).toBe(bytes);
    expect(Array.from(await views[1].data())).toEqual([
      0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19, 8, 20, 9, 21, 10, 22, 11, 23,
    ]);
    // Merging a transposed pair cannot be a view: it copies, in the transposed order.
    const copy = T.reshape(T.transpose(x, [0, 2, 1]), [2, 12]);
    expect(T.memory().webgpu.bytes).toBeGreaterThan(bytes);
    expect(Array.from(await copy.data()).slice(0, 6)).toEqual([0, 4, 8, 1, 5, 9]);
    [x, copy, ...views].forEach((t) => t.dispose());
  });

  it('transpose with a random permutation (negative axes allowed) matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb()).chain((x) =>
          fc.tuple(
            fc.constant(x),
            permutationArb(x.shape.length),
            fc.array(fc.boolean(), { minLength: x.shape.length, maxLength: x.shape.length }),
            fc.boolean(),
          ),
        ),
        async ([x, perm, negative, useDefault]) => {
          const p = perm.map((a, i) => (negative[i] ? a - perm.length : a));
          const r = await runOnBoth([x], (t) => (useDefault ? T.transpose(t) : T.transpose(t, p)));
          expect(r.shape).toEqual(useDefault ? [...x.shape].reverse() : perm.map((a) => x.shape[a]));
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('broadcastTo any compatible shape matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb().chain((out) => fc.tuple(fc.constant(out), broadcastableTo(out), dtypeArb)),
        async ([out, from, dtype]) => {
          const r = await runOnBoth([distinct(from, dtype)], (t) => T.broadcastTo(t, out));
          expect(r.shape).toEqual(out);
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('expandDims at any axis and squeeze (all or listed size-1 axes) match the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb({ maxRank: 3 })).chain((x) =>
          fc.tuple(fc.constant(x), axisArb(x.shape.length + 1), fc.boolean()),
        ),
        async ([x, axis, squeezeAll]) => {
          const e = await runOnBoth([x], (t) => T.expandDims(t, axis));
          const a = axis < 0 ? axis + x.shape.length + 1 : axis;
          expect(e.shape).toEqual([...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
          expectEqual(e);
          const s = await runOnBoth([x], (t) => {
            const expanded = T.expandDims(t, axis);
            return squeezeAll ? T.squeeze(expanded) : T.squeeze(expanded, axis);
          });
          expect(s.shape).toEqual(squeezeAll ? x.shape.filter((d) => d !== 1) : x.shape);
          expectEqual(s);
        },
      ),
      runs(25),
    );
  });

  it('slice with negative and out-of-range indices and steps matches the CPU and NumPy lengths', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb({ minRank: 1 })).chain((x) => fc.tuple(fc.constant(x), sliceArgsArb([...x.shape]))),
        async ([x, { starts, ends, steps }]) => {
          const r = await runOnBoth([x], (t) => T.slice(t, starts, ends, steps));
          expect(r.shape).toEqual(x.shape.map((d, i) => sliceLength(d, starts[i], ends[i], steps[i])));
          expectEqual(r);
        },
      ),
      runs(40),
    );
  });

  it('slice agrees with hand-computed NumPy results', async () => {
    const x = { values: Array.from({ length: 10 }, (_, i) => i), shape: [10] };
    const tail = await runOnBoth([x], (t) => T.slice(t, [-3]));
    expect(Array.from(tail.gpu)).toEqual([7, 8, 9]);
    const stepped = await runOnBoth([x], (t) => T.slice(t, [1], [-1], [3]));
    expect(Array.from(stepped.gpu)).toEqual([1, 4, 7]);
    expectEqual(stepped);
    const clamped = await runOnBoth([x], (t) => T.slice(t, [-100], [100], [4]));
    expect(Array.from(clamped.gpu)).toEqual([0, 4, 8]);
    const empty = await runOnBoth([x], (t) => T.slice(t, [5], [2]));
    expect(empty.shape).toEqual([0]);
    const m = { values: Array.from({ length: 12 }, (_, i) => i), shape: [3, 4] };
    const sub = await runOnBoth([m], (t) => T.slice(t, [-2, 1], [undefined, -1]));
    expect(sub.shape).toEqual([2, 2]);
    expect(Array.from(sub.gpu)).toEqual([5, 6, 9, 10]);
  });
});

describe('copies: concat, stack, pad', () => {
  it('concat of 1-3 tensors along any axis (mixed dtypes promoted) matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb({ minRank: 1 }).chain((base) =>
          fc.tuple(
            fc.constant(base),
            axisArb(base.length),
            fc.array(fc.tuple(dimArb(), dtypeArb), { minLength: 1, maxLength: 3 }),
          ),
        ),
        async ([base, axis, parts]) => {
          const a = axis < 0 ? axis + base.length : axis;
          const inputs = parts.map(([d, dtype], k) => {
            const h = distinct(
              base.map((b, i) => (i === a ? d : b)),
              dtype,
            );
            return { ...h, values: h.values.map((v) => (dtype === 'float32' ? v + 100 * k : v)) };
          });
          const r = await runOnBoth(inputs, (...ts) => T.concat(ts, { axis }));
          expect(r.shape).toEqual(base.map((b, i) => (i === a ? parts.reduce((n, [d]) => n + d, 0) : b)));
          const dtypes = parts.map(([, d]) => d);
          expect(r.dtype).toBe(dtypes.includes('float32') ? 'float32' : dtypes.includes('int32') ? 'int32' : 'bool');
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('stack of equal shapes along any new axis matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb({ maxRank: 3 }).chain((s) =>
          fc.tuple(fc.constant(s), axisArb(s.length + 1), fc.integer({ min: 1, max: 3 })),
        ),
        async ([shape, axis, count]) => {
          const inputs = Array.from({ length: count }, (_, k) => {
            const h = distinct(shape);
            return { ...h, values: h.values.map((v) => v + 1000 * k) };
          });
          const r = await runOnBoth(inputs, (...ts) => T.stack(ts, { axis }));
          const a = axis < 0 ? axis + shape.length + 1 : axis;
          expect(r.shape).toEqual([...shape.slice(0, a), count, ...shape.slice(a)]);
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('pad with random widths and fill value, of contiguous and strided views (permuted, stepped), rank 1-5, any dtype, matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb({ minRank: 1, maxRank: 5 })).chain((x) =>
          fc.tuple(
            fc.constant(x),
            permutationArb(x.shape.length),
            fc.boolean(),
            fc.array(fc.tuple(fc.nat(3), fc.nat(3)), { minLength: 0, maxLength: x.shape.length }),
            fc.constantFrom(0, 1, -2.5),
          ),
        ),
        async ([x, perm, stepped, widths, value]) => {
          const view = (t: T.Tensor) => {
            const p = T.transpose(t, perm);
            // Every second entry of the first axis: a view with a stride of 2 there.
            return stepped && p.shape[0] > 1 ? T.slice(p, [0], [p.shape[0]], [2]) : p;
          };
          const r = await runOnBoth([x], (t) => T.pad(view(t), widths, { value }));
          const permuted = perm.map((i) => x.shape[i]);
          const viewed = stepped && permuted[0] > 1 ? [Math.ceil(permuted[0] / 2), ...permuted.slice(1)] : permuted;
          expect(r.shape).toEqual(viewed.map((d, i) => d + (widths[i]?.[0] ?? 0) + (widths[i]?.[1] ?? 0)));
          expectEqual(r);
        },
      ),
      runs(40),
    );
  });

  it('concat of the pieces of a tensor split along any axis, in order, is a view of it; out of order it copies', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(shapeArb({ minRank: 1 })).chain((x) =>
          fc.tuple(
            fc.constant(x),
            axisArb(x.shape.length),
            fc.array(fc.nat(7), { minLength: 1, maxLength: 3 }),
            fc.boolean(),
          ),
        ),
        async ([x, signedAxis, cuts, reversed]) => {
          const axis = (signedAxis + x.shape.length) % x.shape.length;
          const d = x.shape[axis];
          const bounds = [0, ...cuts.map((c) => Math.min(c, d)).sort((a, b) => a - b), d];
          const piecesOf = (t: T.Tensor) =>
            bounds.slice(1).map((end, i) =>
              T.slice(
                t,
                x.shape.map((_, k) => (k === axis ? bounds[i] : 0)),
                x.shape.map((n, k) => (k === axis ? end : n)),
              ),
            );
          const r = await runOnBoth([x], (t) => {
            const pieces = piecesOf(t);
            return T.concat(reversed ? pieces.reverse() : pieces, { axis });
          });
          expectEqual(r);
          if (!reversed) expect(Array.from(r.gpu)).toEqual(Array.from(x.values));
          for (const backend of ['cpu', 'webgpu'] as const) {
            const t = T.tensor(x.values, { shape: x.shape, dtype: x.dtype, backend });
            const pieces = piecesOf(t);
            const bytes = T.memory()[backend].bytes;
            const joined = T.concat(pieces, { axis });
            expect(T.memory()[backend].bytes).toBe(bytes);
            T.disposeTree([t, pieces, joined]);
          }
        },
      ),
      runs(20),
    );
  });

  it('1-D concat of contiguous, strided, pending (fused or matmul) and empty inputs matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.constantFrom('plain', 'offset', 'strided', 'fused', 'matmul', 'empty'),
            fc.integer({ min: 1, max: 9 }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (parts) => {
          const inputs = parts.map(([, n], i) => distinct([n + 2, 3]).values.map((v) => v + i));
          const r = await runOnBoth(
            inputs.map((values, i) => ({ values, shape: [parts[i][1] + 2, 3] })),
            (...ts) =>
              T.concat(
                ts.map((t, i) => {
                  const n = parts[i][1];
                  switch (parts[i][0]) {
                    case 'plain':
                      return T.reshape(t, [-1]);
                    case 'offset':
                      return T.reshape(T.slice(t, [1], [n + 1]), [-1]);
                    case 'strided':
                      return T.reshape(T.transpose(t), [-1]);
                    case 'fused':
                      return T.reshape(T.add(T.mul(t, 2), 1), [-1]);
                    case 'matmul':
                      return T.reshape(T.matmul(t, T.ones([3, 2], { backend: t.backend })), [-1]);
                    default:
                      return T.reshape(T.slice(t, [0], [0]), [-1]);
                  }
                }),
              ),
          );
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('concat, stack and pad agree with hand-computed results', async () => {
    const a = { values: [1, 2, 3, 4], shape: [2, 2] };
    const b = { values: [5, 6], shape: [2, 1] };
    const c = await runOnBoth([a, b], (x, y) => T.concat([x, y], { axis: -1 }));
    expect(Array.from(c.gpu)).toEqual([1, 2, 5, 3, 4, 6]);
    expectEqual(c);
    const s = await runOnBoth([a, a], (x, y) => T.stack([x, T.neg(y)], { axis: 1 }));
    expect(s.shape).toEqual([2, 2, 2]);
    expect(Array.from(s.gpu)).toEqual([1, 2, -1, -2, 3, 4, -3, -4]);
    const p = await runOnBoth([b], (x) =>
      T.pad(
        x,
        [
          [1, 0],
          [0, 2],
        ],
        { value: 9 },
      ),
    );
    expect(p.shape).toEqual([3, 3]);
    expect(Array.from(p.gpu)).toEqual([9, 9, 9, 5, 9, 9, 6, 9, 9]);
    expectEqual(p);
  });
});

describe('composed views read in place by other ops', () => {
  it('an elementwise op on a transposed, sliced view matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(nonEmptyShapeArb({ minRank: 1 })).chain((x) =>
          fc.tuple(fc.constant(x), permutationArb(x.shape.length), sliceArgsArb([...x.shape].reverse())),
        ),
        async ([x, perm, { starts, ends, steps }]) => {
          const r = await runOnBoth([x], (t) => {
            const view = T.slice(T.transpose(t, perm), starts, ends, steps);
            return T.add(T.mul(view, 2), T.abs(view));
          });
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('a binary op between a broadcast view and a transposed view matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb({ minRank: 1 }).chain((out) =>
          fc.tuple(fc.constant(out), broadcastableTo(out), permutationArb(out.length)),
        ),
        async ([out, from, perm]) => {
          // b is stored in permuted order and transposed back, so both operands are strided.
          const inverse = perm.map((_, i) => perm.indexOf(i));
          const b = distinct(perm.map((p) => out[p]));
          const r = await runOnBoth([distinct(from), b], (x, y) =>
            T.sub(T.broadcastTo(x, out), T.transpose(y, inverse)),
          );
          expect(r.shape).toEqual(out);
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('concat and pad of strided views match the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(distinctArb(nonEmptyShapeArb({ minRank: 2, maxRank: 3 })), async (x) => {
        const r = await runOnBoth([x], (t) => {
          const tt = T.transpose(t);
          const sliced = T.slice(tt, [0], [undefined], [2]);
          return T.pad(T.concat([sliced, tt], { axis: 0 }), [[1, 1]], { value: -1 });
        });
        expectEqual(r);
      }),
      runs(20),
    );
  });

  it('upsampled (broadcast-reshaped) and flattened views read the right elements', async () => {
    await fc.assert(
      fc.asyncProperty(
        distinctArb(nonEmptyShapeArb({ minRank: 4, maxRank: 4 })),
        fc.integer({ min: 1, max: 3 }),
        async (x, scale) => {
          const r = await runOnBoth([x], (t) =>
            T.flatten(T.neg(T.upsampleNearest2d(T.transpose(t, [0, 1, 3, 2]), { scale }))),
          );
          expectEqual(r);
        },
      ),
      runs(15),
    );
  });
});
