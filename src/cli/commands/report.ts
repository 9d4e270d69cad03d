// `report`: (re)writes report.md and its figures. From a demo run folder it re-renders the saved
// report data; from `eval --out` files and `train` run folders it builds a new report.
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readRegularFile } from '../../io/regular-file.js';
import { join } from 'node:path';
import { writeReport, type MethodEvaluation, type ReportData } from '../../report/index.js';
import { readRunLog } from '../../train/run-dir.js';

/** ReportData as JSON (typed arrays become plain arrays). */
export function reportDataToJson(data: ReportData): unknown {
  return JSON.parse(
    JSON.stringify(data, (_k, v) => (ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v)),
  );
}

/** ReportData from its JSON form (image rows back to Float32Array). */
export function reportDataFromJson(json: unknown): ReportData {
  const data = json as ReportData & { grid?: { rows: number[][][] } };
  return data.grid
    ? { ...data, grid: { ...data.grid, rows: data.grid.rows.map((row) => row.map((img) => Float32Array.from(img))) } }
    : data;
}

export interface ReportOptions {
  readonly run: string;
  /** `eval --out` JSON files to tabulate. */
  readonly evals: readonly string[];
  /** `train` run folders whose reward curves to plot. */
  readonly trains: readonly string[];
  readonly title?: string;
}

interface EvalResult {
  readonly method: string;
  readonly set: string;
  readonly scores: Record<string, number[]>;
}

/** The parsed JSON of `file`, a regular file only (/dev/zero or a FIFO would never finish reading); else `fail`. */
async function readJson(file: string, fail: (why: string) => never): Promise<unknown> {
  const bytes = await readRegularFile(file, (what) => fail(`cannot be read: ${what}`));
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    return fail(`cannot be read as JSON (${(e as Error).message})`);
  }
}

/** The results of an `eval --out` file, or an error naming the file and what is wrong with it. */
async function evalResultsOf(file: string): Promise<EvalResult[]> {
  const fail = (why: string): never => {
    throw new Error(`report: ${file} ${why}; pass a JSON file written by \`eval --out ${file}\`.`);
  };
  const json = await readJson(file, fail);
  const results = (json as { results?: unknown } | null)?.results;
  if (!Array.isArray(results)) return fail('has no "results" list');
  results.forEach((r: Partial<EvalResult> | null, i) => {
    const scoresOk =
      typeof r?.scores === 'object' &&
      r.scores !== null &&
      Object.values(r.scores).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number'));
    if (typeof r?.method !== 'string' || typeof r.set !== 'string' || !scoresOk)
      fail(`has a results[${i}] that is not { method, set, scores: { metric: number[] } }`);
  });
  return results as EvalResult[];
}

/** The saved report data of a demo run folder, or an error naming the file and the fix. */
async function savedReportData(saved: string): Promise<ReportData> {
  const fail = (why: string): never => {
    throw new Error(`report: ${saved} ${why}; rerun the demo into a new --run folder to write it anew.`);
  };
  return reportDataFromJson(await readJson(saved, fail));
}

/**
 * Refuses a folder a new report must not be written into: one that holds files but no report
 * (a folder of the user's own: report.md there is theirs), or a run folder (its report is the
 * run's: \`report --run <folder>\` alone re-renders it).
 */
function requireReportFolder(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory())
    throw new Error(
      `report: --run ${dir} is a file, not a folder; pass a folder for the report (it is made if missing).`,
    );
  const entries = readdirSync(dir);
  if (entries.includes('config.json'))
    throw new Error(
      `report: ${dir} is a run folder; a report built from --eval/--train would replace its own. Pass a new --run folder (or \`report --run ${dir}\` alone to re-render the run's report).`,
    );
  if (entries.length > 0 && !entries.includes('report-data.json'))
    throw new Error(
      `report: ${dir} holds files (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}) but no report; pass a new or empty --run folder so nothing of yours is written over.`,
    );
}

/** Writes the report into `run`; returns the written paths. */
export async function report(o: ReportOptions): Promise<string[]> {
  const saved = join(o.run, 'report-data.json');
  if (o.evals.length === 0 && o.trains.length === 0) {
    if (!existsSync(saved))
      throw new Error(
        `report: ${o.run} has no report-data.json (only demo runs save one); pass --eval <eval.json> and/or --train <run folder> to build a report.`,
      );
    return writeReport(o.run, await savedReportData(saved));
  }
  requireReportFolder(o.run);
  const evaluations: MethodEvaluation[] = [];
  for (const file of o.evals) {
    if (!existsSync(file)) throw new Error(`report: ${file} does not exist; write it with \`eval --out ${file}\`.`);
    for (const r of await evalResultsOf(file)) evaluations.push({ method: r.method, dataset: r.set, scores: r.scores });
  }
  const rewardCurves = o.trains.map((dir) => {
    const steps = readRunLog(dir).filter((e) => e.event === 'step' && e.rewardMean !== undefined);
    if (steps.length === 0)
      throw new Error(`report: ${dir} has no LRPO steps in metrics.jsonl; pass a folder written by \`train\`.`);
    return {
      method: dir.split('/').filter(Boolean).pop() ?? dir,
      points: steps.map((e) => ({ step: Number(e.step), mean: Number(e.rewardMean), std: Number(e.rewardStd) })),
    };
  });
  const data: ReportData = {
    title: o.title ?? 'Face restoration report',
    setup: [
      ['Evaluations', o.evals.join(', ') || '-'],
      ['Training runs', o.trains.join(', ') || '-'],
    ],
    evaluations,
    rewardCurves,
    tradeoff: { x: 'psnr', y: 'perceptual' },
  };
  mkdirSync(o.run, { recursive: true });
  writeFileSync(saved, JSON.stringify(reportDataToJson(data)));
  return writeReport(o.run, data);
}
