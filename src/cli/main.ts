// The command line: `webgpu-lrpo <command> [options]` (run with `npm run cli -- <command>`).
// Each command lives in commands/<name>.ts; this file only declares options and dispatches.
import { Command, InvalidArgumentError, Option } from 'commander';
import { dispose, setBackend } from '../tensor/backends.js';
import type { BackendName } from '../kernels/backend.js';
import { DEFAULT_SFT_CONFIG } from '../train/sft.js';
import { UNET_PRESETS } from '../models/unet.js';
import { pretrain } from './commands/pretrain.js';

/** Parses a positive integer option or explains the problem. */
export const positiveInt = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'.`);
  return n;
};

/** Parses a non-negative number option. */
export const nonNegative = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got '${v}'.`);
  return n;
};

const backendOption = () => new Option('--backend <name>', 'compute backend').choices(['webgpu', 'cpu']).default('webgpu');
const presetOption = () => new Option('--preset <name>', 'UNet preset').choices(Object.keys(UNET_PRESETS)).default('tiny');

/** Starts the backend, runs the command, always releases the device (so the process exits). */
async function withBackend(backend: string, run: () => Promise<unknown>): Promise<void> {
  await setBackend(backend as BackendName);
  try {
    await run();
  } finally {
    await dispose();
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
    .option('--train-count <n>', 'synthetic training pairs', positiveInt('--train-count'), 2048)
    .option('--eval-count <n>', 'held-out validation pairs', positiveInt('--eval-count'), 32)
    .option('--eval-every <n>', 'evaluate and checkpoint every n updates', positiveInt('--eval-every'), 250)
    .option('--eval-steps <n>', 'DDIM steps of the periodic evaluation', positiveInt('--eval-steps'), 20)
    .option('--seed <n>', 'seed of data, init and noise', nonNegative('--seed'), 0)
    .option('--resume', 'continue the run in --run from its newest checkpoint')
    .addOption(backendOption())
    .action((o) =>
      withBackend(o.backend, () =>
        pretrain({
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
        }),
      ),
    );
  return program;
}

// Run when executed directly (not when imported by tests).
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('cli/main.ts')) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((e: Error) => {
      console.error(`error: ${e.message}`);
      process.exit(1);
    });
}
