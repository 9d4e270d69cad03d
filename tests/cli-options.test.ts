// Issue 18 item 10: the command line checks every option before any work and reports every
// problem in one message (src/cli/options.ts): bad values, missing required options, and the
// problems of the LRPO config the options make, each naming the option, its value and the fix.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { buildProgram, USAGE_ERROR } from '../src/cli/main.js';
import { RESTORE_DEFAULTS } from '../src/train/policy.js';
import {
  checkedOption,
  checkOptions,
  ddimSteps,
  crossCheck,
  describeProblems,
  namedWeights,
  nonNegative,
  nonNegativeInt,
  positiveInt,
  refuse,
  setOptionValues,
} from '../src/cli/options.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A small command with one option of each kind, parsed (not run) from `args`. */
function parsed(...args: string[]): Command {
  const command = new Command('t')
    .exitOverride()
    .addOption(checkedOption('--run <dir>', 'run folder', null, { required: true }))
    .addOption(checkedOption('--steps <n>', 'steps', positiveInt, { default: 40 }))
    .addOption(checkedOption('--lr <rate>', 'rate', nonNegative))
    .addOption(checkedOption('--seeds <n...>', 'seeds', nonNegativeInt, { default: [0, 1] }))
    .addOption(checkedOption('--backend <name>', 'backend', null, { choices: ['webgpu', 'cpu'], default: 'webgpu' }));
  crossCheck(command, (v) =>
    typeof v.lr === 'number' && v.lr > 1
      ? refuse('--lr', String(v.lr), 'at most 1 with these steps')
      : E.right(undefined),
  );
  return command.parse(args, { from: 'user' });
}

describe('checkOptions', () => {
  it('collects every problem, in option order, then the cross-check on the values that parsed', () => {
    const checked = checkOptions(parsed('--steps', '-1', '--lr', '2', '--seeds', '0', 'x', '-3', '--backend', 'gpu'));
    expect(E.isLeft(checked) && checked.left).toEqual([
      { option: '--run', value: undefined, expected: '--run <dir>' },
      { option: '--steps', value: '-1', expected: 'a positive integer' },
      { option: '--seeds', value: 'x', expected: 'an integer >= 0' },
      { option: '--seeds', value: '-3', expected: 'an integer >= 0' },
      { option: '--backend', value: 'gpu', expected: 'one of webgpu, cpu' },
      { option: '--lr', value: '2', expected: 'at most 1 with these steps' },
    ]);
  });

  it('a value that does not parse is not cross-checked as well', () => {
    const checked = checkOptions(parsed('--run', 'r', '--lr', 'abc'));
    expect(E.isLeft(checked) && checked.left).toEqual([{ option: '--lr', value: 'abc', expected: 'a number >= 0' }]);
  });

  it('on success, returns the parsed values and the defaults, which setOptionValues hands to the action', () => {
    const command = parsed('--run', 'r', '--lr', '0.5', '--seeds', '3', '4');
    const checked = checkOptions(command);
    const values = { run: 'r', steps: 40, lr: 0.5, seeds: [3, 4], backend: 'webgpu' };
    expect(checked).toEqual(E.right(values));
    setOptionValues(command, E.isRight(checked) ? checked.right : {});
    expect(command.opts()).toEqual(values);
    expect(command.getOptionValueSource('steps')).toBe('default');
  });

  it('describes one problem in one line and several as a list', () => {
    expect(describeProblems('t', [{ option: '--steps', value: '0', expected: 'a positive integer' }])).toBe(
      "--steps must be a positive integer, got '0'",
    );
    expect(
      describeProblems('train', [
        { option: '--run', value: undefined, expected: '--run <dir>' },
        { option: '--lr', value: 'abc', expected: 'a number >= 0' },
        { option: '--lr', value: 'abc', expected: 'a number >= 0' },
      ]),
    ).toBe(
      "2 problems with the options of 'train':\n  --run is required: pass --run <dir>\n  --lr must be a number >= 0, got 'abc'",
    );
  });
});

describe('namedWeights', () => {
  const parse = namedWeights(['identity', 'wavelet']);
  it('reads name=weight pairs, any subset, spaces around the names allowed', () => {
    expect(parse('--w', 'identity=0.5')).toEqual(E.right({ identity: 0.5 }));
    expect(parse('--w', 'identity=0, wavelet=1e-1')).toEqual(E.right({ identity: 0, wavelet: 0.1 }));
  });
  it('refuses unknown names, repeats, negative, non-finite or missing weights, naming the accepted form', () => {
    for (const raw of [
      'lpips=1',
      'identity=1,identity=2',
      'identity=-1',
      'identity=Infinity',
      'identity=',
      'identity',
      '',
    ])
      expect(parse('--w', raw)).toEqual(
        refuse(
          '--w',
          raw,
          'name=weight pairs separated by commas, names from identity, wavelet, weights >= 0 (e.g. identity=0.5)',
        ),
      );
  });
});

describe('the program', () => {
  it('refuses the options of train together, with the LRPO config problems named by option, before any work', async () => {
    let stderr = '';
    const program = buildProgram()
      .exitOverride()
      .configureOutput({ writeErr: (s) => (stderr += s) });
    const run = program.parseAsync([
      'node',
      'webgpu-lrpo',
      'train',
      '--run',
      'r',
      '--init',
      'missing.safetensors',
      '--steps',
      '0',
      '--clip-eps',
      '2',
      '--sampling-steps',
      '4',
      '--steps-per-update',
      '-2',
      '--gt-steps',
      '5',
    ]);
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).exitCode).toBe(USAGE_ERROR);
    expect(stderr).toContain(
      "error: 4 problems with the options of 'train':\n" +
        "  --steps must be a positive integer, got '0'\n" +
        "  --steps-per-update must be an integer >= 0, got '-2'\n" +
        "  --clip-eps must be a number in (0, 1), got '2'\n" +
        "  --gt-steps must be an integer in 1..3 (3 of the 4 sampling steps are trained), got '5'\n",
    );
  });

  it('refuses --reward-weights that are all 0 as a config problem named by the option', async () => {
    let stderr = '';
    const program = buildProgram()
      .exitOverride()
      .configureOutput({ writeErr: (s) => (stderr += s) });
    const args = ['--run', 'r', '--reward-weights', 'identity=0,perceptual=0,noReference=0,wavelet=0'];
    const error = await program.parseAsync(['node', 'webgpu-lrpo', 'ablate', ...args]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as CommanderError).exitCode).toBe(USAGE_ERROR);
    expect(stderr).toContain(
      "--reward-weights must be at least one weight > 0, got 'identity=0,perceptual=0,noReference=0,wavelet=0'",
    );
  });

  it('restore samples by default as eval scores and LRPO trains (10 DDIM steps, eta 1)', () => {
    // restore once defaulted to 20 steps at eta 0, the sampler that scored worst on the real faces
    // (docs/faces.md, "Sampler settings"): a user's restorations should be what the report measured.
    const defaults = (name: string) => {
      const command = buildProgram().commands.find((c) => c.name() === name)!;
      const option = (flag: string) => command.options.find((o) => o.long === flag)!.defaultValue as unknown;
      return { steps: option('--sampling-steps'), eta: option('--eta') };
    };
    expect(defaults('restore')).toEqual({ steps: 10, eta: 1 });
    expect(defaults('restore')).toEqual(defaults('eval'));
    expect(defaults('restore')).toEqual(RESTORE_DEFAULTS); // the library's restore() samples the same way
  });

  it('accepts one DDIM step but warns that its samples are far from any face', () => {
    const warnings: string[] = [];
    const parse = ddimSteps(1000, (m) => warnings.push(m));
    expect(parse('--sampling-steps', '10')).toEqual(E.right(10));
    expect(warnings).toEqual([]);
    expect(parse('--sampling-steps', '1')).toEqual(E.right(1));
    expect(warnings).toEqual([
      'warning: --sampling-steps 1 samples in a single DDIM step from pure noise: the images come out far from any face; use 5 or more for results.',
    ]);
  });

  it('refuses a DDIM step count the schedule cannot space evenly, in every command, before any work', async () => {
    const expected =
      "must be a divisor of 1000 (DDIM steps are spaced evenly over the 1000-step schedule), e.g. 5, 10, 20, 25, 50, got '3'";
    for (const [command, flag] of [
      ['train', '--sampling-steps'],
      ['ablate', '--sampling-steps'],
      ['eval', '--sampling-steps'],
      ['restore', '--sampling-steps'],
      ['pretrain', '--eval-steps'],
    ]) {
      let stderr = '';
      const program = buildProgram()
        .exitOverride()
        .configureOutput({ writeErr: (s) => (stderr += s) });
      const error = await program.parseAsync(['node', 'webgpu-lrpo', command, flag, '3']).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as CommanderError).exitCode, command).toBe(USAGE_ERROR);
      expect(stderr, command).toContain(`${flag} ${expected}`);
    }
  });

  it('refuses a restoration strength outside [0, 1] in every command that takes one, before any work', async () => {
    for (const [command, flag, value] of [
      ['eval', '--strength', '1.5'],
      ['restore', '--strength', '-0.1'],
      ['demo', '--real-strength', 'half'],
      ['eval', '--strength', ''], // Number('') is 0: a blank value must not read as strength 0
    ]) {
      let stderr = '';
      const program = buildProgram()
        .exitOverride()
        .configureOutput({ writeErr: (s) => (stderr += s) });
      const error = await program.parseAsync(['node', 'webgpu-lrpo', command, flag, value]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((error as CommanderError).exitCode, command).toBe(USAGE_ERROR);
      expect(stderr, command).toContain(`${flag} must be a number in [0, 1], got '${value}'`);
    }
  });

  it('`webgpu-lrpo train --steps -1 --lr abc` names every problem and exits with 2', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'train', '--steps', '-1', '--lr', 'abc'],
      { cwd: root, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(
      "error: 4 problems with the options of 'train':\n" +
        '  --run is required: pass --run <dir>\n' +
        '  --init is required: pass --init <checkpoint>\n' +
        "  --steps must be a positive integer, got '-1'\n" +
        "  --lr must be a number >= 0, got 'abc'\n" +
        '(add --help for the options)\n',
    );
  });
});
