// Option values of the command line, checked together: every bad value, every missing required
// option and every problem of the config they make is reported in one message, not the first one
// alone (docs/architecture.md, "fp-ts: where and why"). commander parses each value with a
// `Parse` that returns an Either instead of throwing; `checkOptions` collects them once the whole
// command line is read.
import { Option, type Command } from 'commander';
import { sequenceT } from 'fp-ts/lib/Apply.js';
import * as E from 'fp-ts/lib/Either.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { pipe } from 'fp-ts/lib/function.js';

/** One refused option: which, what it was given (undefined: it is missing), and what it accepts. */
export interface OptionProblem {
  /** The option's flag, '--steps'. */
  readonly option: string;
  /** The value as typed; undefined when a required option is missing. */
  readonly value: string | undefined;
  /** What the option accepts, 'a positive integer': the fix. */
  readonly expected: string;
}

/** A value, or every problem found on the way to it. */
export type Checked<A> = E.Either<RNEA.ReadonlyNonEmptyArray<OptionProblem>, A>;

/** Either's applicative with problem lists concatenated: independent checks report together instead of the first winning. */
export const collecting = E.getApplicativeValidation(RNEA.getSemigroup<OptionProblem>());

/** A Left of one problem. */
export const refuse = (option: string, value: string | undefined, expected: string): Checked<never> =>
  E.left(RNEA.of({ option, value, expected }));

/** Parses one option value; `option` is the flag, for the problem it may report. */
export type Parse<A> = (option: string, raw: string) => Checked<A>;

const numberWhere =
  (expected: string, ok: (n: number) => boolean): Parse<number> =>
  (option, raw) => {
    // Number('') and Number('  ') are 0: a blank value is refused, not read as zero.
    const n = raw.trim() === '' ? Number.NaN : Number(raw);
    return ok(n) ? E.right(n) : refuse(option, raw, expected);
  };

export const positiveInt = numberWhere('a positive integer', (n) => Number.isInteger(n) && n >= 1);
/** A DDIM step count: the plan spaces its steps uniformly, so it must divide the schedule's T. */
export const ddimSteps = (T: number, warn: (message: string) => void = (m) => console.warn(m)): Parse<number> => {
  const parse = numberWhere(
    `a divisor of ${T} (DDIM steps are spaced evenly over the ${T}-step schedule), e.g. ${[5, 10, 20, 25, 50].filter((d) => T % d === 0).join(', ')}`,
    (n) => Number.isInteger(n) && n >= 1 && n <= T && T % n === 0,
  );
  return (option, raw) => {
    const steps = parse(option, raw);
    // Allowed (a quick smoke run), but worth a word: one step jumps from t = T - 1 straight to the
    // image, dividing the noise prediction's error by sqrt(alpha_bar) ~ 0.07 (PSNR ~ -10 dB).
    if (E.isRight(steps) && steps.right === 1)
      warn(
        `warning: ${option} 1 samples in a single DDIM step from pure noise: the images come out far from any face; use 5 or more for results.`,
      );
    return steps;
  };
};
export const nonNegativeInt = numberWhere('an integer >= 0', (n) => Number.isInteger(n) && n >= 0);
export const nonNegative = numberWhere('a number >= 0', (n) => Number.isFinite(n) && n >= 0);
export const unitInterval = numberWhere('a number in [0, 1]', (n) => n >= 0 && n <= 1);
/**
 * `name=weight,...` (e.g. `identity=0.3,wavelet=0`): weights by name, each a number >= 0 and a
 * name from `names`; names left out keep their defaults.
 */
export const namedWeights =
  (names: readonly string[]): Parse<Readonly<Record<string, number>>> =>
  (option, raw) => {
    const expected = `name=weight pairs separated by commas, names from ${names.join(', ')}, weights >= 0 (e.g. ${names[0]}=0.5)`;
    const pairs = raw.split(',').map((part) => part.split('='));
    const ok = pairs.every(
      (kv) =>
        kv.length === 2 &&
        names.includes(kv[0].trim()) &&
        kv[1].trim() !== '' &&
        Number.isFinite(Number(kv[1])) &&
        Number(kv[1]) >= 0,
    );
    const keys = pairs.map((kv) => kv[0].trim());
    return ok && new Set(keys).size === keys.length
      ? E.right(Object.fromEntries(pairs.map(([k, v]) => [k.trim(), Number(v)])))
      : refuse(option, raw, expected);
  };
const oneOf =
  (choices: readonly string[]): Parse<string> =>
  (option, raw) =>
    choices.includes(raw) ? E.right(raw) : refuse(option, raw, `one of ${choices.join(', ')}`);

/** What commander stores for a value parsed by a checked option, until checkOptions collects it. */
class Parsed<A> {
  constructor(readonly checked: Checked<A>) {}
}

const requiredOptions = new WeakSet<Option>();

/**
 * An option whose value `parse` checks (each value of a variadic option; the list's problems are
 * collected too). `choices` lists the accepted values in the help and checks them the same way.
 */
export function checkedOption<A>(
  flags: string,
  description: string,
  parse: Parse<A> | null,
  settings: { readonly default?: unknown; readonly choices?: readonly string[]; readonly required?: boolean } = {},
): Option {
  const option = new Option(flags, description);
  const flag = option.long ?? option.short ?? flags;
  const parseOne: Parse<unknown> | null = settings.choices ? oneOf(settings.choices) : parse;
  // choices() first: it sets the help's "(choices: ...)"; argParser then replaces its throwing parser.
  if (settings.choices) option.choices(settings.choices);
  if (parseOne) {
    option.argParser(
      option.variadic
        ? (raw: string, previous: unknown): Parsed<readonly unknown[]> => {
            const one = parseOne(flag, raw);
            // The first value replaces the default; later ones are appended, problems and all.
            if (!(previous instanceof Parsed))
              return new Parsed(
                pipe(
                  one,
                  E.map((v) => [v]),
                ),
              );
            return new Parsed(
              pipe(
                sequenceT(collecting)(previous.checked as Checked<readonly unknown[]>, one),
                E.map(([list, v]) => [...list, v]),
              ),
            );
          }
        : (raw: string) => new Parsed(parseOne(flag, raw)),
    );
  }
  if (settings.default !== undefined) option.default(settings.default);
  if (settings.required) requiredOptions.add(option);
  return option;
}

/** A check across a command's option values (e.g. the config they make), registered by `crossCheck`. */
export type CrossCheck = (values: Readonly<Record<string, unknown>>) => Checked<unknown>;
const crossChecks = new WeakMap<Command, CrossCheck>();

/** Runs `check` on the command's option values that parsed, alongside their own checks. */
export function crossCheck(command: Command, check: CrossCheck): Command {
  crossChecks.set(command, check);
  return command;
}

/** One option's value as read: Right(the value) or Left(its problems). */
function valueOf(command: Command, option: Option): Checked<unknown> {
  const value: unknown = command.getOptionValue(option.attributeName());
  if (value instanceof Parsed) return value.checked;
  if (value === undefined && requiredOptions.has(option))
    return refuse(option.long ?? option.flags, undefined, option.flags);
  return E.right(value);
}

/**
 * Every problem of a command's options at once: each option's own (bad values, missing required
 * options) and the command's cross-check on the values that did parse. Right: the option values
 * by attribute name (options not given and without a default are absent).
 */
export function checkOptions(command: Command): Checked<Record<string, unknown>> {
  const keyed = command.options.map((option) => [option.attributeName(), valueOf(command, option)] as const);
  const parsed = Object.fromEntries(
    keyed.flatMap(([key, v]) => (E.isRight(v) && v.right !== undefined ? [[key, v.right]] : [])),
  );
  const cross = crossChecks.get(command)?.(parsed) ?? E.right(undefined);
  return pipe(
    sequenceT(collecting)(
      pipe(
        keyed,
        RA.traverse(collecting)(([, v]) => v),
      ),
      cross,
    ),
    E.map(() => parsed),
  );
}

/** Replaces the command's option values by checked ones, so its action reads plain values. */
export function setOptionValues(command: Command, values: Readonly<Record<string, unknown>>): void {
  for (const [key, value] of Object.entries(values))
    command.setOptionValueWithSource(key, value, command.getOptionValueSource(key) ?? 'cli');
}

/** The problems as one message: a line each, naming the option, its value and what it accepts. */
export function describeProblems(commandName: string, problems: RNEA.ReadonlyNonEmptyArray<OptionProblem>): string {
  const line = (p: OptionProblem) =>
    p.value === undefined
      ? `${p.option} is required: pass ${p.expected}`
      : `${p.option} must be ${p.expected}, got '${p.value}'`;
  // One option can fail several ways (e.g. the configs of several ablation rows): say each once.
  const lines = [...new Set(problems.map(line))];
  return lines.length === 1
    ? lines[0]
    : `${lines.length} problems with the options of '${commandName}':\n${lines.map((l) => `  ${l}`).join('\n')}`;
}
