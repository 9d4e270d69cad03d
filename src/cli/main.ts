// The command line: `webgpu-lrpo <command> [options]` (run with `npm run cli -- <command>`).
// Each command lives in commands/<name>.ts; this file only declares options and dispatches.
import { Command, InvalidArgumentError, Option } from 'commander';
import { setBackend, shutdown } from '../tensor/backends.js';
import type { BackendName } from '../kernels/backend.js';
import { DEFAULT_SFT_CONFIG } from '../train/sft.js';
import { DEFAULT_TARGET_SPACE } from '../train/target-space.js';
import { UNET_PRESETS } from '../models/unet.js';
import { ablate, ABLATION_ROWS } from './commands/ablate.js';
import { COMMITTED_SFT, demo } from './commands/demo.js';
import { evaluate } from './commands/eval.js';
import { pretrain } from './commands/pretrain.js';
import { report } from './commands/report.js';
import { restoreFolder } from './commands/restore.js';
import { train, SMALL_LRPO } from './commands/train.js';
import type { LrpoConfigOverrides } from '../lrpo/config.js';

/** Parses a positive integer option or explains the problem. */
export const positiveInt = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'.`);
  return n;
};

/** `--profile [steps]` of the training commands (see profile-steps.ts). */
const profileStepsOption = () =>
  new Option('--profile [steps]', 'after a warm-up step, profile this many steps (default 2): profile.md and profile.svg in the run folder').argParser(positiveInt('--profile'));

/** The steps `--profile [steps]` asks for: 2 when given without a number. */
const profileSteps = (v: number | true | undefined): number | undefined => (v === true ? 2 : v);

/** Parses a non-negative number option. */
export const nonNegative = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got '${v}'.`);
  return n;
};

/** The LRPO hyper-parameter options shared by `train` and `ablate` (defaults: SMALL_LRPO). */
function withLrpoOptions(command: Command): Command {
  return command
    .option('--group <k>', 'candidates per LQ input (K)', positiveInt('--group'), SMALL_LRPO.groupSize)
    .option('--inputs <b>', 'LQ inputs per step (B)', positiveInt('--inputs'), SMALL_LRPO.inputsPerBatch)
    .option('--sampling-steps <s>', 'DDIM steps per rollout (S)', positiveInt('--sampling-steps'), SMALL_LRPO.sampling?.steps)
    .option('--lr <rate>', 'AdamW learning rate', nonNegative('--lr'), SMALL_LRPO.optimizer?.lr)
    .option('--clip-eps <eps>', 'PPO ratio clip', nonNegative('--clip-eps'))
    .option('--gt-weight <w>', 'GT likelihood regularization weight', nonNegative('--gt-weight'))
    .option('--gt-steps <n>', 'GT regularization on the last n trained steps', positiveInt('--gt-steps'), SMALL_LRPO.gtRegularization?.lastSteps)
    .option('--gt-temperature <t>', 'GT regularization temperature', nonNegative('--gt-temperature'))
    .option('--kl <beta>', 'KL-to-reference weight (paper 0)', nonNegative('--kl'));
}

/** The LrpoConfigOverrides that withLrpoOptions' parsed options ask for. */
const lrpoOverridesOf = (o: Record<string, number | undefined>): LrpoConfigOverrides => ({
  groupSize: o.group,
  inputsPerBatch: o.inputs,
  sampling: { steps: o.samplingSteps },
  optimizer: { lr: o.lr },
  ...(o.clipEps !== undefined ? { clipEps: o.clipEps } : {}),
  ...(o.kl !== undefined ? { klWeight: o.kl } : {}),
  gtRegularization: { lastSteps: o.gtSteps, ...(o.gtWeight !== undefined ? { weight: o.gtWeight } : {}), ...(o.gtTemperature !== undefined ? { temperature: o.gtTemperature } : {}) },
});

const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['webgpu', 'cpu']).default('webgpu');
const presetOption = () => new Option('--preset <name>', 'UNet preset').choices(Object.keys(UNET_PRESETS)).default('tiny');

/** Starts the backend, runs the command, always releases the device (so the process exits). */
async function withBackend(backend: string, run: () => Promise<unknown>): Promise<void> {
  await setBackend(backend as BackendName);
  try {
    await run();
  } finally {
    await shutdown();
  }
}

export function buildProgram(): Command {
  const program = new Command('webgpu-lrpo')
    .description('LRPO fine-tuning of a diffusion face-restoration policy on WebGPU (Dawn) or the CPU.')
    .showHelpAfterError('(add --help for the options)');

  program
    .command('pretrain')
    .description('supervised training (SFT) of the policy on synthetic (LQ, HQ) face pairs')
    .requiredOption('--run <dir>', 'run folder (config.json, metrics.jsonl, checkpoints/)')
    .addOption(presetOption())
    .option('--size <px>', 'image side in pixels', positiveInt('--size'), 32)
    .option('--steps <n>', 'training updates', positiveInt('--steps'), DEFAULT_SFT_CONFIG.steps)
    .option('--batch <n>', 'pairs per update', positiveInt('--batch'), DEFAULT_SFT_CONFIG.batchSize)
    .option('--lr <rate>', 'peak learning rate', nonNegative('--lr'), DEFAULT_SFT_CONFIG.lr)
    .option('--warmup <n>', 'warm-up updates', nonNegative('--warmup'), DEFAULT_SFT_CONFIG.warmupSteps)
    .option('--data <source>', "'synthetic' (cartoon) or 'photo' (photographic) procedural faces, or a folder of face images (every tenth held out)", 'synthetic')
    .option('--train-count <n>', 'training pairs', positiveInt('--train-count'), 2048)
    .option('--eval-count <n>', 'held-out validation pairs', positiveInt('--eval-count'), 32)
    .option('--eval-every <n>', 'evaluate and checkpoint every n updates', positiveInt('--eval-every'), 250)
    .option('--eval-steps <n>', 'DDIM steps of the periodic evaluation', positiveInt('--eval-steps'), 20)
    .option('--seed <n>', 'seed of data, init and noise', nonNegative('--seed'), 0)
    .addOption(new Option('--target <space>', "what the policy samples: the HQ 'image' or the scaled 'residual' HQ - LQ").choices(['image', 'residual']).default(DEFAULT_TARGET_SPACE.kind))
    .option('--residual-scale <s>', 'residual target scale', nonNegative('--residual-scale'), 4)
    .option('--resume', 'continue the run in --run from its newest checkpoint')
    .option('--init <checkpoint>', 'fine-tune: start from this checkpoint\'s params (same preset, size and target) instead of a fresh init')
    .addOption(profileStepsOption())
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, () =>
        pretrain({
          ...(o.init ? { init: o.init } : {}),
          data: o.data,
          space: { kind: o.target, scale: o.target === 'residual' ? o.residualScale : 1 },
          run: o.run,
          preset: o.preset,
          size: o.size,
          steps: o.steps,
          batchSize: o.batch,
          lr: o.lr,
          warmupSteps: o.warmup,
          weightDecay: DEFAULT_SFT_CONFIG.weightDecay,
          gradClip: DEFAULT_SFT_CONFIG.gradClip,
          seed: o.seed,
          trainCount: o.trainCount,
          evalCount: o.evalCount,
          evalEvery: o.evalEvery,
          evalSteps: o.evalSteps,
          resume: !!o.resume,
          profile: profileSteps(o.profile),
        }),
      ),
    );
  const methods = ABLATION_ROWS.map((r) => r.method).filter((m) => m !== 'sft'); // every trainable row
  withLrpoOptions(
    program
      .command('train')
      .description('LRPO fine-tuning of an SFT checkpoint (or an ablation of it)')
      .requiredOption('--run <dir>', 'run folder (config.json, metrics.jsonl, checkpoints/)')
      .requiredOption('--init <checkpoint>', 'the SFT checkpoint to start from (e.g. checkpoints/sft-tiny-32.safetensors)')
      .option('--steps <n>', 'LRPO steps (one rollout batch and update each)', positiveInt('--steps'), 40)
      .addOption(new Option('--ablation <name>', 'which method: LRPO, one of its ablations, or direct reward backprop').choices(methods).default('lrpo')),
  )
    .option('--data <source>', "'synthetic' faces or a folder of face images (every tenth held out)", 'synthetic')
    .option('--train-count <n>', 'training pairs', positiveInt('--train-count'), 256)
    .option('--checkpoint-every <n>', 'checkpoint every n steps', positiveInt('--checkpoint-every'), 20)
    .option('--seed <n>', 'seed', nonNegative('--seed'), 0)
    .option('--resume', 'continue the run in --run from its newest checkpoint')
    .addOption(profileStepsOption())
    .addOption(backendOption())
    .action((o) => {
      const overrides = lrpoOverridesOf(o);
      return withBackend(o.backend, () =>
        train({ run: o.run, init: o.init, data: o.data, steps: o.steps, ablation: o.ablation, overrides, trainCount: o.trainCount, checkpointEvery: o.checkpointEvery, seed: o.seed, resume: !!o.resume, profile: profileSteps(o.profile) }),
      );
    });

  program
    .command('eval')
    .description('score checkpoints and the LQ input on evaluation sets with every metric')
    .requiredOption('--checkpoint <path...>', 'one or more checkpoints')
    .option('--data <set...>', "'synthetic' (cartoon), 'photo' (photographic procedural), 'real', or folders of face images", ['synthetic', 'real'])
    .option('--count <n>', 'faces per set (at most)', positiveInt('--count'), 32)
    .option('--sampling-steps <s>', 'DDIM steps', positiveInt('--sampling-steps'), SMALL_LRPO.sampling?.steps)
    .option('--eta <eta>', 'DDIM eta (1: as LRPO samples; 0: deterministic)', nonNegative('--eta'), 1)
    .option('--samples <n>', 'average n samples per face (the posterior mean: higher PSNR, less detail)', positiveInt('--samples'), 1)
    .option('--seed <n>', 'sampling and degradation seed', nonNegative('--seed'), 0)
    .option('--out <file>', 'write per-image scores as JSON')
    .option('--profile <dir>', 'profile the evaluation: profile.md (time per kernel and scope) and profile.svg in <dir>')
    .addOption(backendOption())
    .action((o) => withBackend(o.backend, () => evaluate({ checkpoints: o.checkpoint, sets: o.data, count: o.count, sampling: { steps: o.samplingSteps, eta: o.eta, seed: o.seed, samples: o.samples }, out: o.out, profile: o.profile })));

  program
    .command('restore')
    .description('restore a folder of LQ face images with a checkpoint (PNG out)')
    .requiredOption('--checkpoint <path>', 'the policy checkpoint')
    .requiredOption('--input <dir>', 'folder of .png/.jpg face images')
    .requiredOption('--output <dir>', 'folder for the restored PNGs')
    .option('--sampling-steps <s>', 'DDIM steps', positiveInt('--sampling-steps'), 20)
    .option('--eta <eta>', 'DDIM eta', nonNegative('--eta'), 0)
    .option('--resize', "resize inputs to the policy's image size instead of refusing them")
    .option('--samples <n>', 'average n samples per face (the posterior mean: higher PSNR, less detail)', positiveInt('--samples'), 1)
    .option('--batch <n>', 'images per batch', positiveInt('--batch'), 16)
    .option('--seed <n>', 'sampling seed', nonNegative('--seed'), 0)
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, async () => {
        const written = await restoreFolder({ checkpoint: o.checkpoint, input: o.input, output: o.output, steps: o.samplingSteps, eta: o.eta, samples: o.samples, seed: o.seed, resize: !!o.resize, batch: o.batch });
        process.stdout.write(`restored ${written.length} images into ${o.output}\n`);
      }),
    );

  program
    .command('report')
    .description('write report.md with tables and plots (re-render a demo run, or build from eval/train outputs)')
    .requiredOption('--run <dir>', 'folder to write the report into')
    .option('--eval <file...>', '`eval --out` JSON files', [])
    .option('--train <dir...>', '`train` run folders (reward curves)', [])
    .option('--title <text>', 'report title')
    .addOption(backendOption().default('cpu'))
    .action((o) =>
      withBackend(o.backend, async () => {
        const paths = await report({ run: o.run, evals: o.eval, trains: o.train, title: o.title });
        process.stdout.write(`wrote ${paths.join(', ')}\n`);
      }),
    );

  withLrpoOptions(
    program
      .command('ablate')
      .description("the paper's component study: SFT, GRPO, +noise-level, +GT reg., LRPO, reward backprop; several seeds")
      .requiredOption('--run <dir>', 'run folder (one sub-run per method and seed)')
      .option('--init <checkpoint>', 'the SFT checkpoint', COMMITTED_SFT)
      .option('--steps <n>', 'LRPO steps per run', positiveInt('--steps'), 40),
  )
    .option('--seeds <n...>', 'seeds', ['0', '1', '2'])
    .addOption(new Option('--methods <name...>', 'rows to run').choices(ABLATION_ROWS.map((r) => r.method)).default(ABLATION_ROWS.map((r) => r.method)))
    .option('--data <set>', "'synthetic' or 'real' (scored on; trained on synthetic faces), or a folder (trained on, and scored on its held-out tenth)", 'synthetic')
    .option('--count <n>', 'evaluation faces', positiveInt('--count'), 32)
    .option('--train-count <n>', 'synthetic training pairs', positiveInt('--train-count'), 256)
    .option('--resume', 'reuse finished sub-runs in --run')
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, async () => {
        const seeds = (o.seeds as string[]).map((s) => positiveIntOrZero('--seeds')(s));
        process.stdout.write(`${await ablate({ run: o.run, init: o.init, steps: o.steps, seeds, methods: o.methods, set: o.data, count: o.count, trainCount: o.trainCount, overrides: lrpoOverridesOf(o), resume: !!o.resume })}\n`);
      }),
    );

  program
    .command('demo')
    .description('what `npm start` runs: LRPO from the committed SFT checkpoint, evaluation, report.md')
    .option('--run <dir>', 'run folder', `runs/demo-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`)
    .option('--sft <checkpoint>', 'SFT checkpoint to start from', COMMITTED_SFT)
    .option('--lrpo-steps <n>', 'LRPO steps', positiveInt('--lrpo-steps'), 40)
    .option('--synthetic-count <n>', 'held-out synthetic faces', positiveInt('--synthetic-count'), 32)
    .option('--real-count <n>', 'real faces (at most 22)', positiveInt('--real-count'), 22)
    .option('--seed <n>', 'seed', nonNegative('--seed'), 0)
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, () => demo({ run: o.run, sft: o.sft, lrpoSteps: o.lrpoSteps, syntheticCount: o.syntheticCount, realCount: o.realCount, seed: o.seed })),
    );
  return program;
}

/** Parses an integer >= 0. */
const positiveIntOrZero = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be integers >= 0, got '${v}'.`);
  return n;
};

// Run when executed directly (not when imported by tests).
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli/main.ts')) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((e: Error) => {
      console.error(`error: ${e.message}`);
      process.exit(1);
    });
}
