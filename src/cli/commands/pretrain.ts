// `pretrain`: supervised training of the restoration policy on synthetic (LQ, HQ) face pairs, in a
// resumable run folder (config.json, metrics.jsonl, checkpoints/step-N.safetensors).
import { stepProfiler } from '../profile-steps.js';
import { join } from 'node:path';
import { foldIn, key, STREAMS } from '../../index.js';
import { loadCheckpoint, saveCheckpoint } from '../../train/checkpoint.js';
import { resumeOrStart } from '../resume.js';
import { evaluateRestorer } from '../../train/evaluate.js';
import { initPolicyParams, policyOf, restore, type PresetName } from '../../train/policy.js';
import { openRun } from '../../train/run-dir.js';
import { sftOptimizer, trainSft, type SftConfig } from '../../train/sft.js';
import { disposeState, initTrainState } from '../../train/state.js';
import { meanInterval } from '../../train/stats.js';
import { trainingPairs } from '../../train/eval-sets.js';
import { alias } from '../../tensor/ops/movement.js';
import { disposeTree } from '../../index.js';
import { progressBar } from '../progress.js';
import { DEFAULT_TARGET_SPACE, targetSpaceProblem, type TargetSpace } from '../../train/target-space.js';

export interface PretrainOptions extends SftConfig {
  readonly run: string;
  readonly preset: PresetName;
  readonly size: number;
  /** Training pairs (synthetic train split) and held-out validation pairs. */
  readonly trainCount: number;
  readonly evalCount: number;
  readonly evalEvery: number;
  /** DDIM steps of the periodic evaluation. */
  readonly evalSteps: number;
  /** 'synthetic' faces (default) or a folder of face images. */
  readonly data?: string;
  /** What the policy samples: the HQ image, or the scaled residual HQ - LQ. */
  readonly space?: TargetSpace;
  readonly resume?: boolean;
  readonly quiet?: boolean;
  /** Profile this many steps after the first (profile.md and profile.svg in the run folder). */
  readonly profile?: number;
  /** Start from this checkpoint's params (fine-tuning) instead of a fresh init; its UNet, size and target space must match. */
  readonly init?: string;
}

/** Runs (or resumes) SFT and returns the path of the final checkpoint. */
export async function pretrain(options: PretrainOptions): Promise<string> {
  const { run: runPath, resume, quiet, profile: profileSteps, ...config } = options;
  const space = options.space ?? DEFAULT_TARGET_SPACE;
  const spaceProblem = targetSpaceProblem(space);
  if (spaceProblem !== undefined)
    // before the run folder is made
    throw new RangeError(`pretrain: ${spaceProblem}; check --target, --residual-scale and --input-lowpass.`);
  const run = openRun(runPath, 'pretrain', config, { resume });
  try {
    const policy = policyOf(options.preset, options.size, space);
    const say = (msg: string) => quiet || process.stderr.write(`${msg}\n`);
    say(
      `pretrain: ${options.preset} policy at ${options.size} px, ${options.steps} steps of batch ${options.batchSize}; run folder ${run.path}`,
    );
    const data = options.data ?? 'synthetic';
    const train = await trainingPairs(data, 'train', {
      count: options.trainCount,
      size: options.size,
      seed: options.seed,
    });
    const valid = await trainingPairs(data, 'validation', {
      count: options.evalCount,
      size: options.size,
      seed: options.seed,
    });
    const optimizer = sftOptimizer(config);
    // Fine-tuning: the checkpoint must be this policy (same preset, size and target space).
    const initParams = options.init
      ? await loadCheckpoint(options.init, {
          withOptimizer: false,
          expect: { preset: options.preset, unet: policy.unet, imageSize: options.size },
        })
      : undefined;
    // The input low-pass only maps samples to images (training targets do not use it), so it may change.
    const sampled = (s: TargetSpace) => JSON.stringify({ kind: s.kind, scale: s.scale });
    if (initParams && sampled(initParams.info.space) !== sampled(policy.space)) {
      throw new Error(
        `pretrain: --init ${options.init} samples in space ${JSON.stringify(initParams.info.space)}, but this run asks for ${JSON.stringify(policy.space)}; match --target and --residual-scale to the checkpoint.`,
      );
    }
    const { state, resumed } = await resumeOrStart(
      'pretrain',
      run,
      { preset: options.preset, imageSize: options.size },
      options.seed,
      () =>
        initTrainState(
          optimizer,
          initParams?.params ?? initPolicyParams(policy, foldIn(key(options.seed), STREAMS.pretrainInit)),
          options.seed,
        ),
      say,
    );
    if (resumed && initParams) disposeTree(initParams.params); // the run's own checkpoint holds the params
    if (initParams && !resumed)
      say(`pretrain: fine-tuning from ${options.init} (${initParams.info.stage}, step ${initParams.info.step})`);
    if (!resumed) {
      // The bar to beat: the LQ input itself (degrade() resizes it back with bilinear interpolation).
      const { scores } = await evaluateRestorer(undefined, (lq) => alias(lq), valid, { metrics: ['psnr', 'ssim'] });
      const baseline = { psnr: meanInterval(scores.psnr!).mean, ssim: meanInterval(scores.ssim!).mean };
      run.log({ event: 'baseline', restorer: 'lq', ...baseline });
      say(`pretrain: held-out LQ input scores PSNR ${baseline.psnr.toFixed(2)} dB, SSIM ${baseline.ssim.toFixed(3)}`);
    }
    const bar = progressBar('pretrain', options.steps, ['loss'], { quiet });
    const profiler = stepProfiler(
      run.path,
      profileSteps,
      `pretrain ${options.preset} ${options.size} px, batch ${options.batchSize}`,
      say,
    );
    let smoothed: number | undefined;
    const final = await trainSft(policy, config, train, state, {
      onStep: async ({ step, loss, gradNorm, lr }) => {
        smoothed = smoothed === undefined ? loss : 0.98 * smoothed + 0.02 * loss;
        bar.update(step, { loss: smoothed.toFixed(4) });
        run.log({ event: 'step', step, loss, gradNorm, lr });
        await profiler.afterStep();
      },
      periodic: {
        every: options.evalEvery,
        run: async (s) => {
          const { scores } = await evaluateRestorer(
            undefined,
            (lq, b) =>
              restore(policy, s.params, lq, foldIn(key(options.seed + 1), b), { steps: options.evalSteps, eta: 0 }),
            valid,
            { metrics: ['psnr', 'ssim'] },
          );
          const psnr = meanInterval(scores.psnr!).mean;
          const ssim = meanInterval(scores.ssim!).mean;
          run.log({ event: 'eval', step: s.step, psnr, ssim });
          await saveCheckpoint(run.checkpointPath(s.step), {
            info: {
              preset: policy.preset,
              unet: policy.unet,
              space: policy.space,
              stage: 'sft',
              step: s.step,
              imageSize: policy.imageSize,
              extra: { psnr, ssim },
            },
            params: s.params,
            optimizer: s.opt,
          });
        },
      },
    }).finally(() => bar.stop());
    await profiler.finish();
    // The shareable result: params only (no optimizer moments), a third of a resumable checkpoint.
    const path = join(run.path, 'policy.safetensors');
    await saveCheckpoint(path, {
      info: {
        preset: policy.preset,
        unet: policy.unet,
        space: policy.space,
        stage: 'sft',
        step: final.step,
        imageSize: policy.imageSize,
      },
      params: final.params,
    });
    disposeState(final);
    say(`pretrain: done; policy ${path} (resumable checkpoints in ${join(run.path, 'checkpoints')})`);
    return path;
  } finally {
    run.close();
  }
}
