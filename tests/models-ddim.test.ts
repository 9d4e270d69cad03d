// The DDIM sampler (issue 5, docs/architecture.md, "The LRPO pipeline"): the plan against hand
// formulas, the step mean, eta = 0 determinism and the oracle's closed-form path, eta = 1
// transition statistics, sampled vs recomputed log-probs, gradients, WebGPU = CPU, errors and
// memory.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import {
  ddimLogProb,
  ddimMean,
  ddimPlan,
  ddimSample,
  ddimStep,
  gaussianLogProb,
  scaledLinearSchedule,
  type DdimPlan,
} from '../src/nn.js';
import { useBackends } from './support/backends.js';
import { oracleModel, toyModel, toyParams, TOY_T, type ToyParams } from './support/diffusion-toys.js';

useBackends();

const host = async (x: Tensor): Promise<number[]> => Array.from(await x.data());
const schedule = scaledLinearSchedule({ steps: TOY_T });
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
const disposeAll = (...trees: unknown[]) => T.treeLeaves(trees).forEach((t) => t.dispose());

/** Standardized residuals should be N(0, 1): mean within 5 SE, variance within 5 SE of 1. */
function expectStandardNormal(r: number[]): void {
  const n = r.length;
  const m = r.reduce((a, b) => a + b, 0) / n;
  const v = r.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
  expect(Math.abs(m), `mean ${m} of ${n} residuals`).toBeLessThan(5 / Math.sqrt(n));
  expect(Math.abs(v - 1), `variance ${v} of ${n} residuals`).toBeLessThan(5 * Math.sqrt(2 / n));
}

describe('ddimPlan', () => {
  it("uses diffusers' leading spacing with offset 1, alphasCumprod[0] after the last step, and the paper's sigma", () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    expect(plan.timesteps).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(plan.prevTimesteps).toEqual([801, 701, 601, 501, 401, 301, 201, 101, 1, -1]);
    expect(plan.stepsOffset).toBe(1);
    expect(plan.alphasPrev[9]).toBe(schedule.alphasCumprod[0]);
    plan.timesteps.forEach((t, j) => {
      const a = schedule.alphasCumprod[t];
      const ap = j === 9 ? schedule.alphasCumprod[0] : schedule.alphasCumprod[t - 100];
      expect(plan.alphas[j]).toBe(a);
      expect(plan.sigmas[j]).toBeCloseTo(Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap)), 14);
      expect(plan.sigmas[j]).toBeGreaterThan(0);
    });
    expect(Object.isFrozen(plan) && Object.isFrozen(plan.sigmas)).toBe(true);
  });

  it('scales sigma with eta, is all zeros at eta = 0, and takes stepsOffset 0 (S = T needs it, and gets it by default)', () => {
    const half = ddimPlan(schedule, { steps: 10, eta: 0.5 });
    const one = ddimPlan(schedule, { steps: 10, eta: 1 });
    half.sigmas.forEach((s, j) => expect(s).toBeCloseTo(0.5 * one.sigmas[j], 15));
    expect(ddimPlan(schedule, { steps: 10, eta: 0 }).sigmas.every((s) => s === 0)).toBe(true);
    const zero = ddimPlan(schedule, { steps: 4, eta: 1, stepsOffset: 0 });
    expect(zero.timesteps).toEqual([750, 500, 250, 0]);
    expect(zero.sigmas[3]).toBe(0); // t = 0 -> alphasCumprod[0]: a deterministic step
    const full = ddimPlan(schedule, { steps: 1000, eta: 0 });
    expect(full.stepsOffset).toBe(0);
    expect(full.timesteps[0]).toBe(999);
  });

  it('rejects steps that do not divide T or exceed it, eta < 0 or too large, and an offset past T/S - 1', () => {
    expect(() => ddimPlan(schedule, { steps: 7, eta: 1 })).toThrow(
      /ddimPlan: steps must be a positive integer that divides T = 1000 .*got 7\. Pick a divisor of 1000, e\.g\. 10, 20, 25, 50, 100/,
    );
    expect(() => ddimPlan(schedule, { steps: 2000, eta: 1 })).toThrow(T.ShapeError);
    expect(() => ddimPlan(schedule, { steps: 0, eta: 1 })).toThrow(T.ShapeError);
    expect(() => ddimPlan(schedule, { steps: 10, eta: -0.1 })).toThrow(/eta must be a finite number >= 0, got -0.1/);
    expect(() => ddimPlan(schedule, { steps: 10, eta: 2 })).toThrow(/eta 2 is too large.*Use eta <= 1/);
    expect(() => ddimPlan(schedule, { steps: 10, eta: 1, stepsOffset: 100 })).toThrow(
      /stepsOffset must be an integer in 0\.\.99 .*got 100/,
    );
    expect(() => ddimPlan(schedule, { steps: 1000, eta: 0, stepsOffset: 1 })).toThrow(
      /With steps = T pass stepsOffset: 0/,
    );
  });
});

describe('gaussianLogProb', () => {
  it.each(['cpu', 'webgpu'] as const)(
    'equals the float64 host formula averaged over dims, per sample, on %s',
    async (backend) => {
      const x = [0.1, -0.5, 2, 0.3, 1, 1, -1, 0];
      const m = [0, 0.5, 1.5, 0.2, -1, 1, 0, 0.4];
      const sigma = 0.37;
      const [xt, mt] = [x, m].map((v) => T.tensor(v, { shape: [2, 2, 2], backend }));
      const lp = gaussianLogProb(xt, mt, sigma);
      expect(lp.shape).toEqual([2]);
      const got = await host(lp);
      for (let b = 0; b < 2; b++) {
        let acc = 0;
        for (let d = 0; d < 4; d++)
          acc += -((x[4 * b + d] - m[4 * b + d]) ** 2) / (2 * sigma ** 2) - Math.log(sigma) - HALF_LOG_2PI;
        expect(got[b]).toBeCloseTo(acc / 4, 5);
      }
      disposeAll(lp, xt, mt);
    },
  );

  it('refuses sigma <= 0 (eta = 0 has no density) and mismatched shapes', () => {
    T.scope(() => {
      const x = T.zeros([2, 3], { backend: 'cpu' });
      expect(() => gaussianLogProb(x, x, 0)).toThrow(
        /gaussianLogProb: sigma must be a finite number > 0, got 0.*no density/,
      );
      expect(() => gaussianLogProb(x, x, -1)).toThrow(T.ShapeError);
      expect(() => gaussianLogProb(x, x, Number.NaN)).toThrow(T.ShapeError);
      expect(() => gaussianLogProb(x, T.zeros([2, 4], { backend: 'cpu' }), 1)).toThrow(
        /x \[2, 3\] and mean \[2, 4\] must have the same shape/,
      );
    });
  });
});

describe.each(['cpu', 'webgpu'] as const)('DDIM on %s', (backend) => {
  const shape = [2, 2, 4, 4];
  const makeCond = () => T.uniform(T.key(21), shape, { min: -1, max: 1, backend });

  it('ddimMean equals the host formula, clipping x0Hat to [-1, 1] and recomputing eps from it', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    const j = 8; // a_t close to 1: some x0Hat fall outside [-1, 1]
    const epsValues = Array.from({ length: 64 }, (_, i) => Math.sin(i) * 3);
    const xtValues = Array.from({ length: 64 }, (_, i) => Math.cos(1.7 * i) * 1.2);
    const constModel = (p: { e: Tensor }) => T.mul(p.e, 1);
    const params = { e: T.tensor(epsValues, { shape, backend }) };
    const xt = T.tensor(xtValues, { shape, backend });
    const cond = makeCond();
    const [a, ap, s] = [plan.alphas[j], plan.alphasPrev[j], plan.sigmas[j]];
    for (const clipX0 of [true, false]) {
      const r = ddimMean(constModel, params, plan, j, xt, cond, { clipX0 });
      const [mean, x0Hat, eps] = await Promise.all([r.mean, r.x0Hat, r.eps].map(host));
      let clipped = 0;
      xtValues.forEach((x, i) => {
        const raw = (x - Math.sqrt(1 - a) * epsValues[i]) / Math.sqrt(a);
        const x0 = clipX0 ? Math.min(1, Math.max(-1, raw)) : raw;
        if (x0 !== raw) clipped++;
        const e = clipX0 ? (x - Math.sqrt(a) * x0) / Math.sqrt(1 - a) : epsValues[i];
        expect(x0Hat[i]).toBeCloseTo(x0, 4);
        expect(eps[i]).toBeCloseTo(e, 4);
        expect(mean[i]).toBeCloseTo(Math.sqrt(ap) * x0 + Math.sqrt(1 - ap - s * s) * e, 4);
      });
      if (clipX0) expect(clipped).toBeGreaterThan(4);
      disposeAll(r);
    }
    disposeAll(params, xt, cond);
  });

  it('eta = 0 is deterministic: the same x_T gives the same trajectory under different keys, with no log-probs', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 0 });
    const params = toyParams(backend);
    const cond = makeCond();
    const xT = T.normal(T.key(9), shape, { backend });
    const a = ddimSample(toyModel, params, cond, T.key(1), { plan, xT });
    const b = ddimSample(toyModel, params, cond, T.key(2), { plan, xT });
    expect(a.xs.length).toBe(11);
    expect(a.logProbs).toEqual([]);
    expect(a.x0).toBe(a.xs[10]);
    expect(await host(a.xs[0])).toEqual(await host(xT));
    for (let j = 0; j <= 10; j++) expect(await host(b.xs[j])).toEqual(await host(a.xs[j]));
    disposeAll(a, b);
    expect(xT.isDisposed).toBe(false); // the returned xs[0] is a new handle
    disposeAll(params, cond, xT);
  });

  it('eta = 0 with a model that knows x0 follows the closed-form DDIM path and ends at x0 noised to t = 0', async () => {
    // S = T in float64 on the CPU (1000 steps); 20 steps in float32 on WebGPU.
    const dtype = backend === 'cpu' ? 'float64' : 'float32';
    const steps = backend === 'cpu' ? 1000 : 20;
    const plan = ddimPlan(schedule, { steps, eta: 0 });
    const x0Values = Array.from({ length: 64 }, (_, i) => 0.9 * Math.sin(2.3 * i));
    const x0 = T.tensor(x0Values, { shape, dtype, backend });
    const cond = T.zeros(shape, { dtype, backend });
    const model = oracleModel(schedule, x0);
    const r = ddimSample(model, {}, cond, T.key(4), { plan });
    const xT = await host(r.xs[0]);
    const aT = plan.alphas[0];
    const eps0 = xT.map((x, i) => (x - Math.sqrt(aT) * x0Values[i]) / Math.sqrt(1 - aT));
    const tol = dtype === 'float64' ? 1e-9 : 2e-5;
    for (const j of [0, Math.floor(steps / 2), steps - 1]) {
      const ap = plan.alphasPrev[j];
      const got = await host(r.xs[j + 1]);
      got.forEach((v, i) =>
        expect(Math.abs(v - (Math.sqrt(ap) * x0Values[i] + Math.sqrt(1 - ap) * eps0[i]))).toBeLessThan(tol),
      );
    }
    // The last step's x0Hat is x0 itself, and the sample is x0 up to the t = 0 noise level.
    const last = ddimMean(model, {}, plan, steps - 1, r.xs[steps - 1], cond);
    (await host(last.x0Hat)).forEach((v, i) => expect(Math.abs(v - x0Values[i])).toBeLessThan(tol * 10));
    const final = await host(r.x0);
    const bound = Math.sqrt(1 - schedule.alphasCumprod[0]) * Math.max(...eps0.map(Math.abs)) + 1e-3;
    final.forEach((v, i) => expect(Math.abs(v - x0Values[i])).toBeLessThan(bound));
    disposeAll(r, last, x0, cond);
  });

  it('eta = 1: a step x_{t-1} has mean mu_theta and variance s_t^2 over 4096 pixels (5 standard errors)', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    const params = toyParams(backend);
    const big = [1, 2, 32, 64];
    const xt = T.normal(T.key(30), big, { backend });
    const cond = T.uniform(T.key(31), big, { min: -1, max: 1, backend });
    for (const j of [0, 5, 9]) {
      const step = ddimStep(toyModel, params, plan, j, xt, cond, T.key(100 + j));
      const ref = ddimMean(toyModel, params, plan, j, xt, cond);
      const [xPrev, mean, refMean, lp] = await Promise.all([step.xPrev, step.mean, ref.mean, step.logProb!].map(host));
      refMean.forEach((m, i) => expect(mean[i]).toBeCloseTo(m, 6));
      const s = plan.sigmas[j];
      const r = xPrev.map((x, i) => (x - mean[i]) / s);
      expectStandardNormal(r);
      expect(lp[0]).toBeCloseTo(-0.5 * (r.reduce((a, b) => a + b * b, 0) / r.length) - Math.log(s) - HALF_LOG_2PI, 3);
      disposeAll(step, ref);
    }
    disposeAll(params, xt, cond);
  });

  it('eta = 1: every sampled transition of ddimSample is mu_theta(x_t) plus s_t times standard normal noise', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    const params = toyParams(backend);
    const cond = makeCond();
    const xT = T.normal(T.key(13), shape, { backend });
    const r = ddimSample(toyModel, params, cond, T.key(12), { plan, xT });
    const residuals: number[] = [];
    for (let j = 0; j < plan.steps; j++) {
      const mu = ddimMean(toyModel, params, plan, j, r.xs[j], cond);
      const [next, mean] = await Promise.all([host(r.xs[j + 1]), host(mu.mean)]);
      next.forEach((x, i) => residuals.push((x - mean[i]) / plan.sigmas[j]));
      disposeAll(mu);
    }
    expectStandardNormal(residuals);
    disposeAll(r, xT, params, cond);
  });

  it('the log-probs ddimSample records equal ddimLogProb recomputed under the same params, and differ under perturbed ones', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    const params = toyParams(backend);
    const perturbed = { ...params, b: T.add(params.b, 1) }; // shifts eps_theta by 1, the mean by about one sigma
    const cond = makeCond();
    // Without clipping every step's mean depends on the params; with it, pixels whose x0Hat is
    // clipped do not (common at the noisiest steps of this untrained toy), so only some steps move.
    for (const clipX0 of [false, true]) {
      const r = ddimSample(toyModel, params, cond, T.key(14), { plan, clipX0 });
      expect(r.logProbs.length).toBe(10);
      let largestMove = 0;
      for (let j = 0; j < plan.steps; j++) {
        expect(r.logProbs[j].shape).toEqual([2]);
        const same = ddimLogProb(toyModel, params, plan, j, r.xs[j], r.xs[j + 1], cond, { clipX0 });
        const other = ddimLogProb(toyModel, perturbed, plan, j, r.xs[j], r.xs[j + 1], cond, { clipX0 });
        const [sampled, again, moved] = await Promise.all([r.logProbs[j], same, other].map(host));
        sampled.forEach((v, b) => {
          expect(Math.abs(again[b] - v), `step ${j} sample ${b}`).toBeLessThan(1e-5 * Math.max(1, Math.abs(v)));
          if (!clipX0) expect(Math.abs(moved[b] - v), `step ${j} sample ${b}`).toBeGreaterThan(1e-2);
          largestMove = Math.max(largestMove, Math.abs(moved[b] - v));
        });
        disposeAll(same, other);
      }
      expect(largestMove).toBeGreaterThan(1e-3);
      disposeAll(r);
    }
    disposeAll(params, perturbed.b, cond);
  });

  it('keepTrajectory false returns only the final sample, equal to the kept run', async () => {
    const plan = ddimPlan(schedule, { steps: 5, eta: 1 });
    const params = toyParams(backend);
    const cond = makeCond();
    const kept = ddimSample(toyModel, params, cond, T.key(15), { plan });
    const lean = ddimSample(toyModel, params, cond, T.key(15), { plan, keepTrajectory: false });
    expect(lean.xs).toEqual([]);
    expect(lean.logProbs.length).toBe(5);
    expect(await host(lean.x0)).toEqual(await host(kept.x0));
    disposeAll(kept, lean, params, cond);
  });

  it('a full ddimSample inside a scope leaves memory unchanged, and so does disposing its results', () => {
    const plan = ddimPlan(schedule, { steps: 5, eta: 1 });
    const params = toyParams(backend);
    const cond = makeCond();
    const before = T.memory()[backend];
    T.scope(() => {
      ddimSample(toyModel, params, cond, T.key(16), { plan });
    });
    expect(T.memory()[backend]).toEqual(before);
    const r = ddimSample(toyModel, params, cond, T.key(16), { plan });
    expect(T.memory()[backend].tensors).toBe(before.tensors + 6 + 5); // xs and logProbs; x0 is xs[5]
    disposeAll(r);
    expect(T.memory()[backend]).toEqual(before);
    disposeAll(params, cond);
  });

  it('sampling inside valueAndGrad contributes no gradient (params pass through stopGradient)', async () => {
    const plan = ddimPlan(schedule, { steps: 5, eta: 1 });
    const params = toyParams(backend);
    const cond = makeCond();
    const [value, grads] = T.valueAndGrad((p: ToyParams) =>
      T.sum(ddimSample(toyModel, p, cond, T.key(17), { plan }).x0),
    )(params);
    for (const g of T.treeLeaves(grads)) expect((await host(g)).every((v) => v === 0)).toBe(true);
    disposeAll(value, grads, params, cond);
  });
});

describe('DDIM across backends', () => {
  it('WebGPU and CPU give the same trajectory and log-probs from the same key and params (float32 tolerance)', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    const run = (backend: 'cpu' | 'webgpu') => {
      const params = toyParams(backend);
      const cond = T.uniform(T.key(21), [2, 2, 4, 4], { min: -1, max: 1, backend });
      const r = ddimSample(toyModel, params, cond, T.key(18), { plan });
      disposeAll(params, cond);
      return r;
    };
    const cpu = run('cpu');
    const gpu = run('webgpu');
    for (let j = 0; j <= plan.steps; j++) {
      const [c, g] = await Promise.all([host(cpu.xs[j]), host(gpu.xs[j])]);
      c.forEach((v, i) =>
        expect(Math.abs(g[i] - v), `state ${j} element ${i}`).toBeLessThan(1e-4 + 1e-4 * Math.abs(v)),
      );
    }
    for (let j = 0; j < plan.steps; j++) {
      const [c, g] = await Promise.all([host(cpu.logProbs[j]), host(gpu.logProbs[j])]);
      c.forEach((v, b) => expect(Math.abs(g[b] - v), `log-prob ${j}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(v))));
    }
    disposeAll(cpu, gpu);
  });
});

describe('ddimLogProb gradients', () => {
  it('passes checkGrad w.r.t. the toy params in float64 on the CPU, with and without clipping x0Hat', async () => {
    const plan = ddimPlan(schedule, { steps: 10, eta: 1 });
    const opts = { backend: 'cpu' as const, dtype: 'float64' as const };
    const p = toyParams('cpu', 'float64');
    const xt = T.mul(T.normal(T.key(40), [2, 2, 3, 3], opts), 1.1);
    const xPrev = T.normal(T.key(41), [2, 2, 3, 3], opts);
    const cond = T.uniform(T.key(42), [2, 2, 3, 3], { ...opts, min: -1, max: 1 });
    for (const clipX0 of [true, false]) {
      for (const j of [0, 8]) {
        const f = (wx: Tensor, wc: Tensor, wt: Tensor, b: Tensor) =>
          ddimLogProb(toyModel, { wx, wc, wt, b }, plan, j, xt, xPrev, cond, { clipX0 });
        const report = await T.checkGrad(f, [p.wx, p.wc, p.wt, p.b]);
        expect(report.ok, `step ${j}, clipX0 ${clipX0}: ${report.message}`).toBe(true);
      }
    }
    disposeAll(p, xt, xPrev, cond);
  });
});

describe('DDIM errors', () => {
  const plan: DdimPlan = ddimPlan(schedule, { steps: 10, eta: 1 });

  it('name the function, the value received and the fix', () => {
    const before = T.memory().cpu.tensors;
    T.scope(() => {
      const params = toyParams('cpu');
      const x = T.zeros([2, 2, 4, 4], { backend: 'cpu' });
      expect(() => ddimMean(toyModel, params, plan, 10, x, x)).toThrow(
        /ddimMean: step index j = 10 is out of range for a plan of 10 steps; use 0\.\.9/,
      );
      expect(() => ddimMean(toyModel, params, plan, -1, x, x)).toThrow(T.ShapeError);
      expect(() => ddimLogProb(toyModel, params, plan, 1.5, x, x, x)).toThrow(/j = 1.5/);
      expect(() => ddimMean(toyModel, params, plan, 0, x, T.zeros([3, 2, 4, 4], { backend: 'cpu' }))).toThrow(
        /ddimMean: cond \[3, 2, 4, 4\] and xt \[2, 2, 4, 4\] must have the same batch size/,
      );
      expect(() => ddimLogProb(toyModel, params, plan, 0, x, T.zeros([2, 2, 4, 5], { backend: 'cpu' }), x)).toThrow(
        /ddimLogProb: xPrev \[2, 2, 4, 5\] must have the shape of xt \[2, 2, 4, 4\]/,
      );
      expect(() => ddimMean(toyModel, params, plan, 0, T.zeros([2, 2], { dtype: 'int32', backend: 'cpu' }), x)).toThrow(
        T.DTypeError,
      );
      const eta0 = ddimPlan(schedule, { steps: 10, eta: 0 });
      expect(() => ddimLogProb(toyModel, params, eta0, 3, x, x, x)).toThrow(
        /ddimLogProb: step 3 .* has sigma 0 .*no log-prob\. Sample with eta > 0/,
      );
      const offset0 = ddimPlan(schedule, { steps: 10, eta: 1, stepsOffset: 0 });
      expect(() => ddimSample(toyModel, params, x, T.key(0), { plan: offset0 })).toThrow(
        /ddimSample: log-probs need every step's sigma > 0, but step 9 .*logProbs: false/,
      );
      const r = ddimSample(toyModel, params, x, T.key(0), { plan: offset0, logProbs: false });
      expect(r.logProbs).toEqual([]);
      const badModel = (_p: unknown, xt: Tensor) => T.sum(xt, { axis: 1 });
      expect(() => ddimMean(badModel, {}, plan, 0, x, x)).toThrow(
        /ddimMean: the eps model returned \[2, 4, 4\] for x_t \[2, 2, 4, 4\]/,
      );
      expect(() =>
        ddimSample(toyModel, params, x, T.key(0), { plan, xT: T.zeros([3, 2, 4, 4], { backend: 'cpu' }) }),
      ).toThrow(/ddimSample: cond .* and xT .* same batch size/);
      expect(() => ddimSample(toyModel, params, x, 5 as unknown as T.PRNGKey, { plan })).toThrow(
        /ddimSample: expected a PRNGKey/,
      );
      expect(() => ddimSample(toyModel, params, x, T.key(0), {} as { plan: DdimPlan })).toThrow(/expected a DdimPlan/);
    });
    expect(T.memory().cpu.tensors).toBe(before);
  });
});
