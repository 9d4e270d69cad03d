// The transforms together (CPU, float64): Jacobians and Hessians against closed forms, HVPs by
// jvp of grad and grad of jvp, vmap of both, jvp and grad of vmap, inside scopes, with no leaks.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { arbitraryShape } from '../src/testing/index.js';
import { runs, sizeOf } from './support/arbitraries.js';

beforeAll(async () => {
  await T.setBackend('cpu');
});

const f64 = (data: T.TensorData, shape?: number[]) =>
  T.tensor(data, { dtype: 'float64', backend: 'cpu', ...(shape ? { shape } : {}) });
const values = (n: number) => fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: n, maxLength: n });

async function expectAllClose(got: Tensor, want: Tensor | readonly number[], tol = 1e-10, label = ''): Promise<void> {
  const g = Array.from(await got.data());
  const w = want instanceof T.Tensor ? Array.from(await want.data()) : [...want];
  if (want instanceof T.Tensor) expect(got.shape, label).toEqual(want.shape);
  expect(g.length, label).toBe(w.length);
  g.forEach((v, i) =>
    expect(Math.abs(v - w[i]) <= tol * (1 + Math.abs(w[i])), `${label} element ${i}: ${v} vs ${w[i]}`).toBe(true),
  );
}

/** A smooth scalar function of a vector: sum(sin(x) * x^2) + (sum x)^2 / 3. */
const smoothScalar = (x: Tensor): Tensor => T.add(T.sum(T.mul(T.sin(x), T.square(x))), T.div(T.square(T.sum(x)), 3));

/** Its Hessian in closed form: diag(2 sin x + 4 x cos x - x^2 sin x) + 2/3. */
const smoothScalarHessian = (x: readonly number[]): number[] =>
  x.flatMap((xi, i) =>
    x.map((_, j) => (i === j ? 2 * Math.sin(xi) + 4 * xi * Math.cos(xi) - xi * xi * Math.sin(xi) : 0) + 2 / 3),
  );

describe('Jacobians and Hessians', () => {
  it('the hessian of x^T A x is A + A^T, for generated A and x', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(fc.constant(n), values(n * n), values(n))),
        async ([n, a, x]) => {
          const A = f64(a, [n, n]);
          const xt = f64(x);
          const before = T.memory().cpu.tensors;
          const H = T.hessian((v: Tensor) => T.sum(T.mul(v, T.matmul(A, v))))(xt);
          const want = a.map((_, k) => a[k] + a[(k % n) * n + Math.floor(k / n)]);
          expect(H.shape).toEqual([n, n]);
          await expectAllClose(H, want, 1e-12, 'H');
          H.dispose();
          expect(T.memory().cpu.tensors).toBe(before);
          [A, xt].forEach((t) => t.dispose());
        },
      ),
      runs(15),
    );
  });

  it('jacfwd and jacrev agree with each other and with the closed form of a linear map', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbitraryShape({ minRank: 1, maxRank: 2, minDim: 1, maxDim: 3 }).chain((inShape) =>
          fc
            .integer({ min: 1, max: 3 })
            .chain((m) =>
              fc.tuple(fc.constant(inShape), fc.constant(m), values(m * sizeOf(inShape)), values(sizeOf(inShape))),
            ),
        ),
        async ([inShape, m, w, x]) => {
          const n = sizeOf(inShape);
          const W = f64(w, [m, n]);
          const xt = f64(x, inShape);
          const linearMap = (v: Tensor) => T.matmul(W, T.reshape(v, [n]));
          const [jf, jr] = [T.jacfwd(linearMap)(xt), T.jacrev(linearMap)(xt)];
          expect(jf.shape).toEqual([m, ...inShape]);
          await expectAllClose(jf, w, 1e-12, 'jacfwd');
          await expectAllClose(jr, jf, 1e-12, 'jacrev vs jacfwd');
          const nonlinear = (v: Tensor) => T.tanh(T.mul(linearMap(v), T.sum(v)));
          const [nf, nr] = [T.jacfwd(nonlinear)(xt), T.jacrev(nonlinear)(xt)];
          await expectAllClose(nr, nf, 1e-10, 'nonlinear jacrev vs jacfwd');
          [W, xt, jf, jr, nf, nr].forEach((t) => t.dispose());
        },
      ),
      runs(15),
    );
  });

  it('a Hessian by hessian, by jacrev of jacrev and by jacfwd of jacfwd is the closed form', async () => {
    const xv = [0.3, -1.2, 2];
    const x = f64(xv);
    const want = smoothScalarHessian(xv);
    for (const [label, h] of [
      ['hessian', T.hessian(smoothScalar)],
      ['jacrev(jacrev)', T.jacrev(T.jacrev(smoothScalar))],
      ['jacfwd(jacfwd)', T.jacfwd(T.jacfwd(smoothScalar))],
    ] as const) {
      const H = h(x) as Tensor;
      await expectAllClose(H, want, 1e-10, label);
      H.dispose();
    }
    x.dispose();
  });

  it('Jacobians of pytrees: one block per (output leaf, argument leaf), with argnums', async () => {
    const a = f64([1, 2]);
    const b = f64(3);
    const J = T.jacrev((u: Tensor, s: Tensor) => ({ y: T.mul(u, s), t: T.sum(u) }), { argnums: [0, 1] })(
      a,
      b,
    ) as unknown as {
      y: [Tensor, Tensor];
      t: [Tensor, Tensor];
    };
    expect(await J.y[0].array()).toEqual([
      [3, 0],
      [0, 3],
    ]);
    expect(await J.y[1].array()).toEqual([1, 2]);
    expect(await J.t[0].array()).toEqual([1, 1]);
    expect(await J.t[1].array()).toBe(0);
    [a, b, J.y[0], J.y[1], J.t[0], J.t[1]].forEach((t) => t.dispose());
  });
  it('hessian with an argnums list gives the blocks [[H_aa, H_ab], [H_ba, H_bb]]', async () => {
    const a = f64([1, -2]);
    const b = f64([3, 0.5]);
    // f = sum(a^2 b): H_aa = diag(2b), H_ab = H_ba = diag(2a), H_bb = 0.
    const [[haa, hab], [hba, hbb]] = T.hessian((u: Tensor, w: Tensor) => T.sum(T.mul(T.square(u), w)), {
      argnums: [0, 1],
    })(a, b) as unknown as Tensor[][];
    await expectAllClose(haa, [6, 0, 0, 1], 0, 'H_aa');
    await expectAllClose(hab, [2, 0, 0, -4], 0, 'H_ab');
    await expectAllClose(hba, [2, 0, 0, -4], 0, 'H_ba');
    await expectAllClose(hbb, [0, 0, 0, 0], 0, 'H_bb');
    expect(haa.shape).toEqual([2, 2]);
    [a, b, haa, hab, hba, hbb].forEach((t) => t.dispose());
  });
});

describe('composition', () => {
  const xv = [0.3, -1.2, 2];
  const vv = [1, 0.5, -2];
  const hvpWant = (() => {
    const H = smoothScalarHessian(xv);
    return xv.map((_, i) => vv.reduce((s, v, j) => s + H[i * 3 + j] * v, 0));
  })();

  it('Hessian-vector products: jvp of grad and grad of jvp match H v', async () => {
    const x = f64(xv);
    const v = f64(vv);
    const before = T.memory().cpu.tensors;
    const [g, hvp] = T.jvp(T.grad(smoothScalar), [x], [v]);
    await expectAllClose(hvp, hvpWant, 1e-10, 'jvp(grad)');
    const hvp2 = T.grad((u: Tensor) => T.jvp(smoothScalar, [u], [v])[1])(x);
    await expectAllClose(hvp2, hvpWant, 1e-10, 'grad(jvp)');
    [g, hvp, hvp2].forEach((t) => t.dispose());
    expect(T.memory().cpu.tensors).toBe(before);
    [x, v].forEach((t) => t.dispose());
  });

  it('third order: jvp of jvp of grad, and grad of grad of grad, agree', async () => {
    const x = f64(xv);
    const v = f64(vv);
    // d/dt d/ds grad f(x + t v + s v) = the third derivative contracted twice with v.
    const viaJvp = T.scope(() => T.jvp((u: Tensor) => T.jvp(T.grad(smoothScalar), [u], [v])[1], [x], [v])[1]);
    const viaGrad = T.grad((u: Tensor) =>
      T.sum(T.mul(T.grad((w: Tensor) => T.sum(T.mul(T.grad(smoothScalar)(w), v)))(u), v)),
    )(x);
    await expectAllClose(viaJvp, viaGrad, 1e-10, 'third derivative');
    [x, v, viaJvp, viaGrad].forEach((t) => t.dispose());
  });

  it('vmap of jvp and of grad equal loops; jvp and grad of vmap equal the unbatched transforms', async () => {
    const X = f64([
      [0.3, -1.2, 2],
      [1, 0.5, -0.25],
    ]);
    const V = f64([
      [1, 0.5, -2],
      [0, 1, 0],
    ]);
    const before = T.memory().cpu.tensors;
    const perRowJvp = T.vmap((x: Tensor, v: Tensor) => T.jvp(smoothScalar, [x], [v])[1])(X, V);
    const perRowGrad = T.vmap(T.grad(smoothScalar))(X);
    const batched = (x: Tensor) => T.vmap(smoothScalar)(x);
    const jvpOfVmap = T.scope(() => T.jvp(batched, [X], [V])[1]);
    const gradOfVmap = T.grad((x: Tensor) => T.sum(batched(x)))(X);
    for (let b = 0; b < 2; b++) {
      const [x, v] = [b, b].map((i, k) => T.scope(() => T.squeeze(T.slice(k === 0 ? X : V, [i], [i + 1]), 0)));
      const t = T.scope(() => T.jvp(smoothScalar, [x], [v])[1]);
      const g = T.grad(smoothScalar)(x);
      const rowOf = (y: Tensor) => T.scope(() => T.squeeze(T.slice(y, [b], [b + 1]), 0));
      for (const [label, got, want] of [
        ['vmap(jvp)', rowOf(perRowJvp), t],
        ['jvp(vmap)', rowOf(jvpOfVmap), t],
        ['vmap(grad)', rowOf(perRowGrad), g],
        ['grad(vmap)', rowOf(gradOfVmap), g],
      ] as const) {
        await expectAllClose(got, want, 1e-12, `${label}, row ${b}`);
        got.dispose();
      }
      [x, v, t, g].forEach((q) => q.dispose());
    }
    [perRowJvp, perRowGrad, jvpOfVmap, gradOfVmap].forEach((q) => q.dispose());
    expect(T.memory().cpu.tensors).toBe(before);
    [X, V].forEach((q) => q.dispose());
  });

  it('a per-sample Hessian-vector product: vmap of jvp of grad', async () => {
    const X = f64([xv, [1, 0.5, -0.25]]);
    const V = f64([vv, vv]);
    const hvps = T.vmap((x: Tensor, v: Tensor) => T.jvp(T.grad(smoothScalar), [x], [v])[1])(X, V);
    const row0 = T.scope(() => T.squeeze(T.slice(hvps, [0], [1]), 0));
    await expectAllClose(row0, hvpWant, 1e-10, 'row 0');
    [X, V, hvps, row0].forEach((q) => q.dispose());
  });

  it('transforms used inside a scope leave memory as it was', () => {
    const x = f64(xv);
    const v = f64(vv);
    const before = T.memory().cpu;
    T.scope(() => {
      T.jvp(T.grad(smoothScalar), [x], [v]);
      T.hessian(smoothScalar)(x);
      T.vmap(T.grad(smoothScalar))(T.stack([x, v]));
      const [, lin] = T.linearize(smoothScalar, x);
      lin(v);
    });
    expect(T.memory().cpu).toEqual(before);
    [x, v].forEach((q) => q.dispose());
  });

  it('stopGradient blocks forward mode as it blocks reverse mode', async () => {
    const x = f64([1, 2]);
    const v = f64([1, 1]);
    const [o, t] = T.jvp((u: Tensor) => T.add(T.mul(T.stopGradient(u), u), u), [x], [v]);
    // d/dt (c * u + u) with c = u held constant: c + 1.
    expect(await t.array()).toEqual([2, 3]);
    [x, v, o, t].forEach((q) => q.dispose());
  });
});
