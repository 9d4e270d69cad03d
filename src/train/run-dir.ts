// A run folder: config.json (what was asked), metrics.jsonl (one JSON line per event), and
// checkpoints/ (safetensors, written atomically). A run resumes from its newest checkpoint.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

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
}

const CHECKPOINT = /^step-(\d+)\.safetensors$/;

/**
 * Opens (or creates) the run folder `path` for `kind` ('pretrain', 'train', ...). An existing
 * run must have been made by the same kind with the same config (its resumable identity), else
 * it is refused: pass a new folder, or --resume with the same options.
 */
export function openRun(path: string, kind: string, config: Record<string, unknown>, { resume = false }: { resume?: boolean } = {}): RunDir {
  const dir = resolve(path);
  const configPath = join(dir, 'config.json');
  const wanted: Record<string, unknown> = { kind, ...config };
  if (existsSync(configPath)) {
    const existing = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    if (!resume) throw new RunDirError(`${dir} already holds a '${String(existing.kind)}' run; pass --resume to continue it, or choose a new --run folder.`);
    const diff = Object.keys({ ...existing, ...wanted }).filter((k) => JSON.stringify(existing[k]) !== JSON.stringify(wanted[k]));
    if (diff.length > 0) {
      throw new RunDirError(`${dir}: --resume needs the options it was started with; these differ: ${diff.map((k) => `${k} (run: ${JSON.stringify(existing[k])}, now: ${JSON.stringify(wanted[k])})`).join(', ')}.`);
    }
  } else {
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeFileSync(configPath, `${JSON.stringify(wanted, null, 2)}\n`);
  }
  const metricsPath = join(dir, 'metrics.jsonl');
  return {
    path: dir,
    config: wanted,
    checkpointPath: (step) => join(dir, 'checkpoints', `step-${String(step).padStart(6, '0')}.safetensors`),
    latestCheckpoint() {
      const found = readdirSync(join(dir, 'checkpoints'))
        .map((f) => CHECKPOINT.exec(f))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ path: join(dir, 'checkpoints', m[0]), step: Number(m[1]) }))
        .sort((a, b) => b.step - a.step);
      return found[0];
    },
    log: (event) => appendFileSync(metricsPath, `${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
    readLog: () => readRunLog(dir),
  };
}

/** Every event of a run folder's metrics.jsonl ([] when it has none). */
export function readRunLog(path: string): Record<string, unknown>[] {
  const metricsPath = join(resolve(path), 'metrics.jsonl');
  return existsSync(metricsPath)
    ? readFileSync(metricsPath, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
}
