// The command line: `webgpu-lrpo <command> [options]` (run with `npm run cli -- <command>`).
// Each command lives in commands/<name>.ts; this file only declares options and dispatches.
import { Command, Option, type ErrorOptions } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { pipe } from 'fp-ts/lib/function.js';
import { setBackend, shutdown } from '../index.js';
import type { BackendName } from '../index.js';
import { DEFAULT_SFT_CONFIG } from '../train/sft.js';
import { DEFAULT_TARGET_SPACE } from '../train/target-space.js';
import { UNET_PRESETS } from '../models/unet.js';
import { ablate, ABLATION_ROWS } from './commands/ablate.js';
import {
  COMMITTED_SFT,
  DEMO_FACES,
  DEMO_LRPO_STEPS,
  DEMO_REAL_STRENGTH,
  DEMO_SFT,
  demo,
  type DemoOptions,
} from './commands/demo.js';
import { evaluate } from './commands/eval.js';
import { pretrain } from './commands/pretrain.js';
import { report } from './commands/report.js';
import { restoreFolder } from './commands/restore.js';
import { train, SMALL_LRPO, validateTrainConfig, type TrainMethod } from './commands/train.js';
import { LRPO_DEFAULTS, type LrpoConfigOverrides, type LrpoConfigProblem, type RewardWeights } from '../lrpo/config.js';
import {
  checkedOption,
  checkOptions,
  collecting,
  crossCheck,
  ddimSteps,
  describeProblems,
  namedWeights,
  nonNegative,
  unitInterval,
  nonNegativeInt,
  positiveInt,
  setOptionValues,
  type CrossCheck,
  type OptionProblem,
  type Parse,
} from './options.js';
import { REQUIREMENTS_HELP } from './requirements.js';
import { POLICY_SCHEDULE, RESTORE_DEFAULTS } from '../train/policy.js';

/** DDIM step counts the policies' schedule can space evenly (checked before any work starts). */
const sampleSteps = ddimSteps(POLICY_SCHEDULE.T);

/** An option whose value `parse` checks, with its default. */
const valueOption = (flags: string, description: string, parse: Parse<unknown>, defaultValue?: unknown) =>
  checkedOption(flags, description, parse, { default: defaultValue });
/** An option that must be given. */
const requiredOption = (flags: string, description: string) =>
  checkedOption(flags, description, null, { required: true });
/** An option whose value is one of `choices`. */
const choiceOption = (flags: string, description: string, choices: readonly string[], defaultValue?: unknown) =>
  checkedOption(flags, description, null, { choices, default: defaultValue });

/** `--profile [steps]` of the training commands (see profile-steps.ts). */
const profileStepsOption = () =>
  checkedOption(
    '--profile [steps]',
    'after a warm-up step, profile this many steps (default 2): profile.md and profile.svg in the run folder',
    positiveInt,
  );

/** The steps `--profile [steps]` asks for: 2 when given without a number. */
const profileSteps = (v: number | true | undefined): number | undefined => (v === true ? 2 : v);

/**
 * The LRPO hyper-parameter options shared by `train` and `ablate` (defaults: SMALL_LRPO), checked
 * with the config they make for every method `methodsOf` says the command will train.
 */
function withLrpoOptions(
  command: Command,
  methodsOf: (values: Readonly<Record<string, unknown>>) => readonly TrainMethod[],
): Command {
  return crossCheck(command, lrpoCheck(methodsOf))
    .addOption(valueOption('--group <k>', 'candidates per LQ input (K)', positiveInt, SMALL_LRPO.groupSize))
    .addOption(valueOption('--inputs <b>', 'LQ inputs per step (B)', positiveInt, SMALL_LRPO.inputsPerBatch))
    .addOption(
      valueOption('--sampling-steps <s>', 'DDIM steps per rollout (S)', sampleSteps, SMALL_LRPO.sampling?.steps),
    )
    .addOption(
      valueOption(
        '--steps-per-update <n>',
        'trained DDIM steps per update, drawn at random (0: all)',
        nonNegativeInt,
        SMALL_LRPO.stepsPerUpdate ?? 0,
      ),
    )
    .addOption(valueOption('--lr <rate>', 'AdamW learning rate', nonNegative, SMALL_LRPO.optimizer?.lr))
    .addOption(valueOption('--clip-eps <eps>', 'PPO ratio clip', nonNegative))
    .addOption(valueOption('--gt-weight <w>', 'GT likelihood regularization weight', nonNegative))
    .addOption(
      valueOption(
        '--gt-steps <n>',
        'GT regularization on the last n trained steps',
        positiveInt,
        SMALL_LRPO.gtRegularization?.lastSteps,
      ),
    )
    .addOption(valueOption('--gt-temperature <t>', 'GT regularization temperature', nonNegative))
    .addOption(valueOption('--kl <beta>', 'KL-to-reference weight (paper 0)', nonNegative))
    .addOption(
      valueOption(
        '--reward-weights <list>',
        `the reward's term weights, name=weight by commas (default ${REWARD_WEIGHTS_DEFAULT}; 0 leaves a term out)`,
        namedWeights(Object.keys(LRPO_DEFAULTS.rewardWeights)),
      ),
    );
}

/** A record as `--reward-weights` spells it: name=value pairs separated by commas. */
const nameValuePairs = (record: object): string =>
  Object.entries(record)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');

/** The reward's default weights as `--reward-weights` takes them. */
const REWARD_WEIGHTS_DEFAULT = nameValuePairs(LRPO_DEFAULTS.rewardWeights);

/** The parsed values of withLrpoOptions' options: numbers, and the reward weights by name. */
type LrpoOptionValues = Record<string, number | undefined> & { readonly rewardWeights?: Partial<RewardWeights> };

/** The LrpoConfigOverrides that withLrpoOptions' parsed options ask for. */
const lrpoOverridesOf = (o: LrpoOptionValues): LrpoConfigOverrides => ({
  ...(o.rewardWeights !== undefined ? { rewardWeights: o.rewardWeights } : {}),
  groupSize: o.group,
  inputsPerBatch: o.inputs,
  sampling: { steps: o.samplingSteps },
  stepsPerUpdate: o.stepsPerUpdate,
  optimizer: { lr: o.lr },
  ...(o.clipEps !== undefined ? { clipEps: o.clipEps } : {}),
  ...(o.kl !== undefined ? { klWeight: o.kl } : {}),
  gtRegularization: {
    lastSteps: o.gtSteps,
    ...(o.gtWeight !== undefined ? { weight: o.gtWeight } : {}),
    ...(o.gtTemperature !== undefined ? { temperature: o.gtTemperature } : {}),
  },
});

/** The option that sets each config field, to name a config problem by the option to change. */
const OPTION_OF_FIELD: Readonly<Record<string, string>> = {
  groupSize: '--group',
  inputsPerBatch: '--inputs',
  'sampling.steps': '--sampling-steps',
  stepsPerUpdate: '--steps-per-update',
  'optimizer.lr': '--lr',
  clipEps: '--clip-eps',
  'gtRegularization.weight': '--gt-weight',
  'gtRegularization.lastSteps': '--gt-steps',
  'gtRegularization.temperature': '--gt-temperature',
  klWeight: '--kl',
  rewardWeights: '--reward-weights',
  ...Object.fromEntries(
    Object.keys(LRPO_DEFAULTS.rewardWeights).map((k) => [`rewardWeights.${k}`, '--reward-weights']),
  ),
};

const asOptionProblem = (p: LrpoConfigProblem): OptionProblem => ({
  option: OPTION_OF_FIELD[p.field] ?? p.field,
  // A record (the reward weights) as the option spells it: name=value pairs.
  value: typeof p.value === 'object' && p.value !== null ? nameValuePairs(p.value) : String(p.value),
  expected: p.expected,
});

/** The problems of the LRPO config the options make (e.g. --clip-eps 2, or --gt-steps past the trained steps), per method. */
const lrpoCheck =
  (methodsOf: (values: Readonly<Record<string, unknown>>) => readonly TrainMethod[]): CrossCheck =>
  (values) =>
    pipe(
      methodsOf(values),
      RA.traverse(collecting)((method) =>
        pipe(
          validateTrainConfig(method, lrpoOverridesOf(values as LrpoOptionValues)),
          E.mapLeft(RNEA.map(asOptionProblem)),
        ),
      ),
    );

/** When the method option itself is bad: check the options' ranges under grpo, whose switches add no check of their own. */
const RANGES_ONLY: readonly TrainMethod[] = ['grpo'];

const backendOption = () => choiceOption('--backend <name>', 'compute backend', ['webgpu', 'cpu'], 'webgpu');
/** `--samples <n>` of eval and restore: both average n restorations of each face. */
const samplesOption = () =>
  valueOption(
    '--samples <n>',
    'average n samples per face (the posterior mean: higher PSNR, less detail)',
    positiveInt,
    1,
  );
/** `--strength <w>` of eval and restore: keep this much of each restoration (lq + w (restored - lq)). */
const strengthOption = () =>
  valueOption(
    '--strength <w>',
    "keep this much of each restoration, in [0, 1]: lq + w (restored - lq) (1: the policy's; lower on faces unlike its training faces, docs/faces.md)",
    unitInterval,
    1,
  );
const presetOption = () => choiceOption('--preset <name>', 'UNet preset', Object.keys(UNET_PRESETS), 'tiny');
/** What pretrain and train learn from (trainingPairs reads every source named here). */
const trainingDataOption = () =>
  new Option(
    '--data <source>',
    "'synthetic' (cartoon) or 'photo' (photographic) procedural faces, 'photo+leaves' (every second picture a dead-leaves picture), or a folder of face images (every tenth held out)",
  ).default('synthetic');

/** Starts the backend, runs the command, always releases the device (so the process exits). */
async function withBackend(backend: string, run: () => Promise<unknown>): Promise<void> {
  await setBackend(backend as BackendName);
  try {
    await run();
  } finally {
    await shutdown();
  }
}

/** Exit status of a usage error: bad option values, a missing or unknown option (a failed command exits with 1). */
export const USAGE_ERROR = 2;

/** The program and its commands: usage errors commander finds itself exit with USAGE_ERROR too. */
class Cli extends Command {
  override createCommand(name?: string): Command {
    return new Cli(name);
  }
  override error(message: string, errorOptions?: ErrorOptions): never {
    return super.error(message, { ...errorOptions, exitCode: errorOptions?.exitCode ?? USAGE_ERROR });
  }
}

export function buildProgram(): Command {
  const program = new Cli('webgpu-lrpo')
    .description('LRPO fine-tuning of a diffusion face-restoration policy on WebGPU (Dawn) or the CPU.')
    .showHelpAfterError('(add --help for the options)')
    .addHelpText('after', REQUIREMENTS_HELP);
  // Before any command runs, all of its option problems are reported together (options.ts).
  program.hook('preAction', (self, command) => {
    const checked = checkOptions(command);
    if (E.isLeft(checked))
      self.error(`error: ${describeProblems(command.name(), checked.left)}`, {
        exitCode: USAGE_ERROR,
        code: 'webgpu-lrpo.invalidOptions',
      });
    else setOptionValues(command, checked.right);
  });

  program
    .command('pretrain')
    .description('supervised training (SFT) of the policy on synthetic (LQ, HQ) face pairs')
    .addOption(requiredOption('--run <dir>', 'run folder (config.json, metrics.jsonl, checkpoints/)'))
    .addOption(presetOption())
    .addOption(valueOption('--size <px>', 'image side in pixels', positiveInt, 32))
    .addOption(valueOption('--steps <n>', 'training updates', positiveInt, DEFAULT_SFT_CONFIG.steps))
    .addOption(valueOption('--batch <n>', 'pairs per update', positiveInt, DEFAULT_SFT_CONFIG.batchSize))
    .addOption(valueOption('--lr <rate>', 'peak learning rate', nonNegative, DEFAULT_SFT_CONFIG.lr))
    .addOption(valueOption('--warmup <n>', 'warm-up updates', nonNegative, DEFAULT_SFT_CONFIG.warmupSteps))
    .addOption(trainingDataOption())
    .addOption(valueOption('--train-count <n>', 'training pairs', positiveInt, 2048))
    .addOption(valueOption('--eval-count <n>', 'held-out validation pairs', positiveInt, 32))
    .addOption(valueOption('--eval-every <n>', 'evaluate and checkpoint every n updates', positiveInt, 250))
    .addOption(valueOption('--eval-steps <n>', 'DDIM steps of the periodic evaluation', sampleSteps, 20))
    .addOption(valueOption('--seed <n>', 'seed of data, init and noise', nonNegative, 0))
    .addOption(
      choiceOption(
        '--target <space>',
        "what the policy samples: the HQ 'image' or the scaled 'residual' HQ - LQ",
        ['image', 'residual'],
        DEFAULT_TARGET_SPACE.kind,
      ),
    )
    .addOption(valueOption('--residual-scale <s>', 'residual target scale', nonNegative, 4))
    .addOption(
      valueOption(
        '--input-lowpass <sigma>',
        "residual target: keep the input's content below a Gaussian of sigma px, drop the generated residual's (0: off)",
        nonNegative,
        0,
      ),
    )
    .option('--resume', 'continue the run in --run from its newest checkpoint')
    .option(
      '--init <checkpoint>',
      "fine-tune: start from this checkpoint's params (same preset, size and target) instead of a fresh init",
    )
    .addOption(profileStepsOption())
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, () =>
        pretrain({
          ...(o.init ? { init: o.init } : {}),
          data: o.data,
          space: {
            kind: o.target,
            scale: o.target === 'residual' ? o.residualScale : 1,
            ...(o.target === 'residual' && o.inputLowpass > 0 ? { inputLowpass: o.inputLowpass } : {}),
          },
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
      .addOption(requiredOption('--run <dir>', 'run folder (config.json, metrics.jsonl, checkpoints/)'))
      .addOption(
        requiredOption(
          '--init <checkpoint>',
          'the SFT checkpoint to start from (e.g. checkpoints/sft-tiny-32.safetensors)',
        ),
      )
      .addOption(valueOption('--steps <n>', 'LRPO steps (one rollout batch and update each)', positiveInt, 40))
      .addOption(
        choiceOption(
          '--ablation <name>',
          'which method: LRPO, one of its ablations, or direct reward backprop',
          methods,
          'lrpo',
        ),
      ),
    (o) => (typeof o.ablation === 'string' ? [o.ablation as TrainMethod] : RANGES_ONLY),
  )
    .addOption(trainingDataOption())
    .addOption(valueOption('--train-count <n>', 'training pairs', positiveInt, 256))
    .addOption(valueOption('--checkpoint-every <n>', 'checkpoint every n steps', positiveInt, 20))
    .addOption(valueOption('--seed <n>', 'seed', nonNegative, 0))
    .option('--resume', 'continue the run in --run from its newest checkpoint')
    .addOption(profileStepsOption())
    .addOption(backendOption())
    .action((o) => {
      const overrides = lrpoOverridesOf(o);
      return withBackend(o.backend, () =>
        train({
          run: o.run,
          init: o.init,
          data: o.data,
          steps: o.steps,
          ablation: o.ablation,
          overrides,
          trainCount: o.trainCount,
          checkpointEvery: o.checkpointEvery,
          seed: o.seed,
          resume: !!o.resume,
          profile: profileSteps(o.profile),
        }),
      );
    });

  program
    .command('eval')
    .description('score checkpoints and the LQ input on evaluation sets with every metric')
    .addHelpText('after', REQUIREMENTS_HELP)
    .addOption(requiredOption('--checkpoint <path...>', 'one or more checkpoints'))
    .option(
      '--data <set...>',
      "'synthetic' (cartoon), 'photo' (photographic procedural), 'real', or folders of face images",
      ['synthetic', 'real'],
    )
    .addOption(valueOption('--count <n>', 'faces per set (at most)', positiveInt, 32))
    .addOption(valueOption('--sampling-steps <s>', 'DDIM steps', sampleSteps, SMALL_LRPO.sampling?.steps))
    .addOption(valueOption('--eta <eta>', 'DDIM eta (1: as LRPO samples; 0: deterministic)', nonNegative, 1))
    .addOption(samplesOption())
    .addOption(strengthOption())
    .addOption(valueOption('--seed <n>', 'sampling and degradation seed', nonNegative, 0))
    .option('--out <file>', 'write per-image scores as JSON')
    .option(
      '--profile <dir>',
      'profile the evaluation: profile.md (time per kernel and scope) and profile.svg in <dir>',
    )
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, () =>
        evaluate({
          checkpoints: o.checkpoint,
          sets: o.data,
          count: o.count,
          sampling: { steps: o.samplingSteps, eta: o.eta, seed: o.seed, samples: o.samples, strength: o.strength },
          out: o.out,
          profile: o.profile,
        }),
      ),
    );

  program
    .command('restore')
    .description('restore a folder of LQ face images with a checkpoint (PNG out)')
    .addOption(requiredOption('--checkpoint <path>', 'the policy checkpoint'))
    .addOption(requiredOption('--input <dir>', 'folder of .png/.jpg face images'))
    .addOption(requiredOption('--output <dir>', 'folder for the restored PNGs'))
    // The library's defaults: the sampler LRPO trains with and eval scores (RESTORE_DEFAULTS).
    .addOption(
      valueOption(
        '--sampling-steps <s>',
        'DDIM steps (more give sharper, less faithful faces)',
        sampleSteps,
        RESTORE_DEFAULTS.steps,
      ),
    )
    .addOption(
      valueOption('--eta <eta>', 'DDIM eta (1: as LRPO samples; 0: deterministic)', nonNegative, RESTORE_DEFAULTS.eta),
    )
    .option('--resize', "resize inputs to the policy's image size instead of refusing them")
    .addOption(samplesOption())
    .addOption(strengthOption())
    .addOption(valueOption('--batch <n>', 'images per batch', positiveInt, 16))
    .addOption(valueOption('--seed <n>', 'sampling seed', nonNegative, 0))
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, async () => {
        const written = await restoreFolder({
          checkpoint: o.checkpoint,
          input: o.input,
          output: o.output,
          steps: o.samplingSteps,
          eta: o.eta,
          samples: o.samples,
          strength: o.strength,
          seed: o.seed,
          resize: !!o.resize,
          batch: o.batch,
        });
        process.stdout.write(`restored ${written.length} images into ${o.output}\n`);
      }),
    );

  program
    .command('report')
    .description('write report.md with tables and plots (re-render a demo run, or build from eval/train outputs)')
    .addOption(requiredOption('--run <dir>', 'folder to write the report into'))
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
      .description(
        "the paper's component study: SFT, GRPO, +noise-level, +GT reg., LRPO, reward backprop; several seeds",
      )
      .addOption(requiredOption('--run <dir>', 'run folder (one sub-run per method and seed)'))
      .option('--init <checkpoint>', 'the SFT checkpoint', COMMITTED_SFT)
      .addOption(valueOption('--steps <n>', 'LRPO steps per run', positiveInt, 40)),
    (o) => (Array.isArray(o.methods) ? o.methods.filter((m): m is TrainMethod => m !== 'sft') : RANGES_ONLY),
  )
    .addOption(valueOption('--seeds <n...>', 'seeds', nonNegativeInt, [0, 1, 2]))
    .addOption(
      choiceOption(
        '--methods <name...>',
        'rows to run',
        ABLATION_ROWS.map((r) => r.method),
        ABLATION_ROWS.map((r) => r.method),
      ),
    )
    .option(
      '--data <set>',
      "'synthetic' or 'photo' (trained on, and scored on held-out ones), 'real' (scored on; trained on cartoon faces), or a folder (trained on, and scored on its held-out tenth)",
      'synthetic',
    )
    .addOption(valueOption('--count <n>', 'evaluation faces', positiveInt, 32))
    .addOption(valueOption('--train-count <n>', 'synthetic training pairs', positiveInt, 256))
    .option('--resume', 'reuse finished sub-runs in --run')
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, async () => {
        const table = await ablate({
          run: o.run,
          init: o.init,
          steps: o.steps,
          seeds: o.seeds,
          methods: o.methods,
          set: o.data,
          count: o.count,
          trainCount: o.trainCount,
          overrides: lrpoOverridesOf(o),
          resume: !!o.resume,
        });
        process.stdout.write(`${table}\n`);
      }),
    );

  program
    .command('demo')
    .description('what `npm start` runs: LRPO from the committed photographic SFT checkpoint, evaluation, report.md')
    .addHelpText('after', REQUIREMENTS_HELP)
    .option('--run <dir>', 'run folder', `runs/demo-${new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)}`)
    .option('--sft <checkpoint>', 'SFT checkpoint to start from', DEMO_SFT)
    .addOption(
      choiceOption(
        '--data <style>',
        "procedural faces to train LRPO on and score: 'photo' or 'synthetic' (cartoon); the SFT checkpoint's own",
        ['photo', 'synthetic'],
        DEMO_FACES,
      ),
    )
    .addOption(valueOption('--lrpo-steps <n>', 'LRPO steps', positiveInt, DEMO_LRPO_STEPS))
    .addOption(valueOption('--synthetic-count <n>', 'held-out synthetic faces', positiveInt, 32))
    .addOption(valueOption('--real-count <n>', 'real faces (at most 22)', positiveInt, 22))
    .addOption(
      valueOption(
        '--real-strength <w>',
        `restore's strength for the real faces' extra rows (default: ${DEMO_REAL_STRENGTH} for the default --sft, chosen on held-out real photographs by scripts/calibrate-strength.ts; 1, no rows, for other checkpoints)`,
        unitInterval,
      ),
    )
    .addOption(valueOption('--seed <n>', 'seed', nonNegative, 0))
    .addOption(backendOption())
    // The options are demo()'s, by name.
    .action(({ backend, ...o }) => withBackend(backend, () => demo(o as DemoOptions)));
  return program;
}

/** Parses `argv` and runs the command; an error is printed as one line and exits with status 1. */
export async function runCli(argv: readonly string[]): Promise<void> {
  await buildProgram()
    .parseAsync([...argv])
    .catch((e: Error) => {
      console.error(`error: ${e.message}`);
      process.exit(1);
    });
}

// Run when executed directly (not when imported by tests); the installed command is bin.ts.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli/main.ts'))
  void runCli(process.argv);
