// The LRPO objective as specifications: group advantages (unbiased batch std), noise-level
// weights and per-step advantages, the PPO-clip loss (values, where its gradient is zero,
// checkGrad), the GT-guided likelihood term, the Gaussian KL, the composed step loss, the
// config and its ablation presets; the tensor losses agree on WebGPU and CPU and leak nothing.
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { checkGrad, grad, memory, scope, tensor, valueAndGrad, type DType, type Tensor } from '../src/index.js';
import {
  ABLATIONS,
  DEFAULT_REWARD_WEIGHTS,
  decodeLrpoConfig,
  validateLrpoConfig,
  gaussianKl,
  groupAdvantages,
  gtLikelihoodLoss,
  gtSteps,
  LRPO_DEFAULTS,
  LrpoConfigError,
  lrpoConfig,
  lrpoLoss,
  noiseLevelWeights,
  ppoClipLoss,
  ppoDiagnostics,
  stepAdvantages,
  stepColumn,
  trainedSteps,
} from '../src/lrpo.js';
import { expectClose, runOnBoth, useBackends } from './support/backends.js';

useBackends();

/** A float64 CPU tensor (float32 or WebGPU when told). */
const t64 = (
  values: readonly number[],
  shape: readonly number[] = [values.length],
  dtype: DType = 'float64',
  backend: 'cpu' | 'webgpu' = 'cpu',
): Tensor => tensor(Float64Array.from(values), { shape: [...shape], dtype, backend });
const read = async (x: Tensor): Promise<number[]> => {
  const v = Array.from(await x.data());
  x.dispose();
  return v;
};
const expectAll = (got: ArrayLike<number>, want: readonly number[], digits = 12): void => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i], `element ${i}`).toBeCloseTo(w, digits));
};

describe('groupAdvantages', () => {
  // Two groups of K = 3: means 2 and 6; batch deviations -3 -2 -1 0 2 4 (sum of squares 34).
  const rewards = [1, 2, 3, 4, 6, 8];

  it('divides group-centred rewards by the UNBIASED std of the whole batch plus 1e-4', () => {
    const std = Math.sqrt(34 / 5); // torch's .std(): n - 1
    const a = groupAdvantages(rewards, { groupSize: 3 });
    expect(a).toBeInstanceOf(Float64Array);
    expectAll(
      a,
      [-1, 0, 1, -2, 0, 2].map((d) => d / (std + 1e-4)),
    );
    expect(a[2]).not.toBeCloseTo(1 / (Math.sqrt(34 / 6) + 1e-4), 6); // not the population std
  });

  it("uses each group's own unbiased std with useBatchStd: false (GRPO-style)", () => {
    const a = groupAdvantages(Float64Array.from(rewards), { groupSize: 3, useBatchStd: false });
    expectAll(a, [-1 / 1.0001, 0, 1 / 1.0001, -2 / 2.0001, 0, 2 / 2.0001]);
  });

  it('takes stdEps, and all-equal rewards give zero advantages', () => {
    expectAll(
      groupAdvantages(rewards, { groupSize: 3, stdEps: 1 }),
      [-1, 0, 1, -2, 0, 2].map((d) => d / (Math.sqrt(6.8) + 1)),
    );
    expectAll(groupAdvantages([0.5, 0.5, 0.5, 0.5], { groupSize: 2 }), [0, 0, 0, 0]);
  });

  it('sums to zero within every group', () => {
    const a = groupAdvantages([0.1, 0.7, 0.3, 0.9, 0.2, 0.25, 0.4, 0.8, 0.6], { groupSize: 3 });
    for (let g = 0; g < 9; g += 3) expect(a[g] + a[g + 1] + a[g + 2]).toBeCloseTo(0, 12);
  });

  it('rejects a length not divisible by K, K < 2 and non-finite rewards (naming the index)', () => {
    expect(() => groupAdvantages([1, 2, 3, 4, 5], { groupSize: 3 })).toThrow(/5 rewards do not split into groups of 3/);
    expect(() => groupAdvantages([], { groupSize: 3 })).toThrow(/0 rewards/);
    expect(() => groupAdvantages([1, 2], { groupSize: 1 })).toThrow(LrpoConfigError);
    expect(() => groupAdvantages([1, 2], { groupSize: 1 })).toThrow(/groupSize is 1; expected an integer >= 2/);
    expect(() => groupAdvantages([1, 2], { groupSize: 2.5 })).toThrow(/groupSize is 2.5/);
    expect(() => groupAdvantages([1, 2, 3, NaN], { groupSize: 2 })).toThrow(/reward 3 \(group 1, candidate 1\) is NaN/);
    expect(() => groupAdvantages([Infinity, 2], { groupSize: 2 })).toThrow(/reward 0 .* is Infinity/);
    expect(() => groupAdvantages([1, 2], { groupSize: 2, stdEps: 0 })).toThrow(/stdEps is 0/);
  });
});

describe('noise-level advantage assignment', () => {
  it('noiseLevelWeights: w_j = s_j / mean s, so the weights average to 1', () => {
    const w = noiseLevelWeights([1, 2, 3]);
    expectAll(w, [0.5, 1, 1.5]);
    const w2 = noiseLevelWeights([0.3, 0.11, 0.05, 0.02]);
    expect(w2.reduce((a, b) => a + b, 0) / 4).toBeCloseTo(1, 14);
  });

  it('noiseLevelWeights rejects empty lists and zero, negative or non-finite sigmas', () => {
    expect(() => noiseLevelWeights([])).toThrow(/at least one trained step/);
    expect(() => noiseLevelWeights([0.2, 0])).toThrow(/sigma 1 is 0; every trained step's s_t must be finite and > 0/);
    expect(() => noiseLevelWeights([-1])).toThrow(/sigma 0 is -1/);
    expect(() => noiseLevelWeights([NaN])).toThrow(/sigma 0 is NaN/);
  });

  it('stepAdvantages: A_ij = clip(A_i * w_j, -5, 5), row-major [samples][steps]', () => {
    const a = stepAdvantages([1, -2, 4], [0.5, 1, 1.5]);
    expectAll(a, [0.5, 1, 1.5, -1, -2, -3, 2, 4, 5]); // 4 * 1.5 = 6 clips to 5
    expectAll(stepColumn(a, 3, 2), [1.5, -3, 5]);
    expectAll(stepAdvantages([-4], [1.5, 1.25]), [-5, -5]);
  });

  it('stepAdvantages keeps values at the clip boundary and takes another clip', () => {
    expectAll(stepAdvantages([5, -5, 2.5], [1]), [5, -5, 2.5]);
    expectAll(stepAdvantages([3, -3], [1, 2], { clip: 2 }), [2, 2, -2, -2]);
    expectAll(stepAdvantages([30], [1, 2], { clip: Infinity }), [30, 60]);
  });

  it('stepAdvantages with weights null (no noise-level ablation) repeats clip(A_i) over the steps', () => {
    expectAll(stepAdvantages([6, -7, 1], null, { steps: 2 }), [5, 5, -5, -5, 1, 1]);
    expect(() => stepAdvantages([1], null)).toThrow(/weights is null .* pass \{ steps \}/);
    expect(() => stepAdvantages([1], [1, 1], { steps: 3 })).toThrow(/steps is 3 but there are 2 weights/);
    expect(() => stepAdvantages([NaN], [1])).toThrow(/advantage 0 is NaN/);
    expect(() => stepAdvantages([1], [1], { clip: 0 })).toThrow(/clip is 0/);
    expect(() => stepColumn(new Float64Array(6), 4, 0)).toThrow(/6 values do not split into rows of 4/);
    expect(() => stepColumn(new Float64Array(6), 3, 3)).toThrow(/step 3 is out of range/);
  });
});

describe('ppoClipLoss', () => {
  it('is mean(max(-A rho, -A clip(rho, 1 - eps, 1 + eps))) (hand values, float64)', async () => {
    // eps 0.1: rho 1.05 inside; rho 0.8 with A > 0 and rho 1.2 with A < 0 unclipped; rho 1.3
    // with A > 0 and rho 0.7 with A < 0 clipped.
    const rho = [1.05, 0.8, 1, 1.2, 1.3, 0.7];
    const adv = [1, 1, -2, -1, 2, -3];
    const want = (-1.05 - 0.8 + 2 + 1.2 - 2 * 1.1 + 3 * 0.9) / 6;
    const old = [0.3, -0.2, 1, 0, 0.5, -1];
    const loss = ppoClipLoss(t64(rho.map((r, i) => Math.log(r) + old[i])), t64(old), t64(adv), { clipEps: 0.1 });
    expect(loss.shape).toEqual([]);
    expect((await read(loss))[0]).toBeCloseTo(want, 12);
  });

  it('at rho = 1 (the first, on-policy update) it is -mean(A) and its gradient is -A / N', async () => {
    const lp = t64([0.1, -0.4, 0.7]);
    const adv = t64([1, -0.5, 2]);
    const [value, g] = valueAndGrad((x: Tensor) => ppoClipLoss(x, lp, adv))(lp);
    expect((await read(value))[0]).toBeCloseTo(-(1 - 0.5 + 2) / 3, 12);
    expectAll(await read(g), [-1 / 3, 0.5 / 3, -2 / 3]);
    [lp, adv].forEach((x) => x.dispose());
  });

  it('has zero gradient exactly where the clipped term wins (eps 1e-4, both signs of A)', async () => {
    const eps = 1e-4;
    // Inside: |log rho| = 5e-5 < eps; outside: |log rho| = 1e-2.
    const cases = [
      { name: 'A > 0, rho > 1 + eps (clipped)', logRho: 1e-2, a: 1.5, zero: true },
      { name: 'A > 0, rho < 1 - eps (not clipped)', logRho: -1e-2, a: 1.5, zero: false },
      { name: 'A < 0, rho < 1 - eps (clipped)', logRho: -1e-2, a: -0.7, zero: true },
      { name: 'A < 0, rho > 1 + eps (not clipped)', logRho: 1e-2, a: -0.7, zero: false },
      { name: 'A > 0, rho inside', logRho: 5e-5, a: 1.5, zero: false },
      { name: 'A < 0, rho inside', logRho: -5e-5, a: -0.7, zero: false },
    ];
    const old = t64(cases.map(() => -0.25));
    const adv = t64(cases.map((c) => c.a));
    const lpNew = t64(cases.map((c) => -0.25 + c.logRho));
    const [gNew, gOld, gAdv] = grad((n: Tensor, o: Tensor, a: Tensor) => ppoClipLoss(n, o, a, { clipEps: eps }), {
      argnums: [0, 1, 2],
    })(lpNew, old, adv);
    const g = await read(gNew);
    cases.forEach((c, i) => {
      if (c.zero) expect(Math.abs(g[i]), c.name).toBe(0);
      else expect(g[i], c.name).toBeCloseTo((-c.a * Math.exp(c.logRho)) / cases.length, 12);
    });
    // logProbOld and the advantages are constants of the loss.
    expect(await read(gOld)).toEqual(cases.map(() => 0));
    expect(await read(gAdv)).toEqual(cases.map(() => 0));
    [old, adv, lpNew].forEach((x) => x.dispose());
  });

  it('passes checkGrad in float64 away from the clip kinks', async () => {
    const old = t64([0.2, -0.1, 0.4, 0, -0.3, 0.05]);
    const adv = t64([1.2, -0.8, 0.5, -1.5, 2, -0.3]);
    // log rho = 0.05, -0.3, 0.25, -0.02, -0.15, 0.4 with eps 0.1: inside and both sides, all away from +-0.1.
    const lpNew = t64([0.25, -0.4, 0.65, -0.02, -0.45, 0.45]);
    const report = await checkGrad((x: Tensor) => ppoClipLoss(x, old, adv, { clipEps: 0.1 }), [lpNew]);
    expect(report.ok, report.message).toBe(true);
    [old, adv, lpNew].forEach((x) => x.dispose());
  });

  it('rejects mismatched lengths, non-vectors, integer dtypes and a bad clipEps', () => {
    const a = t64([0, 0]);
    const b = t64([0, 0, 0]);
    const m = t64([0, 0], [1, 2]);
    expect(() => ppoClipLoss(a, a, b)).toThrow(/ppoClipLoss: advantages has shape \[3\] but logProbNew has \[2\]/);
    expect(() => ppoClipLoss(m, m, m)).toThrow(/logProbNew has shape \[1, 2\]; expected a non-empty vector \[N\]/);
    const i32 = tensor([1, 2], { dtype: 'int32', backend: 'cpu' });
    expect(() => ppoClipLoss(a, i32, a)).toThrow(/logProbOld has dtype int32/);
    expect(() => ppoClipLoss(a, a, a, { clipEps: 0 })).toThrow(/clipEps is 0; expected a number in \(0, 1\)/);
    expect(() => ppoClipLoss(a, a, [1, 2] as never)).toThrow(/advantages must be a Tensor/);
    [a, b, m, i32].forEach((x) => x.dispose());
  });

  it('ppoDiagnostics reads back the approximate KL, the clip fraction and the ratio range', async () => {
    const d = [0.01, 0, -0.02, 0.00005];
    const lpNew = t64(d);
    const lpOld = t64([0, 0, 0, 0]);
    const r = await ppoDiagnostics(lpNew, lpOld);
    expect(r.approxKl).toBeCloseTo((0.5 * d.reduce((s, x) => s + x * x, 0)) / 4, 15);
    expect(r.clipFraction).toBe(0.5);
    expect(r.ratioMin).toBeCloseTo(Math.exp(-0.02), 15);
    expect(r.ratioMax).toBeCloseTo(Math.exp(0.01), 15);
    expect(r.ratioMean).toBeCloseTo(d.reduce((s, x) => s + Math.exp(x), 0) / 4, 15);
    [lpNew, lpOld].forEach((x) => x.dispose());
  });
});

describe('gtLikelihoodLoss', () => {
  it('is mean_b[1 - exp(logProbGt_b / 40)] (hand values)', async () => {
    const loss = gtLikelihoodLoss(t64([0, 40, -40]));
    expect((await read(loss))[0]).toBeCloseTo((0 + (1 - Math.E) + (1 - 1 / Math.E)) / 3, 12);
    expect((await read(gtLikelihoodLoss(t64([2, -2]), { temperature: 2 })))[0]).toBeCloseTo(
      1 - (Math.E + 1 / Math.E) / 2,
      12,
    );
  });

  it('falls as the GT likelihood rises, with gradient -exp(l / tau) / (tau B)', async () => {
    const l = t64([-3, 1.5]);
    const g = await read(grad((x: Tensor) => gtLikelihoodLoss(x))(l));
    expectAll(g, [-Math.exp(-3 / 40) / 80, -Math.exp(1.5 / 40) / 80]);
    l.dispose();
  });

  it('passes checkGrad in float64', async () => {
    const l = t64([-3, 1.5, 0.2, -20]);
    const report = await checkGrad((x: Tensor) => gtLikelihoodLoss(x, { temperature: 7 }), [l]);
    expect(report.ok, report.message).toBe(true);
    l.dispose();
  });

  it('rejects a bad temperature and non-vectors', () => {
    const l = t64([0, 1]);
    expect(() => gtLikelihoodLoss(l, { temperature: 0 })).toThrow(/temperature is 0; expected a finite number > 0/);
    expect(() => gtLikelihoodLoss(t64([0, 1], [2, 1]))).toThrow(/logProbGt has shape \[2, 1\]/);
    l.dispose();
  });
});

describe('gaussianKl', () => {
  const p = [1, 2, 3, 4];
  const q = [0, 0, 3, 2];

  it('is mean over non-batch dims of (meanP - meanQ)^2 / (2 s^2), one value per sample', async () => {
    // sample 0: (1 + 4) / 2 = 2.5; sample 1: (0 + 4) / 2 = 2.
    expectAll(await read(gaussianKl(t64(p, [2, 2]), t64(q, [2, 2]), 2)), [2.5 / 8, 2 / 8]);
    expectAll(await read(gaussianKl(t64(p, [2, 2]), t64(q, [2, 2]), t64([1, 2]))), [2.5 / 2, 2 / 8]);
    expectAll(await read(gaussianKl(t64(p, [2, 1, 2]), t64(q, [2, 1, 2]), t64([0.5]))), [2.5 * 2, 2 * 2]);
    expectAll(await read(gaussianKl(t64([1, 3]), t64([0, 0]), 1)), [0.5, 4.5]);
  });

  it('matches the Gaussian log-density difference it stands for: E_P[log p - log q]', async () => {
    // For N(mp, s^2) and N(mq, s^2) the KL is (mp - mq)^2 / (2 s^2) per dimension.
    const s = 0.3;
    const mp = 0.7;
    const mq = 0.4;
    // E_P[log p(x) - log q(x)] = E[((x - mq)^2 - (x - mp)^2) / (2 s^2)] with E[x] = mp, E[x^2] = mp^2 + s^2.
    const exact = (mp * mp + s * s - 2 * mq * mp + mq * mq - s * s) / (2 * s * s);
    expectAll(await read(gaussianKl(t64([mp], [1, 1]), t64([mq], [1, 1]), s)), [exact]);
  });

  it('passes checkGrad in float64 for both means and a per-sample sigma', async () => {
    const inputs = [t64([0.3, -1, 2, 0.5, 0.1, 0.2], [2, 3]), t64([0, -0.5, 1, 1, 0.4, -0.2], [2, 3]), t64([0.7, 1.3])];
    const report = await checkGrad((a: Tensor, b: Tensor, s: Tensor) => gaussianKl(a, b, s), inputs);
    expect(report.ok, report.message).toBe(true);
    inputs.forEach((x) => x.dispose());
  });

  it('rejects mismatched shapes, a bad sigma and a sigma vector of the wrong length', () => {
    const a = t64(p, [2, 2]);
    const b = t64(p, [4]);
    expect(() => gaussianKl(a, b, 1)).toThrow(/meanP \[2, 2\] and meanQ \[4\] must have one shape/);
    expect(() => gaussianKl(a, a, 0)).toThrow(/sigma is 0; expected a finite s_t > 0/);
    expect(() => gaussianKl(a, a, t64([1, 2, 3]))).toThrow(/sigma \[3\] is a vector but meanP \[2, 2\] has 2 samples/);
    expect(() => gaussianKl(a, a, t64([1, 2, 3, 4], [2, 2, 1]))).toThrow(/broadcasts meanP \[2, 2\] to \[2, 2, 2\]/);
    [a, b].forEach((x) => x.dispose());
  });
});

describe('lrpoLoss', () => {
  const config = lrpoConfig({ klWeight: 0.5 });
  const inputs = () => ({
    logProbNew: t64([0.3, -0.2, 0.1, 0]),
    logProbOld: t64([0.3, -0.2, 0.1, 0]),
    advantages: t64([1, -1, 0.5, -0.5]),
    logProbGt: t64([-4, 2]),
    klTerm: t64([0.1, 0.3, 0.2, 0]),
  });

  it('is policy + 0.001 L_GT + klWeight mean(KL) on a GT step, and reports each part', async () => {
    const x = inputs();
    const { loss, terms } = lrpoLoss({ ...x, config, gtSteps: 1 });
    const policy = -(1 - 1 + 0.5 - 0.5) / 4;
    const gt = 1 - (Math.exp(-4 / 40) + Math.exp(2 / 40)) / 2;
    const kl = 0.15;
    expect((await read(terms.policy))[0]).toBeCloseTo(policy, 12);
    expect((await read(terms.gt))[0]).toBeCloseTo(gt, 12);
    expect((await read(terms.kl))[0]).toBeCloseTo(kl, 12);
    expect((await read(loss))[0]).toBeCloseTo(policy + 0.001 * gt + 0.5 * kl, 12);
    Object.values(x).forEach((t) => t.dispose());
  });

  it('leaves L_GT out off the GT steps and when gtRegularization is off (the grpo preset), and KL at weight 0', async () => {
    const x = inputs();
    const off = lrpoLoss({ ...x, config: lrpoConfig(), gtSteps: 0 });
    expect((await read(off.terms.gt))[0]).toBe(0);
    expect((await read(off.terms.kl))[0]).toBe(0);
    expect((await read(off.loss))[0]).toBeCloseTo((await read(off.terms.policy))[0], 14);
    const grpo = lrpoLoss({
      logProbNew: x.logProbNew,
      logProbOld: x.logProbOld,
      advantages: x.advantages,
      config: lrpoConfig(ABLATIONS.grpo),
      gtSteps: 1,
    });
    expect((await read(grpo.terms.gt))[0]).toBe(0);
    [grpo.loss, grpo.terms.policy, grpo.terms.kl].forEach((t) => t.dispose());
    Object.values(x).forEach((t) => t.dispose());
  });

  it('differentiates through every enabled term (valueAndGrad with aux)', async () => {
    const x = inputs();
    const f = (lpNew: Tensor, lpGt: Tensor) => {
      const r = lrpoLoss({ ...x, logProbNew: lpNew, logProbGt: lpGt, config, gtSteps: 1 });
      return [r.loss, r.terms] as const;
    };
    const [[value, terms], [gNew, gGt]] = valueAndGrad(f, { argnums: [0, 1], hasAux: true })(x.logProbNew, x.logProbGt);
    expectAll(await read(gNew), [-1 / 4, 1 / 4, -0.5 / 4, 0.5 / 4]);
    expectAll(await read(gGt), [(-0.001 * Math.exp(-4 / 40)) / 80, (-0.001 * Math.exp(2 / 40)) / 80]);
    [value, terms.policy, terms.gt, terms.kl].forEach((t) => t.dispose());
    Object.values(x).forEach((t) => t.dispose());
  });

  it('over several trained steps is the mean of the per-step losses (GT weighted by gtSteps / steps)', async () => {
    // Two trained steps of two samples: rows 0-1 are step 0, rows 2-3 step 1, the one GT step.
    const made: Tensor[] = [];
    const rows = (v: readonly number[], from: number, n: number) => {
      const t = t64(v.slice(from, from + n));
      made.push(t);
      return t;
    };
    const columns = {
      logProbNew: [0.31, -0.2, 0.12, -0.01],
      logProbOld: [0.3, -0.2, 0.1, 0],
      advantages: [1, -1, 0.5, -0.5],
      klTerm: [0.1, 0.3, 0.2, 0],
    };
    const inputsOf = (from: number, n: number) => ({
      logProbNew: rows(columns.logProbNew, from, n),
      logProbOld: rows(columns.logProbOld, from, n),
      advantages: rows(columns.advantages, from, n),
      klTerm: rows(columns.klTerm, from, n),
    });
    const logProbGt = rows([-4, 2], 0, 2);
    const both = lrpoLoss({ ...inputsOf(0, 4), logProbGt, config, steps: 2, gtSteps: 1 });
    const first = lrpoLoss({ ...inputsOf(0, 2), config, gtSteps: 0 });
    const last = lrpoLoss({ ...inputsOf(2, 2), logProbGt, config, gtSteps: 1 });
    const [l, a, b] = [await read(both.loss), await read(first.loss), await read(last.loss)];
    expect(l[0]).toBeCloseTo((a[0] + b[0]) / 2, 14);
    expect((await read(both.terms.gt))[0]).toBeCloseTo((await read(last.terms.gt))[0], 14);
    [
      both.terms.policy,
      both.terms.kl,
      ...Object.values(first.terms),
      last.terms.policy,
      last.terms.kl,
      ...made,
    ].forEach((t) => t.dispose());
  });

  it('says which input is missing for an enabled term', () => {
    const x = inputs();
    const base = { logProbNew: x.logProbNew, logProbOld: x.logProbOld, advantages: x.advantages };
    expect(() => lrpoLoss({ ...base, klTerm: x.klTerm, config, gtSteps: 1 })).toThrow(
      /GT step.* logProbGt was not given/,
    );
    expect(() => lrpoLoss({ ...base, logProbGt: x.logProbGt, config, gtSteps: 0 })).toThrow(
      /klWeight is 0.5 but klTerm was not given/,
    );
    expect(() => lrpoLoss({ ...base, config: {} as never, gtSteps: 0 })).toThrow(/build one with lrpoConfig/);
    expect(() => lrpoLoss({ ...base, klTerm: x.klTerm, config, steps: 2, gtSteps: 3 })).toThrow(
      /gtSteps is 3; expected how many of the 2 trained steps/,
    );
    expect(() => lrpoLoss({ ...base, klTerm: x.klTerm, config, steps: 0, gtSteps: 0 })).toThrow(/steps is 0/);
    Object.values(x).forEach((t) => t.dispose());
  });
});

describe('WebGPU agrees with the CPU (float32)', () => {
  const f32 = (v: readonly number[], shape: readonly number[] = [v.length]) => ({ values: v.map(Math.fround), shape });
  // log rho = new - old: inside (|.| < 1e-4 with room), and outside on both sides.
  const old = [0.5, -1.25, 2, 0.75, -0.5, 1, 0.25, -2];
  const logRho = [0.00002, -0.00003, 0.01, -0.01, 0.02, -0.05, 0, 0.3];
  const adv = [1.5, -0.75, 2, -1, -0.5, 0.8, 3, -4];

  it('ppoClipLoss, and its gradient', async () => {
    const args = [f32(old.map((o, i) => o + logRho[i])), f32(old), f32(adv)];
    expectClose(await runOnBoth(args, (n, o, a) => ppoClipLoss(n, o, a)), { rtol: 1e-5, atol: 1e-6 });
    expectClose(await runOnBoth(args, (n, o, a) => grad((x: Tensor) => ppoClipLoss(x, o, a))(n)), {
      rtol: 1e-5,
      atol: 1e-6,
    });
  });

  it('gtLikelihoodLoss and gaussianKl', async () => {
    expectClose(await runOnBoth([f32([-3, 1.5, 0.2, -20])], (l) => gtLikelihoodLoss(l)), { rtol: 1e-5, atol: 1e-6 });
    const p = f32([0.3, -1, 2, 0.5, 0.1, 0.2, 0.9, -0.4], [2, 1, 2, 2]);
    const q = f32([0, -0.5, 1, 1, 0.4, -0.2, 0.8, 0], [2, 1, 2, 2]);
    expectClose(await runOnBoth([p, q, f32([0.7, 0.05])], (a, b, s) => gaussianKl(a, b, s)), {
      rtol: 1e-5,
      atol: 1e-6,
    });
  });

  it('lrpoLoss with every term on', async () => {
    const config = lrpoConfig({ klWeight: 0.1, gtRegularization: { weight: 0.5 } });
    const args = [
      f32(old.map((o, i) => o + logRho[i])),
      f32(old),
      f32(adv),
      f32([-4, 2, 0.5, -1]),
      f32([0.1, 0.2, 0, 0.4, 1, 0.3, 0.2, 0.1]),
    ];
    expectClose(
      await runOnBoth(
        args,
        (n, o, a, g, k) =>
          lrpoLoss({ logProbNew: n, logProbOld: o, advantages: a, logProbGt: g, klTerm: k, config, gtSteps: 1 }).loss,
      ),
      { rtol: 1e-5, atol: 1e-6 },
    );
  });
});

describe('memory', () => {
  it('every tensor function and the step loss gradient leave no live tensors behind inside a scope', async () => {
    for (const backend of ['cpu', 'webgpu'] as const) {
      const dtype = 'float32';
      const lp = t64([0.1, -0.2, 0.3, 0], [4], dtype, backend);
      const adv = t64([1, -1, 0.5, 2], [4], dtype, backend);
      const gt = t64([-2, 1], [2], dtype, backend);
      const means = t64([1, 2, 3, 4, 5, 6, 7, 8], [4, 2], dtype, backend);
      const config = lrpoConfig({ klWeight: 0.1 });
      const before = memory();
      scope(() => {
        ppoClipLoss(lp, lp, adv);
        gtLikelihoodLoss(gt);
        gaussianKl(means, means, 0.5);
        const kl = gaussianKl(means, means, 0.5);
        lrpoLoss({ logProbNew: lp, logProbOld: lp, advantages: adv, logProbGt: gt, klTerm: kl, config, gtSteps: 1 });
        valueAndGrad(
          (x: Tensor) =>
            lrpoLoss({ logProbNew: x, logProbOld: lp, advantages: adv, logProbGt: gt, klTerm: kl, config, gtSteps: 1 })
              .loss,
        )(lp);
      });
      await ppoDiagnostics(lp, lp);
      expect(memory()[backend], backend).toEqual(before[backend]);
      [lp, adv, gt, means].forEach((x) => x.dispose());
    }
  });
});

describe('lrpoConfig', () => {
  it('defaults to the paper: K 9, clip 1e-4, advantage clip 5, GT weight 0.001 / tau 40 / last 5 steps, beta 0, S 50, eta 1, grad clip 1', () => {
    const c = lrpoConfig();
    expect(c).toEqual(LRPO_DEFAULTS);
    expect(c).toMatchObject({
      groupSize: 9,
      clipEps: 1e-4,
      advantageClip: 5,
      advantageStdEps: 1e-4,
      batchStd: true,
      noiseLevelWeighting: true,
      klWeight: 0,
      trainLastStep: false,
      gtRegularization: { enabled: true, weight: 0.001, temperature: 40, lastSteps: 5 },
      sampling: { steps: 50, eta: 1 },
      optimizer: { gradClip: 1 },
    });
  });

  it('merges overrides field by field, in order, and returns a deep-frozen copy', () => {
    const overrides = { groupSize: 4, sampling: { steps: 10 } };
    const c = lrpoConfig(overrides, { gtRegularization: { lastSteps: 2 } }, { groupSize: 5 });
    expect(c.groupSize).toBe(5);
    expect(c.sampling).toEqual({ steps: 10, eta: 1 });
    expect(c.gtRegularization).toEqual({ enabled: true, weight: 0.001, temperature: 40, lastSteps: 2 });
    expect(Object.isFrozen(c) && Object.isFrozen(c.sampling) && Object.isFrozen(c.gtRegularization)).toBe(true);
    expect(() => {
      (c as { groupSize: number }).groupSize = 3;
    }).toThrow(TypeError);
    (overrides.sampling as { steps: number }).steps = 99;
    expect(c.sampling.steps).toBe(10);
  });

  it('names the field, the value and the allowed range in its errors', () => {
    const err = (o: object) => () => lrpoConfig(o as never);
    expect(err({ groupSize: 1 })).toThrow(LrpoConfigError);
    expect(err({ groupSize: 1 })).toThrow(/groupSize is 1; expected an integer >= 2/);
    expect(err({ clipEps: 1 })).toThrow(/clipEps is 1; expected a number in \(0, 1\)/);
    expect(err({ advantageClip: 0 })).toThrow(/advantageClip is 0; expected a number > 0 \(Infinity switches it off\)/);
    expect(err({ klWeight: -0.1 })).toThrow(/klWeight is -0.1; expected a finite number >= 0/);
    expect(err({ noiseLevelWeighting: 'yes' })).toThrow(/noiseLevelWeighting is "yes"; expected true or false/);
    expect(err({ gtRegularization: { temperature: 0 } })).toThrow(
      /gtRegularization.temperature is 0; expected a finite number > 0/,
    );
    expect(err({ sampling: { eta: 0 } })).toThrow(/sampling.eta is 0; expected a number in \(0, 1\]/);
    expect(err({ optimizer: { lr: NaN } })).toThrow(/optimizer.lr is NaN/);
    expect(err({ sampling: 5 })).toThrow(/sampling must be a record of fields, got 5/);
    expect(err({ groupsize: 4 })).toThrow(/unknown field "groupsize"; the fields are groupSize/);
    expect(err({ sampling: { step: 4 } })).toThrow(
      /unknown field "sampling.step"; the fields of sampling are steps, eta/,
    );
    expect(err({ sampling: { steps: 1 } })).toThrow(
      /sampling.steps is 1 with trainLastStep false, which leaves no step to train/,
    );
    expect(err({ sampling: { steps: 4 } })).toThrow(
      /gtRegularization.lastSteps is 5 but only 3 step\(s\) are trained .* expected an integer in 1..3/,
    );
    expect(() => lrpoConfig({ sampling: { steps: 4 }, gtRegularization: { enabled: false } })).not.toThrow();
    expect(err({ rewardWeights: { wavelet: -1 } })).toThrow(
      /rewardWeights.wavelet is -1; expected a finite number >= 0/,
    );
    expect(err({ rewardWeights: { lpips: 1 } })).toThrow(
      /unknown field "rewardWeights.lpips"; the fields of rewardWeights are identity, perceptual, noReference, wavelet/,
    );
    expect(err({ rewardWeights: { identity: 0, perceptual: 0, noReference: 0, wavelet: 0 } })).toThrow(
      /rewardWeights are all 0 .*give at least one term a weight > 0/,
    );
  });

  it("carries the reward's term weights: the paper's by default, any subset overridden", () => {
    expect(lrpoConfig().rewardWeights).toEqual({ identity: 0.3, perceptual: 0.3, noReference: 0.1, wavelet: 0.3 });
    expect(DEFAULT_REWARD_WEIGHTS).toEqual(lrpoConfig().rewardWeights);
    expect(lrpoConfig({ rewardWeights: { noReference: 0 } }).rewardWeights).toEqual({
      identity: 0.3,
      perceptual: 0.3,
      noReference: 0,
      wavelet: 0.3,
    });
  });

  it('decodeLrpoConfig returns Right for a good config and Left with the error for a bad one', () => {
    const good = decodeLrpoConfig({ groupSize: 3 });
    expect(E.isRight(good) && good.right.groupSize).toBe(3);
    const bad = decodeLrpoConfig({ clipEps: -1 });
    expect(E.isLeft(bad) && bad.left).toBeInstanceOf(LrpoConfigError);
    expect(E.isLeft(decodeLrpoConfig('nope'))).toBe(true);
  });

  it('collects every problem of a config, not just the first', () => {
    const ranges = validateLrpoConfig({ groupSize: 1, clipEps: 2, sampling: { eta: 0 } });
    expect(E.isLeft(ranges) && ranges.left.map((p) => [p.field, p.value])).toEqual([
      ['groupSize', 1],
      ['clipEps', 2],
      ['sampling.eta', 0],
    ]);
    // The checks between the step fields run whenever those fields are in range, whatever the others hold.
    const steps = validateLrpoConfig({ clipEps: 2, sampling: { steps: 4 } });
    expect(E.isLeft(steps) && steps.left.map((p) => p.field)).toEqual(['clipEps', 'gtRegularization.lastSteps']);
    // Shape problems of several overrides are collected too (the ranges are checked once the shape is right).
    const shape = validateLrpoConfig({ groupsize: 4 }, { sampling: { step: 4 } }, { optimizer: 3 });
    expect(E.isLeft(shape) && shape.left.map((p) => p.field)).toEqual(['groupsize', 'sampling.step', 'optimizer']);
    let thrown: unknown;
    try {
      lrpoConfig({ groupSize: 1, klWeight: -1 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(LrpoConfigError);
    expect((thrown as LrpoConfigError).message).toMatch(
      /^lrpoConfig: 2 problems:\n {2}- groupSize is 1; expected an integer >= 2 .*\n {2}- klWeight is -1; expected a finite number >= 0\.$/,
    );
    expect((thrown as LrpoConfigError).problems.map((p) => p.expected)).toEqual([
      'an integer >= 2 (a group needs two candidates to compare)',
      'a finite number >= 0',
    ]);
    const decoded = decodeLrpoConfig({ groupSize: 1, klWeight: -1 });
    expect(E.isLeft(decoded) && decoded.left.problems.length).toBe(2);
    expect(E.isRight(validateLrpoConfig(ABLATIONS.grpo, { groupSize: 3 }))).toBe(true);
  });

  it('ABLATIONS switch exactly the noise-level and GT-regularization components', () => {
    const pick = (name: keyof typeof ABLATIONS) => {
      const c = lrpoConfig(
        { noiseLevelWeighting: false, gtRegularization: { enabled: false, weight: 0.01 } },
        ABLATIONS[name],
      );
      return { noise: c.noiseLevelWeighting, gt: c.gtRegularization.enabled, weight: c.gtRegularization.weight };
    };
    expect(pick('grpo')).toEqual({ noise: false, gt: false, weight: 0.01 });
    expect(pick('noiseLevel')).toEqual({ noise: true, gt: false, weight: 0.01 });
    expect(pick('gtReg')).toEqual({ noise: false, gt: true, weight: 0.01 });
    expect(pick('lrpo')).toEqual({ noise: true, gt: true, weight: 0.01 });
    expect(pick('shuffled')).toEqual({ noise: false, gt: false, weight: 0.01 });
    expect(lrpoConfig({ shuffleRewards: true }, ABLATIONS.lrpo).shuffleRewards).toBe(false);
    expect(lrpoConfig(ABLATIONS.shuffled).shuffleRewards).toBe(true);
    // Nothing else changes.
    const { noiseLevelWeighting: _n, gtRegularization: _g, shuffleRewards: _s, ...rest } = lrpoConfig(ABLATIONS.grpo);
    const { noiseLevelWeighting: _n2, gtRegularization: _g2, shuffleRewards: _s2, ...defaults } = LRPO_DEFAULTS;
    expect(rest).toEqual(defaults);
    expect(Object.isFrozen(ABLATIONS.grpo)).toBe(true);
  });

  it('trainedSteps leaves out the last step; gtSteps are the last lastSteps of them', () => {
    const c = lrpoConfig({ sampling: { steps: 8 }, gtRegularization: { lastSteps: 3 } });
    expect(trainedSteps(c)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(gtSteps(c)).toEqual([4, 5, 6]);
    expect(
      trainedSteps(lrpoConfig({ sampling: { steps: 3 }, trainLastStep: true, gtRegularization: { lastSteps: 1 } })),
    ).toEqual([0, 1, 2]);
    expect(gtSteps(lrpoConfig(ABLATIONS.grpo))).toEqual([]);
    expect(trainedSteps(lrpoConfig())).toHaveLength(49);
    expect(gtSteps(lrpoConfig())).toEqual([44, 45, 46, 47, 48]);
  });
});
