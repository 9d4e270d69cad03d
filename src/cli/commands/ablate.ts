// `ablate`: the shape of the paper's component study — SFT, plain GRPO (no noise-level weighting,
// no GT regularization), + noise-level, + GT regularization, full LRPO, and direct reward
// backprop — each trained from the same SFT checkpoint for several seeds and scored on the same
// held-out faces; one table of per-seed means with 95% intervals over seeds.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { disposeTree } from '../../index.js';
import { ablationDeltaTable, ablationTable, type AblationRow } from '../../report/index.js';
import { loadCheckpoint } from '../../train/checkpoint.js';
import { evalSet, evalSetLabel, type EvalSetName } from '../../train/eval-sets.js';
import { disposeMetricContext, metricContext, type MetricName } from '../../train/evaluate.js';
import { policyOfCheckpoint } from '../../train/policy.js';
import { openRun } from '../../train/run-dir.js';
import { meanInterval } from '../../train/stats.js';
import { evaluateMethods, policyRestorer } from './eval.js';
import { requireRealFaces } from '../requirements.js';
import { train, trainConfig, type TrainMethod } from './train.js';
import type { LrpoConfigOverrides, RewardWeights } from '../../lrpo/config.js';
import { DEFAULT_REWARD_WEIGHTS, lrpoReward } from '../../lrpo/reward.js';

/** The study's rows, in the paper's order, with their report names. */
export const ABLATION_ROWS: readonly { readonly method: TrainMethod | 'sft'; readonly name: string }[] = [
  { method: 'sft', name: 'SFT (start)' },
  { method: 'grpo', name: 'GRPO (no noise-level, no GT reg.)' },
  { method: 'noiseLevel', name: '+ noise-level advantages' },
  { method: 'gtReg', name: '+ GT regularization' },
  { method: 'lrpo', name: 'LRPO (both)' },
  { method: 'rewardBackprop', name: 'Reward backprop (DRaFT-1)' },
  { method: 'shuffled', name: 'Control: GRPO on shuffled rewards' },
];

export interface AblateOptions {
  readonly run: string;
  readonly init: string;
  readonly steps: number;
  readonly seeds: readonly number[];
  readonly methods: readonly (TrainMethod | 'sft')[];
  readonly set: EvalSetName;
  readonly count: number;
  readonly trainCount: number;
  /** LRPO overrides for every trained row (on top of SMALL_LRPO; each row's switches still apply). */
  readonly overrides?: LrpoConfigOverrides;
  readonly resume?: boolean;
  readonly quiet?: boolean;
}

const TABLE_METRICS: readonly MetricName[] = ['reward', 'perceptual', 'identity', 'psnr', 'ssim', 'lmd'];

/** What an ablation table's caption says about the study. */
export interface AblationSetting {
  readonly init: string;
  readonly steps: number;
  readonly seeds: readonly number[];
  readonly faces: number;
  readonly set: string;
  /** The reward the rows were trained and scored with; named in the caption where it is not the default. */
  readonly rewardWeights?: RewardWeights;
}

const listWeights = (weights: RewardWeights): string =>
  Object.entries(weights)
    .map(([k, w]) => `${k} ${w}`)
    .join(', ');

/** The caption's sentence on the reward, where its weights are not the default ones. */
const rewardCaption = (weights: RewardWeights | undefined): string =>
  weights === undefined || listWeights(weights) === listWeights(DEFAULT_REWARD_WEIGHTS)
    ? ''
    : ` The reward (trained on and scored) weighs its terms ${listWeights(weights)} (the default: ${listWeights(DEFAULT_REWARD_WEIGHTS)}).`;

/** The study as markdown: the per-seed table, then the paired differences from SFT (when it is a row). */
export function ablationMarkdown(s: AblationSetting, rows: readonly AblationRow[]): string {
  const baseline = ABLATION_ROWS[0].name;
  const hasBaseline = rows.some((r) => r.method === baseline) && rows.length > 1;
  return [
    `# Ablation: LRPO components (${s.seeds.length} seed${s.seeds.length === 1 ? '' : 's'}, ${s.steps} steps each)`,
    '',
    `Every method starts from ${relative(process.cwd(), s.init) || s.init} and is scored ` +
      `on ${s.faces} faces of the ${s.set} set with the same sampling noise; ` +
      `cells are the mean over seeds of each seed's mean over faces, ± the 95% interval over seeds.` +
      rewardCaption(s.rewardWeights),
    '',
    ablationTable(rows, TABLE_METRICS),
    ...(hasBaseline
      ? [
          '',
          `Paired differences from ${baseline}, seed by seed (same sampling noise, same faces), mean ± the 95% interval over seeds; ` +
            `bold where the interval excludes 0, i.e. beyond the seed-to-seed spread:`,
          '',
          ablationDeltaTable(rows, baseline, TABLE_METRICS),
        ]
      : []),
  ].join('\n');
}

/** Runs every (method, seed), writes ablation.md and ablation.json into the run folder (after each one, so far); returns the markdown. */
export async function ablate(o: AblateOptions): Promise<string> {
  const { run: runPath, resume, quiet, ...recorded } = o;
  requireRealFaces('ablate', [o.set], 'pass --data synthetic (or a folder of face images)');
  const run = openRun(runPath, 'ablate', recorded, { resume });
  try {
    const say = (msg: string) => quiet || process.stderr.write(`${msg}\n`);
    const sft = await loadCheckpoint(o.init, { withOptimizer: false });
    // The start's contents, not only its path: merge-ablations refuses to join studies whose
    // starts differ (a committed checkpoint keeps its name when it is retrained).
    const initSha256 = createHash('sha256').update(readFileSync(o.init)).digest('hex');
    const policy = policyOfCheckpoint(sft.info);
    disposeTree(sft.params);
    const pairs = await evalSet(o.set, { size: policy.imageSize, count: o.count, seed: 0 });
    // A user folder trains on its training part and is scored on its held-out part, 'photo' on
    // photographic faces; 'real' (22 faces, evaluation only) and 'synthetic' train on cartoon faces.
    const trainData = o.set === 'synthetic' || o.set === 'real' ? 'synthetic' : o.set;
    // Every row is scored with the reward the trained rows optimise (the study's --reward-weights).
    const trained = trainConfig('lrpo', o.overrides ?? {});
    const { rewardWeights } = trained;
    const ctx = metricContext((recognition) => lrpoReward(recognition, trained));
    const perMethod = new Map<string, { seeds: number[]; perSeed: Partial<Record<MetricName, number>>[] }>();
    // Rewritten after every (method, seed): an interrupted study still leaves its tables so far.
    const writeTables = (): string => {
      const rows = [...perMethod.entries()].map(([method, scored]) => ({ method, ...scored }));
      const seeds = [...new Set(rows.flatMap((r) => r.seeds))];
      const markdown = ablationMarkdown(
        { init: o.init, steps: o.steps, seeds, faces: pairs.count, set: evalSetLabel(o.set), rewardWeights },
        rows,
      );
      writeFileSync(join(run.path, 'ablation.md'), `${markdown}\n`);
      writeFileSync(join(run.path, 'ablation.json'), JSON.stringify({ options: recorded, initSha256, rows }, null, 1));
      return markdown;
    };
    for (const seed of o.seeds) {
      for (const row of ABLATION_ROWS.filter((r) => o.methods.includes(r.method))) {
        const checkpoint =
          row.method === 'sft'
            ? o.init
            : await train({
                run: join(run.path, `${row.method}-seed${seed}`),
                init: o.init,
                steps: o.steps,
                ablation: row.method,
                overrides: o.overrides ?? {},
                trainCount: o.trainCount,
                checkpointEvery: o.steps,
                seed,
                resume: true,
                quiet,
                data: trainData,
              });
        const { params } = await loadCheckpoint(checkpoint, { withOptimizer: false });
        try {
          const sampling = { steps: trainConfig('lrpo', o.overrides ?? {}).sampling.steps, eta: 1, seed: 1000 + seed };
          const [result] = await evaluateMethods(
            ctx,
            [{ name: row.name, restorer: policyRestorer(policy, params, sampling) }],
            pairs,
            evalSetLabel(o.set),
            { metrics: TABLE_METRICS, quiet },
          );
          const means = Object.fromEntries(
            TABLE_METRICS.map((m) => [m, meanInterval(result.scores[m]!).mean]),
          ) as Partial<Record<MetricName, number>>;
          const scored = perMethod.get(row.name) ?? { seeds: [], perSeed: [] };
          perMethod.set(row.name, { seeds: [...scored.seeds, seed], perSeed: [...scored.perSeed, means] });
          run.log({ event: 'result', method: row.method, seed, ...means });
          say(`ablate: ${row.name}, seed ${seed}: reward ${means.reward?.toFixed(4)}, PSNR ${means.psnr?.toFixed(2)}`);
          writeTables();
        } finally {
          disposeTree(params);
        }
      }
    }
    disposeMetricContext(ctx);
    return writeTables();
  } finally {
    run.close();
  }
}
