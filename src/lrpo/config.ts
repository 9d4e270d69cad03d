// The LRPO configuration (docs/architecture.md, "The LRPO pipeline"): one frozen record of every
// hyper-parameter, with the paper's defaults, a validating builder, switches for every component
// and the ablation presets of the paper's component study.
import { sequenceT } from 'fp-ts/lib/Apply.js';
import * as E from 'fp-ts/lib/Either.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import { flow, pipe } from 'fp-ts/lib/function.js';

/** One thing wrong with a configuration: the field, its value, and what it should be. */
export interface LrpoConfigProblem {
  /** The field's dotted path ('sampling.steps'); for overrides that are not a record, their label. */
  readonly field: string;
  /** The value given. */
  readonly value: unknown;
  /** What the field accepts, e.g. 'an integer >= 2': the fix. */
  readonly expected: string;
  /** The whole sentence, as lrpoConfig's error says it. */
  readonly message: string;
}

/** A configuration value out of range, of the wrong type, or a field that does not exist. */
export class LrpoConfigError extends RangeError {
  override name = 'LrpoConfigError';
  /** Every problem lrpoConfig found (empty for errors raised elsewhere, e.g. groupAdvantages). */
  readonly problems: readonly LrpoConfigProblem[];
  constructor(message: string, problems: readonly LrpoConfigProblem[] = []) {
    super(message);
    this.problems = problems;
  }
}

/**
 * GT-guided likelihood regularization (docs/architecture.md, "The LRPO pipeline",
 * gt-regularization.ts).
 */
export interface GtRegularizationConfig {
  /** Off: L_GT is neither computed nor added (ablations "grpo" and "noiseLevel"). */
  readonly enabled: boolean;
  /** Weight of L_GT in the per-step loss. Paper 0.001. */
  readonly weight: number;
  /** The temperature tau of 1 - exp(log N / tau). Paper 40. */
  readonly temperature: number;
  /**
   * L_GT is added on this many trained steps, the last (least noisy) ones. Paper 5 of 49 trained
   * steps; with fewer sampling steps (small models) keep roughly the same fraction, e.g. 1-2 of 9.
   */
  readonly lastSteps: number;
}

/** The rollout sampler: DDIM with per-step log-probs (src/models/diffusion). */
export interface SamplingConfig {
  /**
   * S, the number of DDIM steps of a rollout (uniform timesteps). Paper 50. The main knob to
   * scale down for small models and CPU runs (e.g. 10-20); it sets the number of trained steps.
   */
  readonly steps: number;
  /** DDIM eta; 1 in the paper (stochastic sampling is what gives a policy a log-prob). In (0, 1]. */
  readonly eta: number;
}

/** AdamW and clipping for the policy update (the paper: AdamW, grad-norm clip 1.0). */
export interface OptimizerConfig {
  /**
   * Learning rate. Not given by the paper; 1e-5 is the usual full fine-tuning rate of
   * diffusion RL (DDPO / Flow-GRPO style). A small model trained from scratch wants a larger
   * rate (e.g. 1e-4..1e-3): choose it for the demo.
   */
  readonly lr: number;
  /** AdamW decoupled weight decay (our default 1e-4; not the paper's). */
  readonly weightDecay: number;
  /** Global gradient-norm clip (clipGradNorm). Paper 1.0; Infinity switches clipping off. */
  readonly gradClip: number;
}

/**
 * The weights of the composite reward's four terms (reward.ts, defaultReward): face identity,
 * perceptual similarity, the no-reference quality term and wavelet fidelity. The paper's: 0.3,
 * 0.3, 0.1, 0.3. A weight of 0 leaves the term out of the total (it is still reported).
 */
export interface RewardWeights {
  readonly identity: number;
  readonly perceptual: number;
  readonly noReference: number;
  readonly wavelet: number;
}

/** Every LRPO hyper-parameter. Build one with `lrpoConfig`: it validates and freezes. */
export interface LrpoConfig {
  /** K, candidates sampled per LQ input (one group). Paper 9; a small-model demo may use 4-8. */
  readonly groupSize: number;
  /** LQ inputs per rollout batch (B; B * K samples per batch). Ours, not the paper's: 2. */
  readonly inputsPerBatch: number;
  /**
   * true (paper): A_i = (r_i - group mean) / (std of the whole batch + advantageStdEps).
   * false: per-group std (GRPO-style), for ablations.
   */
  readonly batchStd: boolean;
  /** The 1e-4 added to the reward std. Paper 1e-4. */
  readonly advantageStdEps: number;
  /** Per-step advantages are clipped to [-advantageClip, advantageClip]. Paper 5; Infinity: no clip. */
  readonly advantageClip: number;
  /** Noise-level advantage assignment A_ij = A_i * s_{t_j} / mean_k s_{t_k}; off: A_ij = A_i. Paper on. */
  readonly noiseLevelWeighting: boolean;
  /** PPO ratio clip eps: rho is clipped to [1 - eps, 1 + eps]. Paper 1e-4. */
  readonly clipEps: number;
  /** Weight of the KL-to-reference term (gaussianKl). Paper 0: off. */
  readonly klWeight: number;
  /**
   * Whether the last sampling step (to t = 0) is trained. Paper false ("last step not trained"):
   * its s_t is the smallest of the trajectory (zero when a sampler ends at alpha = 1, where the
   * step has no log-prob at all).
   */
  readonly trainLastStep: boolean;
  /** Policy updates (PPO epochs) per rollout batch. Ours: 1 (on-policy, rho = 1 at the first update). */
  readonly updatesPerBatch: number;
  /**
   * Trained steps per update: 0 (default) trains all of them; n trains n of them drawn at random
   * per update (DDPO's "timestep fraction"), which buys more samples per update for the same cost.
   * Ours, for small budgets; the paper trains every step.
   */
  readonly stepsPerUpdate: number;
  /**
   * A control, not a method: the rollout's rewards are randomly permuted across the batch before
   * the advantages, so every update has the size and statistics of a real one but carries no
   * information about which sample was better. What it does to the policy is the optimizer-noise
   * floor the other rows are read against (ablation 'shuffled'). Default false.
   */
  readonly shuffleRewards: boolean;
  readonly gtRegularization: GtRegularizationConfig;
  readonly sampling: SamplingConfig;
  readonly optimizer: OptimizerConfig;
  /** What the rollouts are scored by: the default reward's term weights. Paper 0.3 / 0.3 / 0.1 / 0.3. */
  readonly rewardWeights: RewardWeights;
}

/** Overrides of any subset of fields, nested records included (merged field by field). */
export type LrpoConfigOverrides = {
  readonly [K in keyof LrpoConfig]?: LrpoConfig[K] extends object
    ? { readonly [F in keyof LrpoConfig[K]]?: LrpoConfig[K][F] }
    : LrpoConfig[K];
};

/**
 * The defaults: the paper's and its authors' code's where they give a value, ours (marked)
 * elsewhere (docs/architecture.md, "The LRPO pipeline").
 */
export const LRPO_DEFAULTS: LrpoConfig = deepFreeze({
  groupSize: 9,
  inputsPerBatch: 2,
  batchStd: true,
  advantageStdEps: 1e-4,
  advantageClip: 5,
  noiseLevelWeighting: true,
  clipEps: 1e-4,
  klWeight: 0,
  trainLastStep: false,
  updatesPerBatch: 1,
  stepsPerUpdate: 0,
  shuffleRewards: false,
  gtRegularization: { enabled: true, weight: 0.001, temperature: 40, lastSteps: 5 },
  sampling: { steps: 50, eta: 1 },
  optimizer: { lr: 1e-5, weightDecay: 1e-4, gradClip: 1 },
  rewardWeights: { identity: 0.3, perceptual: 0.3, noReference: 0.1, wavelet: 0.3 },
});

/** The names of the paper's component study (its ablation table). */
export type AblationName = 'grpo' | 'noiseLevel' | 'gtReg' | 'lrpo' | 'shuffled';

/**
 * The component study as overrides; every preset sets both switches explicitly, so it wins over
 * whatever came before it: `lrpoConfig(myOverrides, ABLATIONS.grpo)`.
 * - grpo: plain group-relative PPO (no noise-level weighting, no GT regularization)
 * - noiseLevel: + noise-level advantage assignment
 * - gtReg: + GT-guided likelihood regularization only
 * - lrpo: both (the full method)
 * - shuffled: grpo on randomly permuted rewards, the noise-floor control (see shuffleRewards)
 * All keep the paper's batch std; set `batchStd: false` on top for GRPO's per-group std.
 */
export const ABLATIONS: Readonly<Record<AblationName, LrpoConfigOverrides>> = deepFreeze({
  grpo: { noiseLevelWeighting: false, gtRegularization: { enabled: false }, shuffleRewards: false },
  noiseLevel: { noiseLevelWeighting: true, gtRegularization: { enabled: false }, shuffleRewards: false },
  gtReg: { noiseLevelWeighting: false, gtRegularization: { enabled: true }, shuffleRewards: false },
  lrpo: { noiseLevelWeighting: true, gtRegularization: { enabled: true }, shuffleRewards: false },
  shuffled: { noiseLevelWeighting: false, gtRegularization: { enabled: false }, shuffleRewards: true },
});

type Check = (v: unknown) => boolean;
interface FieldSpec {
  readonly check: Check;
  readonly allowed: string;
}
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
const integerAtLeast = (lo: number): FieldSpec => ({
  check: (v) => isNum(v) && Number.isInteger(v) && v >= lo,
  allowed: `an integer >= ${lo}`,
});
const positiveFinite: FieldSpec = {
  check: (v) => isNum(v) && v > 0 && Number.isFinite(v),
  allowed: 'a finite number > 0',
};
const nonNegativeFinite: FieldSpec = {
  check: (v) => isNum(v) && v >= 0 && Number.isFinite(v),
  allowed: 'a finite number >= 0',
};
const positiveOrInfinity: FieldSpec = {
  check: (v) => isNum(v) && v > 0,
  allowed: 'a number > 0 (Infinity switches it off)',
};
const boolean: FieldSpec = { check: (v) => typeof v === 'boolean', allowed: 'true or false' };

/** The range of every leaf field, by path. */
const FIELDS: Readonly<Record<string, FieldSpec>> = {
  groupSize: { ...integerAtLeast(2), allowed: 'an integer >= 2 (a group needs two candidates to compare)' },
  inputsPerBatch: integerAtLeast(1),
  batchStd: boolean,
  advantageStdEps: positiveFinite,
  advantageClip: positiveOrInfinity,
  noiseLevelWeighting: boolean,
  clipEps: { check: (v) => isNum(v) && v > 0 && v < 1, allowed: 'a number in (0, 1)' },
  klWeight: nonNegativeFinite,
  trainLastStep: boolean,
  updatesPerBatch: integerAtLeast(1),
  stepsPerUpdate: integerAtLeast(0),
  shuffleRewards: boolean,
  'gtRegularization.enabled': boolean,
  'gtRegularization.weight': nonNegativeFinite,
  'gtRegularization.temperature': positiveFinite,
  'gtRegularization.lastSteps': integerAtLeast(1),
  'sampling.steps': integerAtLeast(1),
  'sampling.eta': {
    check: (v) => isNum(v) && v > 0 && v <= 1,
    allowed: 'a number in (0, 1] (eta = 0 is deterministic DDIM: no log-prob to optimize)',
  },
  'optimizer.lr': positiveFinite,
  'optimizer.weightDecay': nonNegativeFinite,
  'optimizer.gradClip': positiveOrInfinity,
  'rewardWeights.identity': nonNegativeFinite,
  'rewardWeights.perceptual': nonNegativeFinite,
  'rewardWeights.noReference': nonNegativeFinite,
  'rewardWeights.wavelet': nonNegativeFinite,
};

const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);

/** Every problem at once, or the value: the Left of a validation holds them all. */
type Validated<A> = E.Either<RNEA.ReadonlyNonEmptyArray<LrpoConfigProblem>, A>;
/** Either's applicative with problem lists concatenated: independent checks report together instead of the first winning. */
const collecting = E.getApplicativeValidation(RNEA.getSemigroup<LrpoConfigProblem>());
const traverseAll = RA.traverse(collecting);
const problem = (field: string, value: unknown, expected: string, message: string): Validated<never> =>
  E.left(RNEA.of({ field, value, expected, message }));

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** `base` with `overrides` merged in field by field (nested records too); every unknown field and non-record is a problem. */
function mergeInto(
  base: Record<string, unknown>,
  overrides: unknown,
  path: string,
  label: string,
): Validated<Record<string, unknown>> {
  if (overrides === undefined) return E.right(base);
  if (!isRecord(overrides)) {
    return problem(
      path || label,
      overrides,
      'a record of fields',
      `${path || label} must be a record of fields, got ${show(overrides)}.`,
    );
  }
  const mergeField = ([k, v]: [string, unknown]): Validated<readonly [string, unknown]> => {
    const field = path ? `${path}.${k}` : k;
    if (!Object.hasOwn(base, k)) {
      const fields = Object.keys(base).join(', ');
      return problem(
        field,
        v,
        `one of ${fields}`,
        `unknown field "${field}"; the fields${path ? ` of ${path}` : ''} are ${fields}.`,
      );
    }
    const current = base[k];
    if (v === undefined) return E.right([k, current]);
    return isRecord(current)
      ? pipe(
          mergeInto(current, v, field, label),
          E.map((merged) => [k, merged] as const),
        )
      : E.right([k, v]);
  };
  return pipe(
    Object.entries(overrides),
    traverseAll(mergeField),
    E.map((entries) => ({ ...base, ...Object.fromEntries(entries) })),
  );
}

/** One leaf field against its range (FIELDS). */
function checkField(merged: Record<string, unknown>, path: string): Validated<unknown> {
  const spec = FIELDS[path];
  const value = path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], merged);
  return spec.check(value)
    ? E.right(value)
    : problem(path, value, spec.allowed, `${path} is ${show(value)}; expected ${spec.allowed}.`);
}

/** The fields checkSteps reads. */
const STEP_FIELDS = ['sampling.steps', 'trainLastStep', 'gtRegularization.enabled', 'gtRegularization.lastSteps'];

/**
 * Every leaf field against its range, and the checks between the step fields once those are in
 * range (whatever the other fields hold), all reported together.
 */
const checkFields = (merged: Record<string, unknown>): Validated<LrpoConfig> =>
  pipe(
    sequenceT(collecting)(
      pipe(
        Object.keys(FIELDS),
        traverseAll((path) => checkField(merged, path)),
      ),
      STEP_FIELDS.every((path) => E.isRight(checkField(merged, path)))
        ? checkSteps(merged as unknown as LrpoConfig)
        : E.right(undefined),
      checkRewardWeights(merged),
    ),
    E.map(() => merged as unknown as LrpoConfig),
  );

/** A reward of all-zero weights scores every sample 0: nothing to learn from. */
function checkRewardWeights(merged: Record<string, unknown>): Validated<unknown> {
  const weights = merged.rewardWeights as Record<string, unknown>;
  const values = Object.values(weights);
  return values.every(isNum) && values.every((w) => w <= 0)
    ? problem(
        'rewardWeights',
        weights,
        'at least one weight > 0',
        `rewardWeights are all 0 (${show(weights)}); every sample would score 0, so give at least one term a weight > 0.`,
      )
    : E.right(weights);
}

/** The checks between the step fields, on a config whose step fields are each in range. */
function checkSteps(config: LrpoConfig): Validated<LrpoConfig> {
  const trained = trainedSteps(config).length;
  const { steps } = config.sampling;
  if (trained < 1) {
    return problem(
      'sampling.steps',
      steps,
      'an integer >= 2 (or trainLastStep: true)',
      `sampling.steps is ${steps} with trainLastStep false, which leaves no step to train; use sampling.steps >= 2 or trainLastStep: true.`,
    );
  }
  const { enabled, lastSteps } = config.gtRegularization;
  if (enabled && lastSteps > trained) {
    return problem(
      'gtRegularization.lastSteps',
      lastSteps,
      `an integer in 1..${trained} (${trained} of the ${steps} sampling steps are trained)`,
      `gtRegularization.lastSteps is ${lastSteps} but only ${trained} step(s) are trained ` +
        `(sampling.steps ${steps}, trainLastStep ${config.trainLastStep}); expected an integer in 1..${trained}.`,
    );
  }
  return E.right(config);
}

/** The sampling-step indices (0 = the first, noisiest step of a rollout) whose log-prob is trained, in order. */
export function trainedSteps(config: Pick<LrpoConfig, 'sampling' | 'trainLastStep'>): number[] {
  const n = config.trainLastStep ? config.sampling.steps : config.sampling.steps - 1;
  return Array.from({ length: Math.max(0, n) }, (_, j) => j);
}

/** The sampling-step indices that also get L_GT: the last `gtRegularization.lastSteps` trained steps (none when disabled). */
export function gtSteps(config: Pick<LrpoConfig, 'sampling' | 'trainLastStep' | 'gtRegularization'>): number[] {
  if (!config.gtRegularization.enabled) return [];
  const trained = trainedSteps(config);
  return trained.slice(Math.max(0, trained.length - config.gtRegularization.lastSteps));
}

/**
 * Builds an LrpoConfig: LRPO_DEFAULTS with the overrides merged in order, field by field (nested
 * records too), validated and deep-frozen. Throws LrpoConfigError naming the field, the value
 * and the allowed range; unknown fields are errors (typo guard).
 * `lrpoConfig(ABLATIONS.grpo, { groupSize: 4, sampling: { steps: 10 } })`.
 */
export function lrpoConfig(...overrides: readonly (LrpoConfigOverrides | undefined)[]): LrpoConfig {
  return pipe(
    validateLrpoConfig(...overrides),
    E.getOrElse((problems): LrpoConfig => {
      throw configError(problems);
    }),
  );
}

/**
 * lrpoConfig without the throw: Right(the frozen config), or Left(every problem found). Problems
 * of the overrides' shape (unknown fields, non-records) and of the fields' ranges are collected,
 * not just the first; the checks between fields (enough sampling steps for the trained and GT
 * steps) run once the fields they read are in range.
 */
export function validateLrpoConfig(
  ...overrides: readonly unknown[]
): E.Either<RNEA.ReadonlyNonEmptyArray<LrpoConfigProblem>, LrpoConfig> {
  const defaults = LRPO_DEFAULTS as unknown as Record<string, unknown>;
  // Each override merges into the ones before it; after a failed one, into the defaults (same
  // fields), so the later overrides are still checked.
  const merged = overrides.reduce<Validated<Record<string, unknown>>>((acc, o, i) => {
    const next = mergeInto(
      E.isRight(acc) ? acc.right : defaults,
      o,
      '',
      overrides.length > 1 ? `overrides[${i}]` : 'overrides',
    );
    return pipe(
      sequenceT(collecting)(acc, next),
      E.map(([, latest]) => latest),
    );
  }, E.right(defaults));
  return pipe(
    merged,
    E.chain(checkFields),
    E.map((config) => deepFreeze(structuredClone(config))),
  );
}

/** The LrpoConfigError of a list of problems: one sentence each. */
function configError(problems: RNEA.ReadonlyNonEmptyArray<LrpoConfigProblem>): LrpoConfigError {
  const op = 'lrpoConfig';
  const message =
    problems.length === 1
      ? `${op}: ${problems[0].message}`
      : `${op}: ${problems.length} problems:\n${problems.map((p) => `  - ${p.message}`).join('\n')}`;
  return new LrpoConfigError(message, problems);
}

/** lrpoConfig as an fp-ts Either, for decoding configs read from files or the command line. */
export const decodeLrpoConfig: (overrides: unknown) => E.Either<LrpoConfigError, LrpoConfig> = flow(
  (overrides: unknown) => validateLrpoConfig(overrides),
  E.mapLeft(configError),
);

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object') {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}
