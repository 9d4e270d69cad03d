// Pins the numbers of short, deterministic SFT, LRPO and reward-backprop runs on the CPU backend
// (bit-exact there, unlike WebGPU whose tuned kernel choice varies by machine), so refactors of
// the training step, the fold and the objective keep `npm start`'s arithmetic unchanged.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { ABLATIONS, lrpoConfig } from '../src/lrpo/config.js';
import { rewardBackpropStep } from '../src/lrpo/reward-backprop.js';
import { initLrpoState, trainLrpo, type LrpoStepMetrics } from '../src/lrpo/train.js';
import type { UNetConfig } from '../src/models/unet.js';
import { syntheticPairs } from '../src/train/pairs.js';
import { initPolicyParams, policyOf } from '../src/train/policy.js';
import { DEFAULT_SFT_CONFIG, sftOptimizer, trainSft } from '../src/train/sft.js';
import { disposeState, initTrainState, type TrainState } from '../src/train/state.js';
import { useBackends } from './support/backends.js';

useBackends();

const MICRO: UNetConfig = { imageChannels: 3, baseChannels: 4, channelMults: [1, 2], numResBlocks: 1, attentionAtLowest: false, heads: 1, groups: 2, timeEmbedDim: 8 };
const policy = policyOf({ name: 'micro', unet: MICRO }, 8);
const reward = T.compositeReward({
  wavelet: { weight: 0.5, fn: (x, gt) => T.waveletFidelity(x, gt, { levels: 1 }) },
  closeness: { weight: 0.5, fn: (x, gt) => T.neg(T.mean(T.abs(T.sub(x, gt)), { axis: [1, 2, 3] })) },
});

/** Sum of every param element (float64 on the host): one number that moves with any update. */
async function paramSum(state: TrainState): Promise<number> {
  const leaves = await Promise.all(T.treeLeaves(state.params).map((t) => t.data()));
  return leaves.reduce((s, d) => s + Array.from(d).reduce((a, b) => a + b, 0), 0);
}

const lrpoNumbers = ({ liveTensors, liveBytes, ...m }: LrpoStepMetrics) => m;

async function lrpoRun(overrides: object, method?: Parameters<typeof trainLrpo>[4]) {
  const config = lrpoConfig({ groupSize: 3, inputsPerBatch: 2, sampling: { steps: 4, eta: 1 }, gtRegularization: { lastSteps: 2 }, optimizer: { lr: 1e-3 } }, overrides);
  const pairs = await syntheticPairs({ split: 'train', count: 8, size: 8 });
  const reference = config.klWeight > 0 ? initPolicyParams(policy, T.key(9), 'cpu') : undefined;
  const metrics: LrpoStepMetrics[] = [];
  const state = initLrpoState(config, initPolicyParams(policy, T.key(1), 'cpu'), 42);
  const final = await trainLrpo({ policy, config, reward, pairs, reference }, 2, state, { onStep: (m) => void metrics.push(m) }, method);
  const sum = await paramSum(final);
  disposeState(final);
  if (reference) T.disposeTree(reference);
  return { metrics: metrics.map(lrpoNumbers), paramSum: sum };
}

describe('pinned training numbers (CPU)', () => {
  it('SFT: three steps', async () => {
    const pairs = await syntheticPairs({ split: 'train', count: 8, size: 8 });
    const config = { ...DEFAULT_SFT_CONFIG, steps: 3, batchSize: 4, lr: 1e-2, warmupSteps: 1 };
    const steps: object[] = [];
    const state = initTrainState(sftOptimizer(config), initPolicyParams(policy, T.key(4), 'cpu'), 0);
    const final = await trainSft(policy, config, pairs, state, { onStep: (s) => void steps.push(s) });
    const sum = await paramSum(final);
    disposeState(final);
    expect({ steps, paramSum: sum }).toMatchInlineSnapshot(`
      {
        "paramSum": 125.62407939543482,
        "steps": [
          {
            "gradNorm": 0.43438515067100525,
            "loss": 1.0173858404159546,
            "lr": 0,
            "step": 1,
          },
          {
            "gradNorm": 0.5007026195526123,
            "loss": 0.9666965007781982,
            "lr": 0.010000000000000002,
            "step": 2,
          },
          {
            "gradNorm": 0.5042526125907898,
            "loss": 0.9613819122314453,
            "lr": 0.0055000000000000005,
            "step": 3,
          },
        ],
      }
    `);
  });

  it('LRPO: two steps with the GT term, two updates per batch and a subset of steps', async () => {
    expect(await lrpoRun({ ...ABLATIONS.lrpo, updatesPerBatch: 2, stepsPerUpdate: 2 })).toMatchInlineSnapshot(`
      {
        "metrics": [
          {
            "gradNorm": 0.05877278000116348,
            "gtLoss": 0.06937416642904282,
            "klLoss": 0,
            "loss": 0.00003469329385552555,
            "policyLoss": 6.2088170160734535e-9,
            "ratioDeviation": 0,
            "rewardMean": -0.08841909964879353,
            "rewardStd": 0.013857317084943341,
            "rewardTerms": {
              "closeness": -0.21461899330218634,
              "wavelet": 0.03778079835077127,
            },
            "step": 1,
          },
          {
            "gradNorm": 0.05987219884991646,
            "gtLoss": 0.0606098473072052,
            "klLoss": 0,
            "loss": 0.000030306167900562286,
            "policyLoss": 1.2417634698280722e-9,
            "ratioDeviation": 0,
            "rewardMean": -0.06851805870731671,
            "rewardStd": 0.007641001736555792,
            "rewardTerms": {
              "closeness": -0.1992811510960261,
              "wavelet": 0.062245034302274384,
            },
            "step": 2,
          },
        ],
        "paramSum": 118.41826191439213,
      }
    `);
  });

  it('LRPO: two steps with the KL term and shuffled rewards', async () => {
    expect(await lrpoRun({ ...ABLATIONS.shuffled, klWeight: 0.5 })).toMatchInlineSnapshot(`
      {
        "metrics": [
          {
            "gradNorm": 0.24876004457473755,
            "gtLoss": 0,
            "klLoss": 0,
            "loss": 0,
            "policyLoss": 0,
            "ratioDeviation": 0,
            "rewardMean": -0.08841909964879353,
            "rewardStd": 0.013857317084943341,
            "rewardTerms": {
              "closeness": -0.21461899330218634,
              "wavelet": 0.03778079835077127,
            },
            "step": 1,
          },
          {
            "gradNorm": 0.5125322937965393,
            "gtLoss": 0,
            "klLoss": 0.001901608775369823,
            "loss": 0.000950806075707078,
            "policyLoss": 1.7074247571358114e-9,
            "ratioDeviation": 0,
            "rewardMean": -0.06840080271164577,
            "rewardStd": 0.007690344148355956,
            "rewardTerms": {
              "closeness": -0.19908184806505838,
              "wavelet": 0.0622802438835303,
            },
            "step": 2,
          },
        ],
        "paramSum": 118.11238881358986,
      }
    `);
  });

  it('reward backprop: two steps', async () => {
    expect(await lrpoRun({}, rewardBackpropStep)).toMatchInlineSnapshot(`
      {
        "metrics": [
          {
            "gradNorm": 0.0007814904092811048,
            "gtLoss": 0,
            "klLoss": 0,
            "loss": 0.08869771907726924,
            "policyLoss": 0.08869771907726924,
            "ratioDeviation": 0,
            "rewardMean": -0.08869771907726924,
            "rewardStd": 0.011935664673000728,
            "rewardTerms": {},
            "step": 1,
          },
          {
            "gradNorm": 0.0011251064715906978,
            "gtLoss": 0,
            "klLoss": 0,
            "loss": 0.06659132180114587,
            "policyLoss": 0.06659132180114587,
            "ratioDeviation": 0,
            "rewardMean": -0.06659132180114587,
            "rewardStd": 0.006461931364810831,
            "rewardTerms": {},
            "step": 2,
          },
        ],
        "paramSum": 118.11558928029598,
      }
    `);
  });
});
