// Merges the ablation.json files of several `ablate` runs of one study (same SFT checkpoint,
// steps, evaluation set and faces; e.g. a control row run later, or more seeds) into one table:
//   npx tsx scripts/merge-ablations.ts [--seeds 0,1,2] <out.md> <run>/ablation.json [<run> ...]
// A run folder stands for its ablation.json, or, for a study that was interrupted before writing
// one, for the 'result' lines of its metrics.jsonl (one per finished method and seed).
// A row present in several files (SFT, usually) must hold the same numbers for the same seed in
// each, which checks that the runs really scored the same faces with the same sampling noise.
// Studies that set a GT-regularization weight (--gt-weight) name their GT-regularized rows with
// it, so runs of a weight sweep merge into one table.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ABLATION_ROWS, ablationMarkdown } from '../src/cli/commands/ablate.js';
import { evalSetLabel } from '../src/train/eval-sets.js';
import type { AblationRow } from '../src/report/index.js';

interface Saved {
  readonly options: {
    readonly init: string;
    readonly steps: number;
    readonly seeds: number[];
    readonly set: string;
    readonly count: number;
    readonly trainCount: number;
    readonly overrides?: { readonly gtRegularization?: { readonly weight?: number } } & Record<string, unknown>;
  };
  /** sha256 of the start checkpoint's file (ablation.json since 2026-12-06; absent in older files and interrupted runs). */
  readonly initSha256?: string;
  readonly rows: { readonly method: string; readonly perSeed: Record<string, number>[]; readonly seeds?: number[] }[];
}

const args = process.argv.slice(2);
// --seeds keeps only those seeds (e.g. the ones every row finished).
const seedsFlag = args[0] === '--seeds' ? new Set(args.splice(0, 2)[1].split(',').map(Number)) : undefined;
const [out, ...files] = args;
if (!out || files.length === 0) {
  process.stderr.write(
    'usage: npx tsx scripts/merge-ablations.ts [--seeds 0,1,2] <out.md> <ablation.json or run folder> [...]\n',
  );
  process.exit(1);
}
/** An ablation.json, or a run folder (its ablation.json, else its config.json and metrics.jsonl results). */
function readStudy(path: string): Saved {
  if (!statSync(path).isDirectory()) return JSON.parse(readFileSync(path, 'utf8')) as Saved;
  if (existsSync(join(path, 'ablation.json'))) return readStudy(join(path, 'ablation.json'));
  const options = JSON.parse(readFileSync(join(path, 'config.json'), 'utf8')) as Saved['options'];
  const rows = new Map<string, { method: string; seeds: number[]; perSeed: Record<string, number>[] }>();
  for (const line of readFileSync(join(path, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const { event, method, seed, time: _time, ...means } = JSON.parse(line);
    if (event !== 'result') continue;
    const name = ABLATION_ROWS.find((r) => r.method === method)?.name ?? String(method);
    const row = rows.get(name) ?? { method: name, seeds: [], perSeed: [] };
    row.seeds.push(seed);
    row.perSeed.push(means);
    rows.set(name, row);
  }
  return { options, rows: [...rows.values()] };
}

/** Rows whose method uses GT regularization, named with the study's weight when it set one (a weight sweep). */
const GT_REG_ROWS = new Set(['gtReg', 'lrpo'].map((m) => ABLATION_ROWS.find((r) => r.method === m)!.name));
function labelGtWeight(study: Saved): Saved {
  const weight = study.options.overrides?.gtRegularization?.weight;
  if (weight === undefined) return study;
  return {
    ...study,
    rows: study.rows.map((r) =>
      GT_REG_ROWS.has(r.method) ? { ...r, method: `${r.method} (GT weight ${weight})` } : r,
    ),
  };
}

const studies = files.map(readStudy).map(labelGtWeight);
/** What must match for rows to be comparable: the start, the training length and options (but the GT weight), the faces. */
const withoutGtWeight = (o: Saved['options']['overrides']) => {
  const { weight: _w, ...gt } = o?.gtRegularization ?? {};
  return { ...o, gtRegularization: gt };
};
// The start by its contents where every file records them, else by its path (older files).
const byContents = studies.every((s) => s.initSha256 !== undefined);
const identity = (s: Saved) =>
  JSON.stringify([
    byContents ? s.initSha256 : s.options.init,
    s.options.steps,
    s.options.set,
    s.options.count,
    s.options.trainCount,
    withoutGtWeight(s.options.overrides),
  ]);
const mismatch = studies.findIndex((s) => identity(s) !== identity(studies[0]));
if (mismatch >= 0)
  throw new Error(
    `${files[mismatch]} is another study than ${files[0]}: (${byContents ? 'init sha256' : 'init'}, steps, set, count, ` +
      `trainCount, training options) ${identity(studies[mismatch])} vs ${identity(studies[0])}.`,
  );

// method -> seed -> per-seed means; files written before rows carried seeds list them in options order.
const merged = new Map<string, Map<number, Record<string, number>>>();
studies.forEach((study, f) => {
  for (const row of study.rows) {
    const bySeed = merged.get(row.method) ?? new Map<number, Record<string, number>>();
    row.perSeed.forEach((means, i) => {
      const seed = row.seeds?.[i] ?? study.options.seeds[i];
      if (seedsFlag && !seedsFlag.has(seed)) return;
      const earlier = bySeed.get(seed);
      if (earlier && JSON.stringify(earlier) !== JSON.stringify(means)) {
        throw new Error(
          `${files[f]}: "${row.method}" seed ${seed} differs from an earlier file (${JSON.stringify(means)} vs ` +
            `${JSON.stringify(earlier)}); the runs did not score the same faces with the same noise.`,
        );
      }
      bySeed.set(seed, means);
    });
    merged.set(row.method, bySeed);
  }
});
const order = (name: string) => {
  const i = ABLATION_ROWS.findIndex((r) => name.startsWith(r.name));
  return i < 0 ? ABLATION_ROWS.length : i;
};
const rows: AblationRow[] = [...merged.entries()]
  .sort(([a], [b]) => order(a) - order(b))
  .map(([method, bySeed]) => {
    const seeds = [...bySeed.keys()].sort((a, b) => a - b);
    return { method, seeds, perSeed: seeds.map((s) => bySeed.get(s)!) };
  });
const seeds = [...new Set(rows.flatMap((r) => r.seeds ?? []))].sort((a, b) => a - b);
const o = studies[0].options;
writeFileSync(
  out,
  `${ablationMarkdown({ init: o.init, steps: o.steps, seeds, faces: o.count, set: evalSetLabel(o.set) }, rows)}\n`,
);
process.stdout.write(`wrote ${out}: ${rows.length} rows, seeds ${seeds.join(', ')}\n`);
