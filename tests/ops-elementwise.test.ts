// Acceptance: every public elementwise op gives the same result on WebGPU as on the CPU reference,
// over generated shapes (broadcasting, 0-d, size-1, size-0, odd sizes), dtypes and values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { binaryOps, unaryOps, type BinaryOp, type UnaryOp } from '../src/kernels/elementwise-ops.js';
import type { DType, Tensor } from '../src/index.js';
import { expectClose, expectEqual, runOnBoth, useBackends, type Compared } from './support/backends.js';
import {
  boolArb,
  broadcastPairArb,
  broadcastShapes,
  broadcastTripleArb,
  floatArb,
  floatAwayFromZeroArb,
  hostArb,
  intArb,
  runs,
  shapeArb,
  valuesFor,
} from './support/arbitraries.js';

useBackends();

type Unary = (x: Tensor) => Tensor;
type Binary = (a: Tensor | number | boolean, b: Tensor | number | boolean) => Tensor;
const publicFn = <F>(name: string): F => (T as unknown as Record<string, F>)[name];

/** How closely GPU must match CPU: bit-exact, or within rtol/atol. */
type Tolerance = 'exact' | { readonly rtol: number; readonly atol: number };
// The CPU computes in double and rounds once; WGSL f32 builtins are a few ulp off (f32 eps 1.2e-7).
const TRANSCENDENTAL: Tolerance = { rtol: 1e-5, atol: 1e-6 };

function compare(r: Compared, tol: Tolerance): void {
  if (tol === 'exact') expectEqual(r);
  else expectClose(r, tol);
}

// --- unary ops: a domain and tolerance per op ----------------------------------------------------

interface UnaryCase {
  /** float32 inputs for this op. */
  readonly domain: fc.Arbitrary<number>;
  readonly tol: Tolerance;
}

/** Multiples of 1/4 in [-4, 4]: exercises exact halves for round and integers for floor/ceil. */
const quarters = fc.integer({ min: -16, max: 16 }).map((i) => i / 4);

const unaryCases: Record<UnaryOp, UnaryCase> = {
  neg: { domain: floatArb(-4, 4), tol: 'exact' },
  abs: { domain: floatArb(-4, 4), tol: 'exact' },
  sign: { domain: quarters, tol: 'exact' },
  square: { domain: floatArb(-4, 4), tol: 'exact' },
  relu: { domain: floatArb(-4, 4), tol: 'exact' },
  exp: { domain: floatArb(-10, 10), tol: TRANSCENDENTAL },
  log: { domain: floatArb(0.01, 100), tol: TRANSCENDENTAL },
  sqrt: { domain: floatArb(0, 100), tol: TRANSCENDENTAL },
  rsqrt: { domain: floatArb(0.01, 100), tol: TRANSCENDENTAL },
  reciprocal: { domain: floatAwayFromZeroArb(0.1, 10), tol: TRANSCENDENTAL },
  sin: { domain: floatArb(-Math.PI, Math.PI), tol: TRANSCENDENTAL },
  cos: { domain: floatArb(-Math.PI, Math.PI), tol: TRANSCENDENTAL },
  tanh: { domain: floatArb(-20, 20), tol: TRANSCENDENTAL },
  sigmoid: { domain: floatArb(-20, 20), tol: TRANSCENDENTAL },
  silu: { domain: floatArb(-20, 20), tol: TRANSCENDENTAL },
  gelu: { domain: floatArb(-8, 8), tol: TRANSCENDENTAL },
  erf: { domain: floatArb(-5, 5), tol: TRANSCENDENTAL },
  floor: { domain: floatArb(-4, 4), tol: 'exact' },
  ceil: { domain: floatArb(-4, 4), tol: 'exact' },
  round: { domain: quarters, tol: 'exact' },
  logicalNot: { domain: fc.constantFrom(0, 1, -0.5, 2), tol: 'exact' },
};

/** The dtype the test expects a unary op to return for an input dtype (an independent statement of the rules). */
function expectedUnaryDType(op: UnaryOp, input: DType): DType {
  switch (unaryOps[op].operands) {
    case 'float':
      return 'float32';
    case 'numeric':
      return input === 'bool' ? 'int32' : input;
    case 'bool':
      return 'bool';
    default:
      return input;
  }
}

describe('unary elementwise ops', () => {
  it('every op in the unary table has a public function of the same name', () => {
    for (const op of Object.keys(unaryOps)) expect(typeof publicFn<Unary>(op), op).toBe('function');
  });

  for (const op of Object.keys(unaryOps) as UnaryOp[]) {
    const { domain, tol } = unaryCases[op];
    it(`${op} on float32 matches the CPU over generated shapes`, async () => {
      const f = publicFn<Unary>(op);
      await fc.assert(
        fc.asyncProperty(
          shapeArb().chain((s) => hostArb(s, domain)),
          async (x) => {
            const r = await runOnBoth([x], f);
            expect(r.shape).toEqual(x.shape);
            expect(r.dtype).toBe(expectedUnaryDType(op, 'float32'));
            compare(r, tol);
          },
        ),
        runs(20),
      );
    });

    it(`${op} on int32 and bool inputs promotes like the CPU and matches it`, async () => {
      const f = publicFn<Unary>(op);
      // Integers keep the float ops in their domain: positive for log/sqrt/rsqrt, nonzero for
      // reciprocal, and [-pi, pi] for sin/cos (WGSL bounds their error only there; NVIDIA's sin(-41)
      // is 4e-6 off).
      const positive = ['log', 'sqrt', 'rsqrt', 'reciprocal'].includes(op);
      const trig = op === 'sin' || op === 'cos';
      const ints = positive ? intArb(1, 50) : trig ? intArb(-3, 3) : op === 'exp' ? intArb(-10, 10) : intArb(-50, 50);
      await fc.assert(
        fc.asyncProperty(
          fc
            .tuple(fc.constantFrom<DType>('int32', 'bool'), shapeArb({ maxRank: 3 }))
            .chain(([dtype, shape]) =>
              hostArb(shape, dtype === 'bool' ? (positive ? fc.constant(1) : boolArb) : ints, dtype),
            ),
          async (host) => {
            const r = await runOnBoth([host], f);
            expect(r.dtype).toBe(expectedUnaryDType(op, host.dtype!));
            compare(r, tol);
          },
        ),
        runs(8),
      );
    });
  }

  it('round rounds halves to even and floor/ceil/trunc-like ops are exact on a hand case', async () => {
    const x = { values: [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -3.7, 3.7], shape: [9] };
    const r = await runOnBoth([x], T.round);
    expectEqual(r);
    expect(Array.from(r.cpu)).toEqual([-2, -2, -0, 0, 2, 2, 4, -4, 4]);
    const fl = await runOnBoth([x], T.floor);
    expectEqual(fl);
    expect(Array.from(fl.cpu)).toEqual([-3, -2, -1, 0, 1, 2, 3, -4, 3]);
  });

  it('gelu and sigmoid match known values on both backends', async () => {
    const x = { values: [-1, 0, 1, 2], shape: [4] };
    const g = await runOnBoth([x], T.gelu);
    expectClose(g, { rtol: 1e-5, atol: 1e-6 });
    // PyTorch: gelu([-1, 0, 1, 2]) = [-0.158655, 0, 0.841345, 1.954500]; erf approximation good to 1.5e-7.
    [-0.15865525, 0, 0.84134475, 1.95449974].forEach((v, i) => expect(g.gpu[i]).toBeCloseTo(v, 5));
    const s = await runOnBoth([x], T.sigmoid);
    [0.26894142, 0.5, 0.73105858, 0.88079708].forEach((v, i) => expect(s.gpu[i]).toBeCloseTo(v, 6));
  });
});

// --- binary ops ---------------------------------------------------------------------------------

interface BinaryCase {
  /** Left and right float32 operand values. */
  readonly domain: readonly [fc.Arbitrary<number>, fc.Arbitrary<number>];
  readonly tol: Tolerance;
}

/** A coarse grid (multiples of 1/2 in [-3, 3]) so comparisons and max/min see ties. */
const halves = fc.integer({ min: -6, max: 6 }).map((i) => i / 2);

const binaryCases: Record<BinaryOp, BinaryCase> = {
  add: { domain: [floatArb(-4, 4), floatArb(-4, 4)], tol: 'exact' },
  sub: { domain: [floatArb(-4, 4), floatArb(-4, 4)], tol: 'exact' },
  mul: { domain: [floatArb(-4, 4), floatArb(-4, 4)], tol: 'exact' },
  // WGSL f32 division is accurate to 2.5 ulp, not correctly rounded.
  div: { domain: [floatArb(-4, 4), floatAwayFromZeroArb(0.25, 4)], tol: TRANSCENDENTAL },
  // pow is exp2(y * log2(x)) on the GPU: its error grows with |y * log2(x)| (here at most ~8).
  pow: { domain: [floatArb(0.05, 4), floatArb(-3, 3)], tol: { rtol: 2e-5, atol: 1e-6 } },
  maximum: { domain: [halves, halves], tol: 'exact' },
  minimum: { domain: [halves, halves], tol: 'exact' },
  equal: { domain: [halves, halves], tol: 'exact' },
  notEqual: { domain: [halves, halves], tol: 'exact' },
  less: { domain: [halves, halves], tol: 'exact' },
  lessEqual: { domain: [halves, halves], tol: 'exact' },
  greater: { domain: [halves, halves], tol: 'exact' },
  greaterEqual: { domain: [halves, halves], tol: 'exact' },
  logicalAnd: { domain: [halves, halves], tol: 'exact' },
  logicalOr: { domain: [halves, halves], tol: 'exact' },
};

const promote = (a: DType, b: DType): DType => {
  const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };
  return rank[a] >= rank[b] ? a : b;
};

/** The dtype the test expects a binary op to return for operand dtypes. */
function expectedBinaryDType(op: BinaryOp, a: DType, b: DType): DType {
  const p = promote(a, b);
  switch (binaryOps[op].operands) {
    case 'float':
      return 'float32';
    case 'numeric':
      return p === 'bool' ? 'int32' : p;
    default:
      return 'bool';
  }
}

describe('binary elementwise ops', () => {
  it('every op in the binary table has a public function of the same name', () => {
    for (const op of Object.keys(binaryOps)) expect(typeof publicFn<Binary>(op), op).toBe('function');
  });

  for (const op of Object.keys(binaryOps) as BinaryOp[]) {
    const { domain, tol } = binaryCases[op];
    it(`${op} on float32 matches the CPU over broadcast shape pairs`, async () => {
      const f = publicFn<Binary>(op);
      await fc.assert(
        fc.asyncProperty(
          broadcastPairArb().chain(([, sa, sb]) => fc.tuple(hostArb(sa, domain[0]), hostArb(sb, domain[1]))),
          async ([a, b]) => {
            const r = await runOnBoth([a, b], f);
            expect(r.shape).toEqual(broadcastShapes(a.shape, b.shape));
            expect(r.dtype).toBe(expectedBinaryDType(op, 'float32', 'float32'));
            compare(r, tol);
          },
        ),
        runs(20),
      );
    });

    it(`${op} promotes mixed bool/int32/float32 operands and matches the CPU`, async () => {
      const f = publicFn<Binary>(op);
      const dtypes = fc.constantFrom<DType>('bool', 'int32', 'float32');
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(dtypes, dtypes, broadcastPairArb({ maxRank: 3 })).chain(([da, db, [, sa, sb]]) => {
            // Keep div's divisor and pow's base away from 0 (and pow's base positive) for every dtype.
            const left =
              op === 'pow'
                ? da === 'bool'
                  ? fc.constant(1)
                  : da === 'int32'
                    ? intArb(1, 4)
                    : floatArb(0.25, 3)
                : valuesFor(da);
            const right =
              op === 'div'
                ? db === 'bool'
                  ? fc.constant(1)
                  : db === 'int32'
                    ? fc.oneof(intArb(1, 20), intArb(-20, -1))
                    : floatAwayFromZeroArb(0.25, 4)
                : op === 'pow'
                  ? db === 'float32'
                    ? floatArb(-2, 2)
                    : valuesFor(db).map((v) => Math.max(-3, Math.min(3, v)))
                  : valuesFor(db);
            return fc.tuple(hostArb(sa, left, da), hostArb(sb, right, db));
          }),
          async ([a, b]) => {
            const r = await runOnBoth([a, b], f);
            expect(r.dtype).toBe(expectedBinaryDType(op, a.dtype!, b.dtype!));
            compare(r, tol);
          },
        ),
        runs(15),
      );
    });
  }

  it('pow of a negative base with an integer exponent matches the CPU and Math.pow', async () => {
    await fc.assert(
      fc.asyncProperty(
        broadcastPairArb({ maxRank: 3 }).chain(([, sa, sb]) =>
          fc.tuple(hostArb(sa, floatArb(-4, -0.25)), hostArb(sb, intArb(-3, 4))),
        ),
        async ([a, b]) => {
          const r = await runOnBoth([a, b], T.pow as Binary);
          expectClose(r, { rtol: 2e-5, atol: 1e-6 });
          // Sign is right: odd exponents keep the negative sign.
          r.cpu.forEach((v) => expect(Number.isNaN(v)).toBe(false));
        },
      ),
      runs(20),
    );
  });

  it('pow follows Math.pow on the special cases 0^0, x^0, (-2)^3, (-2)^0.5', async () => {
    const a = { values: [0, 5, -2, -2, -3, 2], shape: [6] };
    const b = { values: [0, 0, 3, 0.5, 2, -1], shape: [6] };
    const r = await runOnBoth([a, b], T.pow as Binary);
    expectClose(r, { rtol: 1e-6, atol: 0 });
    expect(Array.from(r.cpu)).toEqual([1, 1, -8, NaN, 9, 0.5]);
  });

  it("int32 add and sub wrap around like two's complement (as WGSL i32)", async () => {
    const a = { values: [2147483647, -2147483648, 123456789, 65537, -99999], shape: [5], dtype: 'int32' as const };
    const b = { values: [1, 1, 2147483647, 65537, 77777], shape: [5], dtype: 'int32' as const };
    const added = await runOnBoth([a, b], T.add as Binary);
    expectEqual(added);
    expect(Array.from(added.gpu)).toEqual(a.values.map((x, i) => (x + b.values[i]) | 0));
    const diff = await runOnBoth([b, a], T.sub as Binary);
    expectEqual(diff);
    expect(Array.from(diff.gpu)).toEqual(a.values.map((x, i) => (b.values[i] - x) | 0));
  });

  it('int32 mul and square wrap to the exact 32-bit product (Math.imul) on both backends', async () => {
    // A double product such as 123456789 * 987654321 exceeds 2^53 and loses its low bits before
    // ToInt32 wraps it; WGSL i32 multiplication keeps them. Math.imul is the exact wrapped product.
    const a = {
      values: [2147483647, -2147483648, 123456789, 65537, -99999, 46341],
      shape: [6],
      dtype: 'int32' as const,
    };
    const b = { values: [2, -1, 987654321, 65537, 77777, 46341], shape: [6], dtype: 'int32' as const };
    const product = await runOnBoth([a, b], T.mul as Binary);
    const want = a.values.map((x, i) => Math.imul(x, b.values[i]));
    expect(Array.from(product.gpu), 'webgpu').toEqual(want);
    expect(Array.from(product.cpu), 'cpu').toEqual(want);
    const squared = await runOnBoth([a], T.square);
    const wantSquares = a.values.map((x) => Math.imul(x, x));
    expect(Array.from(squared.gpu), 'webgpu').toEqual(wantSquares);
    expect(Array.from(squared.cpu), 'cpu').toEqual(wantSquares);
  });

  it('int32 division is true division to float32', async () => {
    const a = { values: [7, -7, 1, 0], shape: [4], dtype: 'int32' as const };
    const b = { values: [2, 2, 3, 5], shape: [4], dtype: 'int32' as const };
    const r = await runOnBoth([a, b], T.div as Binary);
    expect(r.dtype).toBe('float32');
    expectClose(r, { rtol: 1e-6, atol: 0 });
    expect(Array.from(r.cpu)).toEqual([3.5, -3.5, Math.fround(1 / 3), 0]);
  });
});

// --- JS scalars ---------------------------------------------------------------------------------

describe('JS scalar operands', () => {
  const cases: readonly { name: string; dtype: DType; f: (x: Tensor) => Tensor; want: DType; tol: Tolerance }[] = [
    { name: 'add(x, 2) on float32', dtype: 'float32', f: (x) => T.add(x, 2), want: 'float32', tol: 'exact' },
    { name: 'sub(3, x) on int32', dtype: 'int32', f: (x) => T.sub(3, x), want: 'int32', tol: 'exact' },
    {
      name: 'mul(x, 0.5) on int32 gives float32',
      dtype: 'int32',
      f: (x) => T.mul(x, 0.5),
      want: 'float32',
      tol: 'exact',
    },
    { name: 'add(x, 3) on bool gives int32', dtype: 'bool', f: (x) => T.add(x, 3), want: 'int32', tol: 'exact' },
    {
      name: 'greater(x, 0) on float32 gives bool',
      dtype: 'float32',
      f: (x) => T.greater(x, 0),
      want: 'bool',
      tol: 'exact',
    },
    { name: 'equal(x, 1) on int32 gives bool', dtype: 'int32', f: (x) => T.equal(x, 1), want: 'bool', tol: 'exact' },
    { name: 'logicalOr(x, false) on bool', dtype: 'bool', f: (x) => T.logicalOr(x, false), want: 'bool', tol: 'exact' },
    {
      name: 'div(1, x) on float32',
      dtype: 'float32',
      f: (x) => T.div(1, T.add(T.abs(x), 1)),
      want: 'float32',
      tol: TRANSCENDENTAL,
    },
    {
      name: 'pow(x, 2) on float32',
      dtype: 'float32',
      f: (x) => T.pow(x, 2),
      want: 'float32',
      tol: { rtol: 2e-5, atol: 1e-6 },
    },
    {
      name: 'maximum(x, 1.5) on int32 gives float32',
      dtype: 'int32',
      f: (x) => T.maximum(x, 1.5),
      want: 'float32',
      tol: 'exact',
    },
  ];
  for (const c of cases) {
    it(`${c.name} matches the CPU with the scalar taking the tensor's dtype`, async () => {
      await fc.assert(
        fc.asyncProperty(
          shapeArb().chain((s) => hostArb(s, valuesFor(c.dtype), c.dtype)),
          async (x) => {
            const r = await runOnBoth([x], c.f);
            expect(r.shape).toEqual(x.shape);
            expect(r.dtype).toBe(c.want);
            compare(r, c.tol);
          },
        ),
        runs(10),
      );
    });
  }
});

// --- where, clamp, cast -------------------------------------------------------------------------

describe('where, clamp and cast', () => {
  it('where picks between broadcast operands of mixed dtypes like the CPU', async () => {
    const dtypes = fc.constantFrom<DType>('bool', 'int32', 'float32');
    await fc.assert(
      fc.asyncProperty(
        fc
          .tuple(broadcastTripleArb(), dtypes, dtypes)
          .chain(([[, sc, sa, sb], da, db]) =>
            fc.tuple(hostArb(sc, boolArb, 'bool'), hostArb(sa, valuesFor(da), da), hostArb(sb, valuesFor(db), db)),
          ),
        async ([c, a, b]) => {
          const r = await runOnBoth([c, a, b], (cond, x, y) => T.where(cond, x, y));
          expect(r.shape).toEqual(broadcastShapes(c.shape, a.shape, b.shape));
          expect(r.dtype).toBe(promote(a.dtype!, b.dtype!));
          expectEqual(r);
        },
      ),
      runs(25),
    );
  });

  it('where with scalar branches and a computed condition matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb().chain((s) => hostArb(s, floatArb(-2, 2))),
        async (x) => {
          const r = await runOnBoth([x], (t) => T.where(T.greater(t, 0), t, -1));
          expectEqual(r);
        },
      ),
      runs(10),
    );
  });

  it('clamp with scalar or broadcast tensor bounds matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        broadcastTripleArb({ maxRank: 3 }).chain(([out, , sLo, sHi]) =>
          fc.tuple(
            hostArb(out, floatArb(-4, 4)),
            hostArb(sLo, floatArb(-3, -1)),
            hostArb(sHi, floatArb(1, 3)),
            fc.constantFrom('tensors', 'scalars', 'min only', 'max only'),
          ),
        ),
        async ([x, lo, hi, mode]) => {
          const r = await runOnBoth([x, lo, hi], (t, l, h) =>
            mode === 'tensors'
              ? T.clamp(t, { min: l, max: h })
              : mode === 'scalars'
                ? T.clamp(t, { min: -1.5, max: 2.25 })
                : mode === 'min only'
                  ? T.clamp(t, { min: l })
                  : T.clamp(t, { max: 0.75 }),
          );
          expectEqual(r);
          for (const v of r.gpu) if (mode === 'scalars') expect(v >= -1.5 && v <= 2.25).toBe(true);
        },
      ),
      runs(20),
    );
  });

  it('clamp of int32 with integer bounds stays int32 and matches the CPU', async () => {
    await fc.assert(
      fc.asyncProperty(
        shapeArb().chain((s) => hostArb(s, intArb(-50, 50), 'int32')),
        async (x) => {
          const r = await runOnBoth([x], (t) => T.clamp(t, { min: -10, max: 10 }));
          expect(r.dtype).toBe('int32');
          expectEqual(r);
        },
      ),
      runs(10),
    );
  });

  it('cast between every pair of dtypes matches the CPU (float -> int truncates, -> bool is != 0)', async () => {
    const dtypes = fc.constantFrom<DType>('bool', 'int32', 'float32');
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(dtypes, dtypes, shapeArb()).chain(([from, to, shape]) => {
          const values = from === 'float32' ? fc.oneof(floatArb(-8, 8), quarters, fc.constant(0)) : valuesFor(from);
          return fc.tuple(hostArb(shape, values, from), fc.constant(to));
        }),
        async ([x, to]) => {
          const r = await runOnBoth([x], (t) => T.cast(t, to));
          expect(r.dtype).toBe(to);
          expectEqual(r);
        },
      ),
      runs(30),
    );
  });

  it('cast of floats to int32 truncates toward zero, and to bool is x != 0, on a hand case', async () => {
    const x = { values: [-2.75, 2.75, -0.5, 0.5, -7.999, 16777216, -16777216, 0], shape: [8] };
    const r = await runOnBoth([x], (t) => T.cast(t, 'int32'));
    expectEqual(r);
    expect(Array.from(r.gpu)).toEqual([-2, 2, 0, 0, -7, 16777216, -16777216, 0]);
    const b = await runOnBoth([x], (t) => T.cast(t, 'bool'));
    expectEqual(b);
    expect(Array.from(b.gpu)).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);
  });

  it('cast of out-of-range floats to int32 saturates to the same value on both backends', async () => {
    // 2^31 - 1 is not a float32: WGSL's f32 -> i32 conversion clamps to the largest value both
    // types hold (2^31 - 128 = 2147483520) at the top, and to -2^31 at the bottom.
    const x = { values: [1e10, -1e10, 3e9, -3e9, 2147483520, -2147483648], shape: [6] };
    const r = await runOnBoth([x], (t) => T.cast(t, 'int32'));
    expect(Array.from(r.gpu).slice(4)).toEqual([2147483520, -2147483648]);
    expectEqual(r);
  });
});
