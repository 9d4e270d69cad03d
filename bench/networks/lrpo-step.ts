// The `lrpo step` rows and the committed profiles: one LRPO step at the demo's settings (the
// demo's small checkpoint with its input low-pass, on its photographic faces, SMALL_LRPO's inputs
// x candidates, 10 DDIM steps, the default reward) and at the speed issue's reference scale (the
// tiny photographic checkpoint, B = 2 x K = 4, every DDIM step trained: the demo's settings when
// the target was set), and one SFT training step of the tiny UNet at the demo's batch (16 at 32
// px). Ours alone: no other library runs this method.
import { basename } from 'node:path';
import * as T from '../../src/index.js';
import { trainConfig } from '../../src/cli/commands/train.js';
import { DEMO_FACES, DEMO_SFT, TINY_PHOTO_SFT } from '../../src/cli/commands/demo.js';
import type { LrpoConfig, LrpoConfigOverrides } from '../../src/lrpo/config.js';
import { trainingPairs } from '../../src/train/eval-sets.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';
import { policyOfCheckpoint, type Policy } from '../../src/train/policy.js';
import type { PairSet } from '../../src/train/pairs.js';
import type { UNetParams } from '../../src/models/unet.js';
import { initLrpoState, lrpoOptimizer, lrpoPlan, lrpoStep, type LrpoContext } from '../../src/lrpo/train.js';
import { lrpoReward } from '../../src/lrpo/reward.js';
import { loadFaceRecognitionParams } from '../../src/metrics/face-embedding/face-recognition-net.js';
import { sftOptimizer, sftStep, DEFAULT_SFT_CONFIG } from '../../src/train/sft.js';
import { disposeState, initTrainState, type TrainState } from '../../src/train/state.js';
import { pairBatch } from '../../src/train/pairs.js';
import { timeOurs } from './timing.js';
import type { NetworkOptions, NetworkRow } from './suite.js';

interface LrpoSetup {
  readonly ctx: LrpoContext;
  readonly run: (state: TrainState) => Promise<TrainState>;
  readonly state: TrainState;
  readonly dispose: () => void;
}

/** The speed issue's reference LRPO step: 2 inputs x 4 candidates, all 10 DDIM steps trained. */
export const REFERENCE_LRPO_SCALE: LrpoConfigOverrides = Object.freeze({
  inputsPerBatch: 2,
  groupSize: 4,
  stepsPerUpdate: 0,
});

/** A step's start: an SFT checkpoint's params and policy, and 64 of the demo's training faces. */
async function startFrom(
  checkpoint: string,
): Promise<{ readonly params: UNetParams; readonly policy: Policy; readonly pairs: PairSet }> {
  const init = await loadCheckpoint(checkpoint, { withOptimizer: false });
  const policy = policyOfCheckpoint(init.info);
  const pairs = await trainingPairs(DEMO_FACES, 'train', { count: 64, size: policy.imageSize, seed: 0 });
  return { params: init.params, policy, pairs };
}

async function lrpoSetup(overrides: LrpoConfigOverrides, checkpoint: string): Promise<LrpoSetup> {
  const { params, policy, pairs } = await startFrom(checkpoint);
  const config = trainConfig('lrpo', overrides);
  const faceNet = loadFaceRecognitionParams();
  const ctx: LrpoContext = { policy, config, reward: lrpoReward(faceNet, config), pairs };
  const optimizer = lrpoOptimizer(config);
  const plan = lrpoPlan(policy, config);
  return {
    ctx,
    state: initLrpoState(config, params, 0),
    run: async (s) => (await lrpoStep(ctx, optimizer, plan, s)).state,
    dispose: () => T.treeLeaves(faceNet).forEach((x) => x.dispose()),
  };
}

/** ms per LRPO step from `checkpoint` at the demo's settings with `overrides` (each sample a real step of one run). */
export async function lrpoStepBench(
  opts: NetworkOptions,
  overrides: LrpoConfigOverrides = {},
  checkpoint = DEMO_SFT,
): Promise<NetworkRow> {
  const setup = await lrpoSetup(overrides, checkpoint);
  const { config } = setup.ctx;
  const trained = config.stepsPerUpdate || config.sampling.steps;
  opts.log(`lrpo step B${config.inputsPerBatch} K${config.groupSize}: ours ...`);
  let state = setup.state;
  const stats = await timeOurs(async () => {
    state = await setup.run(state);
  }, opts); // every run, warm-ups included, is a real step of one run
  disposeState(state);
  setup.dispose();
  return {
    id: `lrpo step B${config.inputsPerBatch} K${config.groupSize} S${config.sampling.steps} T${trained}`,
    work: `one LRPO step (the ${setup.ctx.policy.preset} UNet of ${basename(checkpoint)} at 32 px with its input low-pass, default reward incl. the face ResNet, ${config.sampling.steps} DDIM steps, ${trained} trained): rollout, reward, update`,
    ours: stats,
    peers: [
      { peer: 'none', status: 'skipped', reason: 'no other library implements LRPO; the row tracks our own speed' },
    ],
  };
}

/** The heading of the LRPO step profile: the demo's policy and scale, named from its config. */
const lrpoStepTitle = (policy: Policy, c: LrpoConfig): string =>
  `LRPO step (demo: ${policy.preset} UNet, B=${c.inputsPerBatch}, K=${c.groupSize}, ${c.sampling.steps} DDIM steps, ${c.stepsPerUpdate || 'all'} trained per update)`;

/** Profiles of one tiny-UNet SFT step (batch 16, 32 px) and one LRPO step of the demo, each after a warm-up, by heading. */
export async function stepProfiles(): Promise<Readonly<Record<string, T.Profile<unknown>>>> {
  const { params, policy, pairs } = await startFrom(TINY_PHOTO_SFT);
  const optimizer = sftOptimizer(DEFAULT_SFT_CONFIG);
  let sftState = initTrainState(optimizer, params, 0);
  const sftOnce = async () => {
    const batch = pairBatch(
      pairs,
      Array.from({ length: DEFAULT_SFT_CONFIG.batchSize }, (_, i) => i),
    );
    sftState = (await sftStep(policy, optimizer, DEFAULT_SFT_CONFIG, sftState, batch)).state;
    batch.hq.dispose();
    batch.lq.dispose();
  };
  const sft = await T.profile(() => T.named('sft step', sftOnce), { warmup: 1 });
  disposeState(sftState);

  const setup = await lrpoSetup({}, DEMO_SFT);
  let state = setup.state;
  const lrpo = await T.profile(
    async () => {
      state = await setup.run(state);
    },
    { warmup: 1 },
  );
  disposeState(state);
  setup.dispose();
  return {
    'tiny UNet SFT step (batch 16, 32 px)': sft,
    [lrpoStepTitle(setup.ctx.policy, setup.ctx.config)]: lrpo,
  };
}
