// Transforms free every intermediate they make: 1,000 valueAndGrad calls hold memory flat, and
// vjp's recorded intermediates belong to the caller's scope. What the WebGPU backend keeps with
// a live weight (Winograd's filter transforms) goes with the weight.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';
import { backendFor } from '../src/tensor/backends.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { isCpuAdapter } from '../src/kernels/webgpu/tuning.js';

useBackends();

describe('on webgpu, the filter transforms Winograd keeps with a weight', () => {
  it('stay one per weight and direction over rollout-then-update loops, and go with the weights', async () => {
    const gpu = backendFor('webgpu') as WebGpuBackend;
    const before = gpu.ctx.derivedCount;
    // A 64-channel 3x3 layer at batch 8 on 16x16 maps: 128 tiles of 4x4, so F(4x4) by default on CPU adapters.
    const [k1, k2] = T.split(T.key(5));
    const x = T.keep(T.normal(k1, [8, 64, 16, 16], { backend: 'webgpu' }));
    let w = T.keep(T.mul(T.normal(k2, [64, 64, 3, 3], { backend: 'webgpu' }), 0.05));
    const conv = (wt: T.Tensor, xt: T.Tensor) => T.conv2d(xt, wt, { padding: 1 });
    const loss = (wt: T.Tensor) => T.mean(T.square(conv(wt, x)));
    const counts: number[] = [];
    for (let step = 0; step < 4; step++) {
      // The rollout: the same weight three times (its transform is kept from the second use on).
      for (let i = 0; i < 3; i++) {
        const y = conv(w, x);
        await T.sync(y);
        y.dispose();
      }
      counts.push(gpu.ctx.derivedCount - before);
      // The update: a gradient step makes a new weight; the old one goes, and its transform with it.
      const next = T.keep(T.scope(() => T.sub(w, T.mul(T.grad(loss)(w), 0.1))));
      await T.sync(next);
      w.dispose();
      w = next;
      counts.push(gpu.ctx.derivedCount - before);
    }
    // One kept transform while a rollout's weight lives (Winograd is the default on CPU adapters;
    // elsewhere nothing is kept), none once the update has replaced it.
    const kept = isCpuAdapter(gpu.ctx.gpu.adapterDescription) ? 1 : 0;
    expect(counts).toEqual([kept, 0, kept, 0, kept, 0, kept, 0]);
    [w, x].forEach((t) => t.dispose());
    expect(gpu.ctx.derivedCount).toBe(before);
  });
});

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
