// Issue 17 item 5: a run folder is locked by the process writing it (a second `train --resume`
// while the first runs is refused), a dead process's lock is taken over, an attempt that failed at
// start does not block the corrected retry, and a resume drops the metrics logged after the
// checkpoint it starts from (they are logged again).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as L from '../src/lrpo.js';
import { buildProgram } from '../src/cli/main.js';
import { resumeOrStart } from '../src/cli/resume.js';
import { openRun, readRunLog, RunDirError } from '../src/train/run-dir.js';
import { LOCK_FILE } from '../src/train/run-lock.js';
import { sftOptimizer, DEFAULT_SFT_CONFIG } from '../src/train/sft.js';
import { initTrainState, disposeState } from '../src/train/state.js';
import { MICRO_UNET as MICRO } from './support/micro-policy.js';

const root = mkdtempSync(join(tmpdir(), 'run-lock-'));
let n = 0;
const fresh = () => join(root, `run${n++}`);

/** Writes `<dir>/run.lock` as a process with `pid` would have. */
function lockAs(dir: string, pid: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }));
}

beforeAll(async () => {
  await T.setBackend('cpu');
});
afterAll(async () => {
  await T.shutdown();
});

describe('run folder lock', () => {
  it('a second open while the first holds it is refused, naming the holder; close releases it', () => {
    const dir = fresh();
    const first = openRun(dir, 'train', { steps: 2 });
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    expect(() => openRun(dir, 'train', { steps: 2 }, { resume: true })).toThrow(RunDirError);
    expect(() => openRun(dir, 'train', { steps: 2 }, { resume: true })).toThrow(
      new RegExp(`is in use by process ${process.pid} .*wait for it to finish or stop it`),
    );
    first.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    openRun(dir, 'train', { steps: 2 }, { resume: true }).close();
  });

  it('`train --resume` through the CLI is refused while another process holds the folder', async () => {
    const dir = fresh();
    const holder = spawn('sleep', ['30']);
    try {
      lockAs(dir, holder.pid!);
      const cli = buildProgram()
        .exitOverride()
        .parseAsync([
          'node',
          'webgpu-lrpo',
          'train',
          '--run',
          dir,
          '--init',
          join(root, 'none.safetensors'),
          '--resume',
          '--backend',
          'cpu',
        ]);
      await expect(cli).rejects.toThrow(new RegExp(`is in use by process ${holder.pid}`));
      expect(existsSync(join(dir, 'config.json'))).toBe(false); // refused before anything was written
    } finally {
      holder.kill();
    }
  });

  it("a dead process's lock is taken over", () => {
    const dir = fresh();
    const gone = spawnSync('true');
    lockAs(dir, gone.pid!);
    const run = openRun(dir, 'pretrain', { steps: 1 });
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    run.close();
  });

  it('an attempt that failed at start leaves nothing that blocks the corrected retry', () => {
    const dir = fresh();
    const failed = openRun(dir, 'train', { init: 'typo.safetensors' });
    failed.log({ event: 'started' });
    failed.close(); // e.g. the --init checkpoint did not exist
    const retry = openRun(dir, 'train', { init: 'sft.safetensors' }); // no --resume, other options
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).init).toBe('sft.safetensors');
    expect(retry.readLog()).toEqual([]);
    retry.close();
  });

  it("never writes over what is not a run's: a file, or a folder whose config.json is someone else's", () => {
    const file = join(root, 'notes.txt');
    writeFileSync(file, 'mine');
    expect(() => openRun(file, 'train', { steps: 2 })).toThrow(/--run .*notes\.txt is a file, not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('mine');
    // `--run .` in a project: its config.json (and the folder) stay as they were.
    for (const foreign of ['{"name": "my-app", "port": 8080}', 'not json', '[1, 2]']) {
      const dir = fresh();
      mkdirSync(dir);
      writeFileSync(join(dir, 'config.json'), foreign);
      writeFileSync(join(dir, 'metrics.jsonl'), 'theirs\n');
      expect(() => openRun(dir, 'pretrain', { steps: 2 })).toThrow(
        /config\.json is not a run's config\.json \(no "kind"\).*choose a new --run folder/,
      );
      expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(foreign);
      expect(readFileSync(join(dir, 'metrics.jsonl'), 'utf8')).toBe('theirs\n');
      expect(readdirSync(dir).sort()).toEqual(['config.json', 'metrics.jsonl']); // no checkpoints/, no lock
    }
  });

  it('a FIFO planted as config.json or metrics.jsonl is refused at once, not waited on', () => {
    const dir = fresh();
    mkdirSync(dir);
    execFileSync('mkfifo', [join(dir, 'config.json')]);
    expect(() => openRun(dir, 'train', { steps: 2 })).toThrow(
      /config\.json cannot be read: it is a FIFO \(named pipe\), not a regular file; choose a new --run folder/,
    );
    expect(readdirSync(dir)).toEqual(['config.json']); // nothing written, no lock left
    const logDir = fresh();
    mkdirSync(logDir);
    execFileSync('mkfifo', [join(logDir, 'metrics.jsonl')]);
    expect(() => readRunLog(logDir)).toThrow(/metrics\.jsonl cannot be read: it is a FIFO \(named pipe\)/);
  });

  it('a metrics.jsonl line that is not a JSON object is named by its line number', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'metrics.jsonl'), '{"event":"step","step":1}\n\n{"event":\n');
    expect(() => readRunLog(dir)).toThrow(/metrics\.jsonl line 3 is not JSON/);
    writeFileSync(join(dir, 'metrics.jsonl'), '{"event":"step","step":1}\n[1,2]\n');
    expect(() => readRunLog(dir)).toThrow(/metrics\.jsonl line 2 is not a JSON object/);
    writeFileSync(join(dir, 'metrics.jsonl'), '{"event":"step","step":1}\n\n{"event":"eval"}\n');
    expect(readRunLog(dir)).toEqual([{ event: 'step', step: 1 }, { event: 'eval' }]);
  });

  it('a folder with a checkpoint still needs --resume and the same options', () => {
    const dir = fresh();
    const run = openRun(dir, 'train', { steps: 2 });
    writeFileSync(run.checkpointPath(1), '');
    run.close();
    expect(() => openRun(dir, 'train', { steps: 2 })).toThrow(/already holds a 'train' run; pass --resume/);
    expect(() => openRun(dir, 'train', { steps: 3 }, { resume: true })).toThrow(/these differ: steps/);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false); // a refusal releases the lock
  });

  it('resuming drops the metrics logged after the checkpoint it resumes from', async () => {
    await T.setBackend('cpu'); // the CLI test above shut the backends down, as the CLI does
    const dir = fresh();
    const run = openRun(dir, 'pretrain', { steps: 5 });
    run.log({ event: 'baseline', psnr: 20 });
    for (let step = 1; step <= 5; step++) run.log({ event: 'step', step, loss: 1 / step });
    run.log({ event: 'eval', step: 2, psnr: 21 });
    const policy = L.policyOf({ name: 'micro', unet: MICRO }, 8);
    const state = initTrainState(sftOptimizer(DEFAULT_SFT_CONFIG), L.initPolicyParams(policy, T.key(0)), 0);
    await L.saveCheckpoint(run.checkpointPath(2), {
      info: { preset: 'micro', unet: MICRO, space: policy.space, stage: 'sft', step: 2, imageSize: 8 },
      params: state.params,
      optimizer: state.opt,
    });
    disposeState(state);
    run.close(); // the process died after step 5, with its last checkpoint at step 2
    const again = openRun(dir, 'pretrain', { steps: 5 }, { resume: true });
    const { state: resumed, resumed: wasResumed } = await resumeOrStart(
      'pretrain',
      again,
      undefined,
      0,
      () => {
        throw new Error('unreachable: there is a checkpoint');
      },
      () => undefined,
    );
    expect(wasResumed).toBe(true);
    expect(resumed.step).toBe(2);
    expect(again.readLog().map((e) => [e.event, e.step])).toEqual([
      ['baseline', undefined],
      ['step', 1],
      ['step', 2],
      ['eval', 2],
    ]);
    disposeState(resumed);
    again.close();
  });
});
