// Resuming a run: the newest checkpoint of its folder (params, optimizer state, step), or a fresh
// state when the folder has none. Shared by `pretrain` and `train`.
import { key } from '../index.js';
import { loadCheckpoint, type LoadCheckpointOptions } from '../train/checkpoint.js';
import type { RunDir } from '../train/run-dir.js';
import type { TrainState } from '../train/state.js';

/** The run's latest state, or `fresh()`; `resumed` says which. */
export async function resumeOrStart(
  op: string,
  run: RunDir,
  expect: LoadCheckpointOptions['expect'],
  seed: number,
  fresh: () => TrainState,
  say: (msg: string) => void,
): Promise<{ state: TrainState; resumed: boolean }> {
  const latest = run.latestCheckpoint();
  if (!latest) return { state: fresh(), resumed: false };
  const ckpt = await loadCheckpoint(latest.path, { expect });
  if (!ckpt.optimizer)
    throw new Error(`${op}: ${latest.path} has no optimizer state to resume from; start a new run folder.`);
  say(`${op}: resuming from ${latest.path} (step ${latest.step})`);
  run.trimLogAfter(ckpt.info.step); // the steps after it run (and are logged) again
  return { state: { params: ckpt.params, opt: ckpt.optimizer, step: ckpt.info.step, key: key(seed) }, resumed: true };
}
