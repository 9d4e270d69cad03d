// Forward mode: every primitive's JVP rule agrees with central finite differences (checkJvp, CPU
// float64) over generated shapes, parameters and values; piecewise-constant and non-float
// primitives push a zero tangent; jvp's pytrees, linearize and its errors.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Primitive, Tensor } from '../src/index.js';
import { jvpRules } from '../src/autograd/jvp-rules.js';
import { vjpRules } from '../src/autograd/rules.js';
import { runs } from './support/arbitraries.js';
import { caseValues, primitiveCases, uploadInput, type PrimitiveCase } from './support/primitive-cases.js';

beforeAll(async () => {
  await T.setBackend('cpu');
});

/** The case's function of its float inputs only (the others, indices and conditions, held fixed). */
function overFloats(
  c: PrimitiveCase,
  values: readonly number[][],
): { f: (...xs: Tensor[]) => Tensor; floats: Tensor[]; fixed: Tensor[] } {
  const all = c.inputs.map((input, i) => uploadInput(input, values[i], 'cpu'));
  const isFloat = c.inputs.map((i) => i.dtype === 'float64');
  const floats = all.filter((_, i) => isFloat[i]);
  const fixed = all.filter((_, i) => !isFloat[i]);
  const f = (...xs: Tensor[]) => {
    let k = 0;
    let j = 0;
    return c.f(...isFloat.map((fl) => (fl ? xs[k++] : fixed[j++])));
  };
  return { f, floats, fixed };
}

async function expectJvpMatchesFiniteDifferences(c: PrimitiveCase, values: number[][]): Promise<void> {
  const { f, floats, fixed } = overFloats(c, values);
  try {
    if (c.jvp === 'zero') {
      const tangents = floats.map((x) => T.onesLike(x));
      const [out, t] = T.jvp(f, floats, tangents);
      expect(t.shape).toEqual(out.shape);
      expect(
        Array.from(await t.data()).every((v) => v === 0),
        `${c.label}: the tangent is not zero`,
      ).toBe(true);
      [out, t, ...tangents].forEach((x) => x.dispose());
    } else {
      const report = await T.checkJvp(f, floats, c.jvp);
      expect(report.ok, `${c.label}: ${report.message}`).toBe(true);
      // Each float input alone (the others constant): the rules' zero-tangent branches.
      if (floats.length > 1) {
        for (let i = 0; i < floats.length; i++) {
          const alone = (x: Tensor) => f(...floats.map((y, j) => (j === i ? x : y)));
          const single = await T.checkJvp(alone, [floats[i]], { ...c.jvp, seed: i + 1 });
          expect(single.ok, `${c.label}, input ${i} alone: ${single.message}`).toBe(true);
        }
      }
    }
  } finally {
    [...floats, ...fixed].forEach((x) => x.dispose());
  }
}

describe('a JVP rule per primitive', () => {
  it('the JVP, VJP and test-case tables cover the same primitives', () => {
    const names = Object.keys(vjpRules).sort();
    expect(Object.keys(jvpRules).sort()).toEqual(names);
    expect(Object.keys(primitiveCases).sort()).toEqual(names);
  });

  for (const prim of Object.keys(primitiveCases) as Primitive[]) {
    it(`${prim}: jvp matches finite differences (float64, CPU)`, async () => {
      const before = T.memory().cpu.tensors;
      await fc.assert(
        fc.asyncProperty(
          primitiveCases[prim].chain((c) => caseValues(c).map((values) => [c, values] as const)),
          ([c, values]) => expectJvpMatchesFiniteDifferences(c, values),
        ),
        runs(12),
      );
      expect(T.memory().cpu.tensors).toBe(before);
    });
  }
});

const f64 = (data: T.TensorData) => T.tensor(data, { dtype: 'float64', backend: 'cpu' });

describe('jvp', () => {
  it('takes and returns pytrees: the tangent of a record output is a record of tangents', async () => {
    const w = f64([
      [1, 2],
      [3, 4],
    ]);
    const x = f64([1, -1]);
    const params = { w, b: f64([0.5, 0.5]) };
    const dParams = {
      w: f64([
        [1, 0],
        [0, 0],
      ]),
      b: f64([0, 1]),
    };
    const [out, t] = T.jvp(
      (p: typeof params, v: Tensor) => {
        const y = T.add(T.matmul(p.w, v), p.b);
        return { y, s: T.sum(T.square(y)) };
      },
      [params, x],
      [dParams, T.zerosLike(x)],
    );
    // y = W x + b = [-0.5, -0.5]; dy = dW x + db = [1, 1]; ds = 2 y . dy = -2.
    expect(await t.y.array()).toEqual([1, 1]);
    expect(await t.s.array()).toBeCloseTo(-2, 12);
    expect(await out.s.array()).toBeCloseTo(0.5, 12);
    [out.y, out.s, t.y, t.s, w, x, params.b, dParams.w, dParams.b].forEach((a) => a.dispose());
  });

  it('a function that ignores its input has a zero tangent, and a returned input its own tangent (a fresh handle)', async () => {
    const x = f64([1, 2]);
    const v = f64([3, 4]);
    const c = f64([7, 7]);
    const [o1, t1] = T.jvp((_: Tensor) => c, [x], [v]);
    expect(await t1.array()).toEqual([0, 0]);
    const [o2, t2] = T.jvp((a: Tensor) => a, [x], [v]);
    expect(await t2.array()).toEqual([3, 4]);
    t2.dispose();
    expect(v.isDisposed).toBe(false);
    [o1, t1, o2, x, v, c].forEach((a) => a.dispose());
  });

  it('linearize evaluates once and applies the JVP to any tangent, agreeing with jvp', async () => {
    const x = f64([0.3, -1.2, 2]);
    const f = (a: Tensor) => T.mul(T.sin(a), T.exp(T.sum(a)));
    const before = T.memory().cpu.tensors;
    const [out, fJvp] = T.linearize(f, x);
    for (const dir of [
      [1, 0, 0],
      [0.5, -2, 1],
    ]) {
      const v = f64(dir);
      const lin = fJvp(v);
      const [o, t] = T.jvp(f, [x], [v]);
      const [a, b] = [await lin.data(), await t.data()];
      a.forEach((val, i) => expect(val).toBeCloseTo(b[i], 12));
      [v, lin, o, t].forEach((q) => q.dispose());
    }
    fJvp.dispose();
    out.dispose();
    expect(T.memory().cpu.tensors).toBe(before);
    x.dispose();
  });

  it("checkJvp, and checkGrad's forward and both modes, pass smooth functions and flag a kink", async () => {
    const x = f64([0.5, -1.5, 2]);
    const smoothF = (t: Tensor) => T.mul(T.tanh(t), T.exp(t));
    for (const mode of ['forward', 'both', 'reverse'] as const) {
      const report = await T.checkGrad(smoothF, [x], { mode });
      expect(report.ok, `${mode}: ${report.message}`).toBe(true);
    }
    expect((await T.checkGrad(smoothF, [x], { mode: 'both' })).message).toMatch(/^checkGrad passed.*checkJvp passed/);
    // relu at 0: the JVP takes the derivative 0, central differences see the kink's average 1/2.
    const zero = f64([0, 0]);
    const kink = await T.checkJvp(T.relu, [zero]);
    expect(kink.ok).toBe(false);
    expect(kink.message).toMatch(/checkJvp FAILED: 2 output elements, worst at \[\d\]: jvp 0 vs finite difference/);
    [x, zero].forEach((t) => t.dispose());
  });

  it('richardson: a steep but correct derivative that plain central differences miss passes, in every mode', async () => {
    // exp(1e4 x) at 0: central differences at 1e-6 read 1e4 (1 + 1.7e-5), about 1.7x the tolerance
    // rtol 1e-5; extrapolated from 1e-6 and 5e-7 their error is ~1e-12 of the derivative.
    const x = f64([0]);
    const steep = (t: Tensor) => T.exp(T.mul(t, 1e4));
    for (const mode of ['reverse', 'forward'] as const) {
      const plain = await T.checkGrad(steep, [x], { mode });
      expect(plain.ok, plain.message).toBe(false);
      expect(plain.worstRatio).toBeGreaterThan(1.5);
      const sharp = await T.checkGrad(steep, [x], { mode, richardson: true });
      expect(sharp.ok, sharp.message).toBe(true);
      expect(sharp.worstRatio).toBeLessThan(0.01);
    }
    expect((await T.checkJvp(steep, [x], { richardson: true })).ok).toBe(true);
    // It does not hide a wrong derivative: a kink still fails.
    expect((await T.checkJvp(T.relu, [f64([0])], { richardson: true })).ok).toBe(false);
    x.dispose();
  });

  it('refuses tangents that do not match the primals, saying how they differ', () => {
    const x = f64([1, 2]);
    const t32 = T.tensor([1, 2], { dtype: 'float32', backend: 'cpu' });
    const short = f64([1]);
    expect(() => T.jvp(T.exp, [x], [t32])).toThrow(
      /tangent for primal 0 is \[2\] float32 but the primal is \[2\] float64/,
    );
    expect(() => T.jvp(T.exp, [x], [short])).toThrow(/must match/);
    expect(() => T.jvp(T.exp, [x], [] as unknown as [Tensor])).toThrow(/1 primals but 0 tangents/);
    expect(() => T.jvp(T.exp as (x: Tensor) => Tensor, x as unknown as [Tensor], [x])).toThrow(/must be arrays/);
    [x, t32, short].forEach((a) => a.dispose());
  });
});
