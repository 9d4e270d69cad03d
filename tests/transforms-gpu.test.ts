// The transforms on WebGPU: every primitive's JVP and batching rule in float32 agrees with the CPU
// within 1e-4, and the compositions (per-sample gradients, Hessians, HVPs) match across backends,
// with the live-tensor counts unchanged on both.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as T from '../src/index.js';
import type { Primitive, Tensor } from '../src/index.js';
import { arbitraryBatchSize, arbitraryInAxes } from '../src/testing/index.js';
import { batchedShape, interleaveBatch, runs, sizeOf } from './support/arbitraries.js';
import { expectClose, runOnBoth, useBackends, type HostTensor } from './support/backends.js';
import { primitiveCases, uniformIn, type PrimitiveCase } from './support/primitive-cases.js';

useBackends();

const TOLERANCE = { rtol: 1e-4, atol: 1e-4 };

const hostOf = (c: PrimitiveCase, i: number, values: readonly number[], shape = c.inputs[i].shape): HostTensor => ({
  values,
  shape,
  dtype: c.inputs[i].dtype === 'float64' ? 'float32' : c.inputs[i].dtype,
});

/** out and its tangent, flattened into one float32 vector (so one readback compares both). */
const joined = (out: Tensor, tangent: Tensor): Tensor =>
  T.concat([T.reshape(T.cast(out, 'float32'), [-1]), T.reshape(T.cast(tangent, 'float32'), [-1])]);

/** A case with values for its inputs and tangents for its float inputs. */
const jvpProblem = (prim: Primitive) =>
  primitiveCases[prim].chain((c) =>
    fc
      .tuple(
        fc.tuple(...c.inputs.map((input) => input.values(sizeOf(input.shape)))),
        fc.tuple(...c.inputs.map((input) => uniformIn(-1, 1)(sizeOf(input.shape)))),
      )
      .map(([values, tangents]) => ({ c, values, tangents })),
  );

async function expectJvpAgrees({
  c,
  values,
  tangents,
}: {
  c: PrimitiveCase;
  values: number[][];
  tangents: number[][];
}): Promise<void> {
  const isFloat = c.inputs.map((i) => i.dtype === 'float64');
  const floatAt = isFloat.flatMap((fl, i) => (fl ? [i] : []));
  const hosts = [...c.inputs.map((_, i) => hostOf(c, i, values[i])), ...floatAt.map((i) => hostOf(c, i, tangents[i]))];
  const r = await runOnBoth(hosts, (...xs) => {
    const inputs = xs.slice(0, c.inputs.length);
    const ts = xs.slice(c.inputs.length);
    const f = (...floats: Tensor[]) => c.f(...inputs.map((x, i) => (isFloat[i] ? floats[floatAt.indexOf(i)] : x)));
    const [out, t] = T.jvp(
      f,
      floatAt.map((i) => inputs[i]),
      ts,
    );
    return joined(out, t);
  });
  expectClose(r, TOLERANCE);
}

/** A case with in-axes and per-example values for a batch. */
const vmapProblem = (prim: Primitive) =>
  primitiveCases[prim].chain((c) =>
    fc.tuple(arbitraryBatchSize(), arbitraryInAxes(c.inputs.map((i) => i.shape.length))).chain(([size, inAxes]) =>
      fc
        .tuple(
          ...c.inputs.map((input, i) =>
            fc.array(input.values(sizeOf(input.shape)), {
              minLength: inAxes[i] === null ? 1 : size,
              maxLength: inAxes[i] === null ? 1 : size,
            }),
          ),
        )
        .map((examples) => ({ c, size, inAxes, examples })),
    ),
  );

async function expectVmapAgrees({
  c,
  size,
  inAxes,
  examples,
}: {
  c: PrimitiveCase;
  size: number;
  inAxes: (number | null)[];
  examples: number[][][];
}): Promise<void> {
  const hosts = c.inputs.map((input, i) => {
    const axis = inAxes[i];
    return axis === null
      ? hostOf(c, i, examples[i][0])
      : hostOf(c, i, interleaveBatch(examples[i], input.shape, axis), batchedShape(input.shape, axis, size));
  });
  const r = await runOnBoth(hosts, (...xs) => T.vmap(c.f, { inAxes })(...xs));
  expectClose(r, TOLERANCE);
}

describe('every primitive on WebGPU (float32) agrees with the CPU within 1e-4', () => {
  for (const prim of Object.keys(primitiveCases) as Primitive[]) {
    it(`${prim}: jvp and vmap`, async () => {
      await fc.assert(fc.asyncProperty(jvpProblem(prim), expectJvpAgrees), runs(2));
      await fc.assert(fc.asyncProperty(vmapProblem(prim), expectVmapAgrees), runs(2));
    });
  }
});

describe('compositions on WebGPU', () => {
  const x: HostTensor = { values: [0.3, -1.2, 2, 0.7], shape: [4] };
  const v: HostTensor = { values: [1, 0.5, -2, 0.25], shape: [4] };
  const A: HostTensor = { values: Array.from({ length: 16 }, (_, i) => Math.sin(i + 1)), shape: [4, 4] };
  const f = (u: Tensor): Tensor => T.add(T.sum(T.mul(T.sin(u), T.square(u))), T.div(T.square(T.sum(u)), 3));

  it('the hessian of x^T A x, hessian of a smooth f, and its HVPs by jvp(grad) and grad(jvp)', async () => {
    expectClose(
      await runOnBoth([A, x], (a, u) => T.hessian((w: Tensor) => T.sum(T.mul(w, T.matmul(a, w))))(u)),
      TOLERANCE,
    );
    expectClose(await runOnBoth([x], (u) => T.hessian(f)(u)), TOLERANCE);
    expectClose(await runOnBoth([x, v], (u, w) => T.jvp(T.grad(f), [u], [w])[1]), TOLERANCE);
    expectClose(await runOnBoth([x, v], (u, w) => T.grad((q: Tensor) => T.jvp(f, [q], [w])[1])(u)), TOLERANCE);
  });

  it('per-sample gradients of a small network, and jvp and grad of a vmapped function', async () => {
    const W: HostTensor = { values: [0.3, -0.2, 0.5, 0.1, 0.4, -0.6], shape: [2, 3] };
    const X: HostTensor = { values: [1, 2, -0.5, 0.3, 0.2, -1.1], shape: [3, 2] };
    const loss = (w: Tensor, xi: Tensor) => T.sum(T.square(T.tanh(T.matmul(xi, w))));
    expectClose(await runOnBoth([W, X], (w, xs) => T.vmap(T.grad(loss), { inAxes: [null, 0] })(w, xs)), TOLERANCE);
    expectClose(
      await runOnBoth(
        [W, X],
        (w, xs) => T.jvp((q: Tensor) => T.vmap(loss, { inAxes: [0, null] })(T.stack([q, q]), xs), [w], [w])[1],
      ),
      TOLERANCE,
    );
    expectClose(
      await runOnBoth([W, X], (w, xs) => T.grad((q: Tensor) => T.sum(T.vmap((r: Tensor) => loss(q, r))(xs)))(w)),
      TOLERANCE,
    );
  });
});
