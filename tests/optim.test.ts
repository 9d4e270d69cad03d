// AdamW, clipGradNorm and the schedules: against float64 references, on toy problems, and for memory.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();

/** Plain-JS float64 AdamW (torch.optim.AdamW's update written out). */
function referenceAdamW(
  p: number[],
  grads: number[][],
  { lr, beta1, beta2, eps, wd }: { lr: (s: number) => number; beta1: number; beta2: number; eps: number; wd: number },
): number[] {
  let m = p.map(() => 0);
  let v = p.map(() => 0);
  for (let s = 0; s < grads.length; s++) {
    const g = grads[s];
    const t = s + 1;
    m = m.map((mi, i) => beta1 * mi + (1 - beta1) * g[i]);
    v = v.map((vi, i) => beta2 * vi + (1 - beta2) * g[i] * g[i]);
    p = p.map((pi, i) => pi - lr(s) * (m[i] / (1 - beta1 ** t) / (Math.sqrt(v[i] / (1 - beta2 ** t)) + eps) + wd * pi));
  }
  return p;
}

describe('schedules', () => {
  it('linearWarmup ramps from start to peak, then holds', () => {
    const s = T.linearWarmup({ peak: 1, warmupSteps: 4 });
    expect([0, 1, 2, 4, 10].map(s)).toEqual([0, 0.25, 0.5, 1, 1]);
  });
  it('cosineDecay warms up, reaches the midpoint halfway through the decay, and ends at final', () => {
    const s = T.cosineDecay({ peak: 1, warmupSteps: 10, totalSteps: 110, final: 0.1 });
    expect(s(5)).toBeCloseTo(0.5);
    expect(s(10)).toBeCloseTo(1);
    expect(s(60)).toBeCloseTo(0.55);
    expect(s(110)).toBeCloseTo(0.1);
    expect(s(500)).toBeCloseTo(0.1);
    expect(T.constantSchedule(0.3)(99)).toBe(0.3);
  });
});

describe.each(['cpu', 'webgpu'] as const)('on %s', (backend) => {
  it('adamw with weight decay and a schedule equals a float64 reference for 6 steps', async () => {
    const p0 = [0.5, -1.5, 2, 0.01];
    const grads = [
      [0.1, -0.2, 0.3, 0],
      [1, 2, -3, 0.5],
      [-0.5, 0.5, 0.1, 2],
      [0.3, 0.3, 0.3, -1],
      [2, -1, 0, 0.2],
      [0.01, 0.02, -0.5, 1],
    ];
    const lr = T.cosineDecay({ peak: 0.05, warmupSteps: 2, totalSteps: 6, final: 0.01 });
    const opt = T.adamw({ lr, weightDecay: 0.1 });
    let params = { layer: [{ w: T.tensor(p0, { backend }) }] };
    let state = opt.init(params);
    for (const g of grads) {
      const gt = { layer: [{ w: T.tensor(g, { backend }) }] };
      const next = opt.update(gt, state, params);
      T.disposeTree([gt, params, state]);
      ({ params, state } = next);
    }
    expect(state.step).toBe(6);
    const want = referenceAdamW(p0, grads, { lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.1 });
    const got = Array.from(await params.layer[0].w.data());
    got.forEach((x, i) => expect(x).toBeCloseTo(want[i], 5));
    T.disposeTree([params, state]);
  });

  it('adamw fits a tiny linear regression through valueAndGrad', async () => {
    const [k1, k2] = T.split(T.key(1));
    const x = T.normal(k1, [32, 3], { backend });
    const trueW = T.tensor([[1], [-2], [0.5]], { backend });
    const y = T.add(T.matmul(x, trueW), 0.3);
    const loss = (p: { w: T.Tensor; b: T.Tensor }) => T.mean(T.square(T.sub(T.add(T.matmul(x, p.w), p.b), y)));
    const opt = T.adamw({ lr: 0.05, weightDecay: 0 });
    let params = { w: T.mul(T.normal(k2, [3, 1], { backend }), 0.1), b: T.zeros([1], { backend }) };
    let state = opt.init(params);
    const step = T.valueAndGrad(loss);
    let first = NaN;
    let last = NaN;
    for (let i = 0; i < 300; i++) {
      const [value, grads] = step(params);
      if (i === 0) first = (await value.data())[0];
      if (i === 299) last = (await value.data())[0];
      const next = opt.update(grads, state, params);
      T.disposeTree([value, grads, params, state]);
      ({ params, state } = next);
    }
    expect(last).toBeLessThan(first * 1e-3);
    const w = Array.from(await params.w.data());
    [1, -2, 0.5].forEach((want, i) => expect(w[i]).toBeCloseTo(want, 2));
    expect((await params.b.data())[0]).toBeCloseTo(0.3, 2);
    T.disposeTree([params, state, x, trueW, y]);
  });

  it("clipGradNorm returns the global L2 norm and scales by torch's min(1, max / (norm + 1e-6))", async () => {
    const grads = { a: T.tensor([3, 0], { backend }), b: [T.tensor([[0, 4]], { backend })] };
    const clipped = T.clipGradNorm(grads, 1);
    expect((await clipped.norm.data())[0]).toBeCloseTo(5, 5);
    const s = 1 / (5 + 1e-6);
    expect(Array.from(await clipped.grads.a.data())).toEqual([Math.fround(3 * s), 0].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(await clipped.grads.b[0].data())[1]).toBeCloseTo(4 * s, 6);
    const loose = T.clipGradNorm(grads, 10);
    expect(Array.from(await loose.grads.a.data())).toEqual([3, 0]);
    T.disposeTree([grads, clipped, loose]);
  });

  it('200 adamw steps inside a scope loop leave memory() where it started', async () => {
    const opt = T.adamw({ lr: T.linearWarmup({ peak: 0.01, warmupSteps: 10 }) });
    const loss = (p: { w: T.Tensor[] }) => T.add(T.sum(T.square(p.w[0])), T.sum(T.square(p.w[1])));
    let params = { w: [T.keep(T.ones([4, 4], { backend })), T.keep(T.ones([3], { backend }))] };
    let state = opt.init(params);
    T.treeLeaves(state).forEach((t) => T.keep(t));
    const step = T.valueAndGrad(loss);
    // the first step swaps the initial tensors for new ones of the same count and size
    const run = () => {
      const next = T.scope(() => {
        const [, grads] = step(params);
        const { grads: clipped } = T.clipGradNorm(grads, 1);
        return opt.update(clipped, state, params);
      });
      T.disposeTree([params, state]);
      ({ params, state } = next);
    };
    run();
    const before = T.memory()[backend];
    for (let i = 0; i < 199; i++) run();
    expect(T.memory()[backend]).toEqual(before);
    expect((await params.w[1].data())[0]).toBeLessThan(1);
    T.disposeTree([params, state]);
  });

  it('update refuses grads whose structure does not match the params', () => {
    const opt = T.adamw({ lr: 0.1 });
    const params = { a: T.zeros([2], { backend }), b: T.zeros([3], { backend }) };
    const state = opt.init(params);
    const bad = { a: T.zeros([2], { backend }) } as unknown as typeof params;
    expect(() => opt.update(bad, state, params)).toThrow(/tensor leaves/);
    const wrongShape = { a: T.zeros([2], { backend }), b: T.zeros([4], { backend }) };
    expect(() => opt.update(wrongShape, state, params)).toThrow(/shape \[4\]/);
    T.disposeTree([params, state, bad, wrongShape]);
  });
});
