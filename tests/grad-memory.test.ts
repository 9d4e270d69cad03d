// Transforms free every intermediate they make: 1,000 valueAndGrad calls hold memory flat, and
// vjp's recorded intermediates belong to the caller's scope.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();

describe.each(['cpu', 'webgpu'] as const)('on %s', (backend) => {
  const mlpLoss = (p: { w: T.Tensor; b: T.Tensor }, x: T.Tensor) =>
    T.mean(T.square(T.silu(T.add(T.matmul(x, p.w), p.b))));

  it('1,000 valueAndGrad calls inside a scope leave memory() where it started', async () => {
    const [k1, k2] = T.split(T.key(3));
    const params = { w: T.keep(T.normal(k1, [16, 8], { backend })), b: T.keep(T.zeros([8], { backend })) };
    const x = T.keep(T.normal(k2, [4, 16], { backend }));
    const step = T.valueAndGrad(mlpLoss);
    const before = T.memory()[backend];
    let last = 0;
    for (let i = 0; i < 1000; i++) {
      const value = T.scope(() => {
        const [v, g] = step(params, x);
        return T.add(v, T.mul(T.sum(g.w), 0));
      });
      if (i === 999) last = (await value.data())[0];
      value.dispose();
    }
    expect(Number.isFinite(last)).toBe(true);
    expect(T.memory()[backend]).toEqual(before);
    [params.w, params.b, x].forEach((t) => t.dispose());
  });

  it('valueAndGrad returns only the value and the gradients: nothing else stays alive', () => {
    const x = T.tensor([0.5, 1.5], { backend });
    const before = T.memory()[backend];
    const [v, g] = T.valueAndGrad((x: T.Tensor) => T.sum(T.tanh(T.mul(x, x))))(x);
    expect(T.memory()[backend].tensors).toBe(before.tensors + 2);
    v.dispose();
    g.dispose();
    expect(T.memory()[backend]).toEqual(before);
    x.dispose();
  });

  it('grad of grad frees its intermediates too', () => {
    const x = T.tensor([0.5, -1], { backend });
    const before = T.memory()[backend];
    const f = (x: T.Tensor) => T.sum(T.mul(T.tanh(x), x));
    const h = T.grad((x: T.Tensor) => T.sum(T.grad(f)(x)))(x);
    expect(T.memory()[backend].tensors).toBe(before.tensors + 1);
    h.dispose();
    expect(T.memory()[backend]).toEqual(before);
    x.dispose();
  });

  it("vjp's intermediates go with the caller's scope, or with pullback.dispose()", () => {
    const x = T.tensor([0.5, -1], { backend });
    const before = T.memory()[backend];
    const g = T.scope(() => {
      const [, pullback] = T.vjp((x: T.Tensor) => T.exp(T.sin(x)), x);
      return pullback(T.ones([2], { backend }))[0];
    });
    expect(T.memory()[backend].tensors).toBe(before.tensors + 1);
    g.dispose();
    const [y, pullback] = T.vjp((x: T.Tensor) => T.exp(T.sin(x)), x);
    pullback.dispose();
    y.dispose();
    expect(T.memory()[backend]).toEqual(before);
    x.dispose();
  });
});
