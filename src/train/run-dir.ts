// A run folder: config.json (what was asked), metrics.jsonl (one JSON line per event), and
// checkpoints/ (safetensors, written atomically). A run resumes from its newest checkpoint.
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readRegularFileSync } from '../io/regular-file.js';
import { lockRunDir } from './run-lock.js';

export class RunDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunDirError';
  }
}

export interface RunDir {
  readonly path: string;
  /** The path of the checkpoint written after `step` updates. */
  checkpointPath(step: number): string;
  /** The newest checkpoint and its step, if any. */
  latestCheckpoint(): { path: string; step: number } | undefined;
  /** Appends one JSON line to metrics.jsonl (with a wall-clock timestamp). */
  log(event: Record<string, unknown>): void;
  /** Every line of metrics.jsonl, parsed. */
  readLog(): Record<string, unknown>[];
  /** The config the run was created with. */
  readonly config: Record<string, unknown>;
  /**
   * Drops the metrics.jsonl events of steps after `step` (those logged after the checkpoint a
   * resume starts from, which the resumed run logs again).
   */
  trimLogAfter(step: number): void;
  /** Releases the folder's lock (idempotent; also released when the process exits). */
  close(): void;
}

const CHECKPOINT = /^step-(\d+)\.safetensors$/;

/** The config.json of an earlier run in the folder, or an error: a config.json that is not a run's is the user's, not ours to replace. */
function runConfigAt(configPath: string): Record<string, unknown> {
  // A regular file only: a FIFO planted as config.json would block the read forever.
  const bytes = readRegularFileSync(configPath, (what) => {
    throw new RunDirError(`${configPath} cannot be read: ${what}; choose a new --run folder.`);
  });
  let config: unknown;
  try {
    config = JSON.parse(bytes.toString('utf8'));
  } catch {
    config = undefined;
  }
  if (typeof config !== 'object' || config === null || typeof (config as { kind?: unknown }).kind !== 'string')
    throw new RunDirError(
      `${configPath} is not a run's config.json (no "kind"); this folder holds something else: choose a new --run folder (a run writes config.json, metrics.jsonl and checkpoints/ into it).`,
    );
  return config as Record<string, unknown>;
}

const checkpointsIn = (dir: string): { path: string; step: number }[] =>
  (existsSync(join(dir, 'checkpoints')) ? readdirSync(join(dir, 'checkpoints')) : [])
    .map((f) => CHECKPOINT.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ path: join(dir, 'checkpoints', m[0]), step: Number(m[1]) }))
    .sort((a, b) => b.step - a.step);

/**
 * Opens (or creates) the run folder `path` for `kind` ('pretrain', 'train', ...) and locks it for
 * this process (a second process is refused until `close()` or exit). An existing run must have
 * been made by the same kind with the same config (its resumable identity), else it is refused:
 * pass a new folder, or --resume with the same options. A folder without a checkpoint holds
 * nothing to resume (an attempt that failed at start, or was stopped before its first
 * checkpoint): a new attempt replaces its config.json and metrics.jsonl. A path that is a file,
 * or a folder whose config.json is not a run's, is refused and left untouched.
 */
export function openRun(
  path: string,
  kind: string,
  config: Record<string, unknown>,
  { resume = false }: { resume?: boolean } = {},
): RunDir {
  const dir = resolve(path);
  const configPath = join(dir, 'config.json');
  const metricsPath = join(dir, 'metrics.jsonl');
  const wanted: Record<string, unknown> = { kind, ...config };
  if (existsSync(dir) && !statSync(dir).isDirectory())
    throw new RunDirError(`--run ${dir} is a file, not a folder; pass a folder for the run (it is made if missing).`);
  // A run writes config.json and metrics.jsonl into the folder: never over a config.json of
  // something else (`--run .` in a project, a folder of the user's own).
  const existing = existsSync(configPath) ? runConfigAt(configPath) : undefined;
  mkdirSync(join(dir, 'checkpoints'), { recursive: true });
  const unlock = lockRunDir(dir, (message) => new RunDirError(message));
  try {
    if (existing && checkpointsIn(dir).length > 0) {
      if (!resume)
        throw new RunDirError(
          `${dir} already holds a '${String(existing.kind)}' run; pass --resume to continue it, or choose a new --run folder.`,
        );
      const diff = Object.keys({ ...existing, ...wanted }).filter(
        (k) => JSON.stringify(existing[k]) !== JSON.stringify(wanted[k]),
      );
      if (diff.length > 0) {
        throw new RunDirError(
          `${dir}: --resume needs the options it was started with; these differ: ` +
            `${diff.map((k) => `${k} (run: ${JSON.stringify(existing[k])}, now: ${JSON.stringify(wanted[k])})`).join(', ')}.`,
        );
      }
    } else {
      rmSync(metricsPath, { force: true });
      writeFileSync(configPath, `${JSON.stringify(wanted, null, 2)}\n`);
    }
  } catch (e) {
    unlock();
    throw e;
  }
  return {
    path: dir,
    config: wanted,
    checkpointPath: (step) => join(dir, 'checkpoints', `step-${String(step).padStart(6, '0')}.safetensors`),
    latestCheckpoint: () => checkpointsIn(dir)[0],
    log: (event) => appendFileSync(metricsPath, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
    readLog: () => readRunLog(dir),
    trimLogAfter(step) {
      const kept = readRunLog(dir).filter((e) => typeof e.step !== 'number' || e.step <= step);
      writeFileSync(metricsPath, kept.map((e) => `${JSON.stringify(e)}\n`).join(''));
    },
    close: unlock,
  };
}

/** Every event of a run folder's metrics.jsonl ([] when it has none). */
export function readRunLog(path: string): Record<string, unknown>[] {
  const metricsPath = join(resolve(path), 'metrics.jsonl');
  if (!existsSync(metricsPath)) return [];
  const fail = (what: string): never => {
    throw new RunDirError(
      `${metricsPath} ${what}; a run's metrics.jsonl holds one JSON event per line, as \`train\` writes it.`,
    );
  };
  // A regular file only: a FIFO or a device planted as metrics.jsonl would never finish reading.
  const text = readRegularFileSync(metricsPath, (what) => fail(`cannot be read: ${what}`)).toString('utf8');
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch (e) {
      return fail(`line ${i + 1} is not JSON (${(e as Error).message})`);
    }
    return typeof event === 'object' && event !== null && !Array.isArray(event)
      ? [event as Record<string, unknown>]
      : fail(`line ${i + 1} is not a JSON object`);
  });
}
