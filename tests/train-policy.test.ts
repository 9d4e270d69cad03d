// Acceptance (issue 5): the policy's training machinery on a micro UNet — checkpoints round-trip
// with their optimizer state and refuse what does not fit, SFT drives the loss down, a NaN loss
// stops training with earlier checkpoints intact, and the batched transitions equal ddimLogProb.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as T from '../src/index.js';
import { ddimLogProb, ddimPlan, ddimSample } from '../src/models/diffusion/ddim.js';
import { ddimTransitions } from '../src/models/diffusion/ddim-transitions.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { syntheticPairs } from '../src/train/pairs.js';
import { initPolicyParams, policyOf, restore } from '../src/train/policy.js';
import { openRun, RunDirError } from '../src/train/run-dir.js';
import { sftOptimizer, trainSft, DEFAULT_SFT_CONFIG } from '../src/train/sft.js';
import { disposeState, initTrainState } from '../src/train/state.js';
import { NonFiniteLossError } from '../src/train/step.js';
import { backendFor } from '../src/tensor/backends.js';
import { useBackends } from './support/backends.js';
import { MICRO_UNET_ATTENTION as MICRO } from './support/micro-policy.js';
import type { UNetParams } from '../src/models/unet.js';

useBackends();

const micro = () => policyOf({ name: 'micro', unet: MICRO }, 8);
const tmp = () => mkdtempSync(join(tmpdir(), 'lrpo-train-'));

describe('checkpoints', () => {
  it('round-trip params, optimizer moments, step and config bit-exactly', async () => {
    const policy = micro();
    const config = { ...DEFAULT_SFT_CONFIG, steps: 2, batchSize: 2 };
    const state = initTrainState(sftOptimizer(config), initPolicyParams(policy, T.key(1)), 0);
    const path = join(tmp(), 'a.safetensors');
    await saveCheckpoint(path, {
      info: { preset: policy.preset, unet: policy.unet, space: policy.space, stage: 'sft', step: 7, imageSize: 8 },
      params: state.params,
      optimizer: { ...state.opt, step: 7 },
    });
    const back = await loadCheckpoint(path);
    expect(back.info).toMatchObject({
      preset: 'micro',
      unet: MICRO,
      stage: 'sft',
      step: 7,
      imageSize: 8,
      space: policy.space,
    });
    expect(back.optimizer?.step).toBe(7);
    const a = T.treeLeaves(state.params);
    const b = T.treeLeaves(back.params);
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(await b[i].data()).toEqual(await a[i].data());
    disposeState(state);
    T.disposeTree([back.params, back.optimizer!.m, back.optimizer!.v]);
  });

  it('refuses a checkpoint of another preset or image size, naming both and the fix', async () => {
    const policy = micro();
    const params = initPolicyParams(policy, T.key(2));
    const path = join(tmp(), 'b.safetensors');
    await saveCheckpoint(path, {
      info: { preset: 'micro', unet: MICRO, space: policy.space, stage: 'sft', step: 1, imageSize: 8 },
      params,
    });
    await expect(loadCheckpoint(path, { expect: { preset: 'tiny' } })).rejects.toThrow(
      /holds a 'micro' policy but a 'tiny' one was asked for.*--preset micro/,
    );
    await expect(loadCheckpoint(path, { expect: { imageSize: 32 } })).rejects.toThrow(
      /trained at 8x8 px but 32 px images were given/,
    );
    await expect(loadCheckpoint(path, { expect: { unet: { ...MICRO, baseChannels: 8 } } })).rejects.toThrow(
      CheckpointError,
    );
    T.disposeTree(params);
  });

  it('refuses a file that is not a policy checkpoint, and one whose tensors do not fit its config', async () => {
    const dir = tmp();
    const plain = join(dir, 'plain.safetensors');
    await T.saveSafetensors(plain, { w: T.zeros([2]) });
    await expect(loadCheckpoint(plain)).rejects.toThrow(/metadata format is undefined.*written by this toolkit/);
    const policy = micro();
    const params = initPolicyParams(policy, T.key(3));
    const lying = join(dir, 'lying.safetensors');
    await saveCheckpoint(lying, {
      info: {
        preset: 'micro',
        unet: { ...MICRO, baseChannels: 8, groups: 2 },
        space: policy.space,
        stage: 'sft',
        step: 1,
        imageSize: 8,
      },
      params,
    });
    await expect(loadCheckpoint(lying)).rejects.toThrow(/do not fit its own UNet config/);
    T.disposeTree(params);
  });
});

describe('checkpoints from outside', () => {
  const saveMicro = async (path: string, params: UNetParams, imageSize = 8) =>
    saveCheckpoint(path, {
      info: { preset: 'micro', unet: MICRO, space: micro().space, stage: 'sft', step: 1, imageSize },
      params,
    });

  it('refuses NaN or infinite weights at load, naming the tensors, and frees what it read', async () => {
    const params = initPolicyParams(micro(), T.key(4));
    const bad = {
      ...params,
      inConv: { ...params.inConv, weight: T.mul(params.inConv.weight, NaN) },
      outConv: { ...params.outConv, bias: T.add(params.outConv.bias, Infinity) },
    };
    const path = join(tmp(), 'nan.safetensors');
    await saveMicro(path, bad);
    const live = () => T.memory().webgpu.tensors;
    const before = live();
    await expect(loadCheckpoint(path)).rejects.toThrow(
      /2 of its tensors hold NaN or infinite values \(params\.inConv\.weight, params\.outConv\.bias\).*diverged or the file is corrupt/,
    );
    expect(live()).toBe(before);
    // The same weights, finite, load.
    const good = join(tmp(), 'good.safetensors');
    await saveMicro(good, params);
    const back = await loadCheckpoint(good);
    // NaN optimizer moments: refused where they are loaded (a resume), not for the params alone (a restore).
    const state = initTrainState(sftOptimizer(DEFAULT_SFT_CONFIG), params, 0);
    const nanMoments = {
      ...state.opt,
      m: { ...state.opt.m, outNorm: { ...state.opt.m.outNorm, weight: T.mul(params.outNorm.weight, NaN) } },
    };
    const moments = join(tmp(), 'moments.safetensors');
    await saveCheckpoint(moments, {
      info: { preset: 'micro', unet: MICRO, space: micro().space, stage: 'sft', step: 1, imageSize: 8 },
      params,
      optimizer: { ...nanMoments, step: 1 },
    });
    await expect(loadCheckpoint(moments)).rejects.toThrow(
      /1 of its tensors hold NaN .*\(optimizer\.m\.outNorm\.weight\)/,
    );
    const paramsOnly = await loadCheckpoint(moments, { withOptimizer: false });
    T.disposeTree([
      params,
      bad.inConv.weight,
      bad.outConv.bias,
      back.params,
      paramsOnly.params,
      nanMoments.m.outNorm.weight,
    ]);
    T.disposeTree([state.opt.m, state.opt.v]);
  });

  it('refuses an image size its UNet cannot take', async () => {
    const params = initPolicyParams(micro(), T.key(5));
    for (const size of [0, 7, 7.5]) {
      const path = join(tmp(), `size-${size}.safetensors`);
      await saveMicro(path, params, size);
      await expect(loadCheckpoint(path)).rejects.toThrow(/metadata imageSize "[\d.]+" is not a positive multiple of 2/);
    }
    T.disposeTree(params);
  });
});

describe('training pools', () => {
  // `pretrain --train-count 32768` at 32 px is 403 MB of pixels, past one device buffer: the pool
  // lives on the host and goes to the device a degradation chunk (32 images) at a time. (The limit
  // here leaves room for a chunk's padded intermediates.)
  it('may hold more images than one device buffer, with the same pairs as a smaller pool', async () => {
    const options = { split: 'train', count: 200, size: 8, seed: 3 } as const;
    const plain = await syntheticPairs(options);
    const webgpu = backendFor('webgpu');
    const limit = vi
      .spyOn(webgpu, 'maxElements')
      .mockImplementation(() => ({ elements: 199 * 3 * 8 * 8, limit: 'a test limit of 199 images' }));
    try {
      expect(() => T.zeros([200, 3, 8, 8])).toThrow(/exceeds the webgpu device limit/); // the limit bites
      const limited = await syntheticPairs(options);
      expect(limited.hq).toEqual(plain.hq);
      expect(limited.lq).toEqual(plain.lq);
    } finally {
      limit.mockRestore();
    }
  });
});

describe('supervised training', () => {
  it('drives the eps-MSE loss down on synthetic pairs and keeps memory flat', async () => {
    const policy = micro();
    const pairs = await syntheticPairs({ split: 'train', count: 16, size: 8 });
    const config = { ...DEFAULT_SFT_CONFIG, steps: 60, batchSize: 8, lr: 1e-2, warmupSteps: 5 };
    const losses: number[] = [];
    const live: number[] = [];
    const state = initTrainState(sftOptimizer(config), initPolicyParams(policy, T.key(4)), 0);
    const final = await trainSft(policy, config, pairs, state, {
      onStep: ({ loss }) => {
        losses.push(loss);
        live.push(T.memory().webgpu.tensors);
      },
    });
    const head = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const tail = losses.slice(-10).reduce((a, b) => a + b) / 10;
    expect(tail).toBeLessThan(0.7 * head);
    expect(new Set(live.slice(2)).size).toBe(1);
    disposeState(final);
  });

  it('stops on a NaN loss with a message naming the step and the fix, and earlier checkpoints stay intact', async () => {
    const policy = micro();
    const pairs = await syntheticPairs({ split: 'train', count: 8, size: 8 });
    const dir = tmp();
    const config = { ...DEFAULT_SFT_CONFIG, steps: 6, batchSize: 4, lr: 1e-3, warmupSteps: 0 };
    const state = initTrainState(sftOptimizer(config), initPolicyParams(policy, T.key(5)), 0);
    const saved = join(dir, 'step-2.safetensors');
    // Poison the params after step 2 so step 3's loss is NaN.
    const run = trainSft(policy, config, pairs, state, {
      periodic: {
        every: 2,
        run: async (s) => {
          if (s.step !== 2) return;
          await saveCheckpoint(saved, {
            info: { preset: 'micro', unet: MICRO, space: policy.space, stage: 'sft', step: s.step, imageSize: 8 },
            params: s.params,
          });
          const w = s.params.outConv.weight;
          const poisoned = T.mul(w, NaN);
          (s.params.outConv as { weight: T.Tensor }).weight = poisoned;
          w.dispose();
        },
      },
    });
    await expect(run).rejects.toThrow(NonFiniteLossError);
    await expect(run).rejects.toThrow(
      /loss became NaN at step 3.*earlier checkpoints are intact.*Lower the learning rate/,
    );
    const back = await loadCheckpoint(saved);
    for (const leaf of T.treeLeaves(back.params))
      expect(Array.from(await leaf.data()).every(Number.isFinite)).toBe(true);
    T.disposeTree(back.params);
  });

  it('refuses pairs of another size and too few pairs for a batch', async () => {
    const policy = micro();
    const pairs = await syntheticPairs({ split: 'train', count: 4, size: 16 });
    const state = initTrainState(sftOptimizer(DEFAULT_SFT_CONFIG), initPolicyParams(policy, T.key(6)), 0);
    await expect(trainSft(policy, DEFAULT_SFT_CONFIG, pairs, state)).rejects.toThrow(
      /pairs are 16 px but the policy works at 8 px/,
    );
    const small = await syntheticPairs({ split: 'train', count: 4, size: 8 });
    await expect(trainSft(policy, { ...DEFAULT_SFT_CONFIG, batchSize: 8 }, small, state)).rejects.toThrow(
      /4 pairs are fewer than one batch of 8/,
    );
    disposeState(state);
  });
});

describe('run folders', () => {
  it('refuse to reuse a folder without --resume, and a resume with different options names them', () => {
    const dir = join(tmp(), 'run');
    const first = openRun(dir, 'pretrain', { steps: 10, lr: 1 });
    writeFileSync(first.checkpointPath(5), ''); // a checkpoint makes the folder a run to resume
    first.close();
    expect(() => openRun(dir, 'pretrain', { steps: 10, lr: 1 })).toThrow(RunDirError);
    expect(() => openRun(dir, 'pretrain', { steps: 10, lr: 1 })).toThrow(
      /already holds a 'pretrain' run; pass --resume/,
    );
    expect(() => openRun(dir, 'pretrain', { steps: 20, lr: 1 }, { resume: true })).toThrow(
      /steps \(run: 10, now: 20\)/,
    );
    const run = openRun(dir, 'pretrain', { steps: 10, lr: 1 }, { resume: true });
    run.log({ event: 'step', step: 1 });
    expect(run.readLog()).toMatchObject([{ event: 'step', step: 1 }]);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({ kind: 'pretrain', steps: 10, lr: 1 });
    run.close();
  });
});

describe('batched DDIM transitions', () => {
  it('equal ddimLogProb step by step (both backends), so one UNet call can train every step', async () => {
    const policy = micro();
    for (const backend of ['cpu', 'webgpu'] as const) {
      await T.setBackend(backend);
      const params = initPolicyParams(policy, T.key(7));
      const plan = ddimPlan(policy.schedule, { steps: 5, eta: 1 });
      const cond = T.uniform(T.key(8), [2, 3, 8, 8], { min: -1, max: 1 });
      const { xs } = ddimSample(policy.model, params, cond, T.key(9), { plan });
      const steps = [0, 2, 3];
      const batched = T.scope(
        () =>
          ddimTransitions(
            policy.model,
            params,
            plan,
            steps,
            T.concat(
              steps.map((j) => xs[j]),
              { axis: 0 },
            ),
            T.concat(
              steps.map(() => cond),
              { axis: 0 },
            ),
            {
              xPrev: T.concat(
                steps.map((j) => xs[j + 1]),
                { axis: 0 },
              ),
            },
          ).logProb!,
      );
      const single = T.scope(() =>
        T.concat(
          steps.map((j) => ddimLogProb(policy.model, params, plan, j, xs[j], xs[j + 1], cond)),
          { axis: 0 },
        ),
      );
      const [a, b] = [await batched.data(), await single.data()];
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(b[i])));
      T.disposeTree([params, xs, batched, single, cond]);
    }
    await T.setBackend('webgpu');
  });

  it('restore maps LQ images to [0, 1] images of the same shape, deterministically for a key', async () => {
    const policy = micro();
    const params = initPolicyParams(policy, T.key(10));
    const lq = T.uniform(T.key(11), [2, 3, 8, 8]);
    const a = restore(policy, params, lq, T.key(12), { steps: 4, eta: 1 });
    const b = restore(policy, params, lq, T.key(12), { steps: 4, eta: 1 });
    expect(a.shape).toEqual([2, 3, 8, 8]);
    const [da, db] = [await a.data(), await b.data()];
    expect(da).toEqual(db);
    expect(Math.min(...da)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...da)).toBeLessThanOrEqual(1);
    T.disposeTree([params, lq, a, b]);
  });

  it('restore keeps `strength` of its restoration: lq + strength (restored - lq), from the same samples', async () => {
    const policy = policyOf({ name: 'micro', unet: { ...MICRO, zeroInit: false } }, 8);
    const params = initPolicyParams(policy, T.key(20));
    const lq = T.uniform(T.key(21), [2, 3, 8, 8]);
    const at = (strength: number, samples = 1) =>
      restore(policy, params, lq, T.key(22), { steps: 4, eta: 1, samples, strength });
    const [full, quarter, none, meanQuarter, mean] = [at(1), at(0.25), at(0), at(0.25, 2), at(1, 2)];
    const [x, q, z, mq, m, input] = await Promise.all(
      [full, quarter, none, meanQuarter, mean, lq].map((t) => t.data()),
    );
    expect(Math.max(...x.map((v, i) => Math.abs(v - input[i])))).toBeGreaterThan(1e-3); // the policy does restore
    for (let i = 0; i < x.length; i++) {
      expect(q[i]).toBeCloseTo(input[i] + 0.25 * (x[i] - input[i]), 5);
      expect(mq[i]).toBeCloseTo(input[i] + 0.25 * (m[i] - input[i]), 5); // applied to the mean of the samples
    }
    expect(z).toEqual(input);
    for (const bad of [-0.1, 1.5, Number.NaN, '0.5'])
      expect(() => restore(policy, params, lq, T.key(22), { strength: bad as number })).toThrow(
        /restore: strength must be a number in \[0, 1\].*got/,
      );
    T.disposeTree([params, lq, full, quarter, none, meanQuarter, mean]);
  });
});
