// The `lrpo step` rows and the committed profiles: one LRPO step at the demo's settings (the
// demo's checkpoint with its input low-pass, on its photographic faces, SMALL_LRPO's inputs x
// candidates, 10 DDIM steps, the default reward) and at the speed issue's reference scale (B = 2 x
// K = 4, every DDIM step trained: the demo's settings when the target was set), and one SFT
// training step of the tiny UNet at the demo's batch (16 at 32 px). Ours alone: no other library
// runs this method.
import * as T from '../../src/index.js';
import { trainConfig } from '../../src/cli/commands/train.js';
import { DEMO_FACES, DEMO_SFT } from '../../src/cli/commands/demo.js';
import type { LrpoConfigOverrides } from '../../src/lrpo/config.js';
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

/** What the demo starts from: its SFT checkpoint's params and policy, and 64 of its training faces. */
async function demoStart(): Promise<{ readonly params: UNetParams; readonly policy: Policy; readonly pairs: PairSet }> {
  const init = await loadCheckpoint(DEMO_SFT, { withOptimizer: false });
  const policy = policyOfCheckpoint(init.info);
  const pairs = await trainingPairs(DEMO_FACES, 'train', { count: 64, size: policy.imageSize, seed: 0 });
  return { params: init.params, policy, pairs };
}

async function lrpoSetup(overrides: LrpoConfigOverrides): Promise<LrpoSetup> {
  const { params, policy, pairs } = await demoStart();
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

/** ms per LRPO step of the demo's settings with `overrides` (each sample a real step of one run). */
export async function lrpoStepBench(opts: NetworkOptions, overrides: LrpoConfigOverrides = {}): Promise<NetworkRow> {
  const setup = await lrpoSetup(overrides);
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
    work: `one LRPO step (the demo's tiny UNet at 32 px with its input low-pass, default reward incl. the face ResNet, ${config.sampling.steps} DDIM steps, ${trained} trained): rollout, reward, update`,
    ours: stats,
    peers: [
      { peer: 'none', status: 'skipped', reason: 'no other library implements LRPO; the row tracks our own speed' },
    ],
  };
}

/** Profiles of one tiny-UNet SFT step (batch 16, 32 px) and one LRPO step, each after a warm-up. */
/** The heading of the LRPO step profile: the demo's scale, named from its config. */
export function lrpoStepTitle(): string {
  const c = trainConfig('lrpo', {});
  return `LRPO step (demo: B=${c.inputsPerBatch}, K=${c.groupSize}, ${c.sampling.steps} DDIM steps, ${c.stepsPerUpdate || 'all'} trained per update)`;
}

export async function stepProfiles(): Promise<{ readonly sft: T.Profile<unknown>; readonly lrpo: T.Profile<unknown> }> {
  const { params, policy, pairs } = await demoStart();
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

  const setup = await lrpoSetup({});
  let state = setup.state;
  const lrpo = await T.profile(
    async () => {
      state = await setup.run(state);
    },
    { warmup: 1 },
  );
  disposeState(state);
  setup.dispose();
  return { sft, lrpo };
}
