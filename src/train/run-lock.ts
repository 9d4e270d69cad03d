// A run folder's lock: `<run>/run.lock` holds the pid of the process writing the run, so a second
// process (a `train --resume` started while the first still runs) is refused instead of writing
// the same checkpoints and interleaving metrics.jsonl. A lock whose process is gone (killed, crashed)
// is stale and is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const LOCK_FILE = 'run.lock';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** Whether a process with this pid exists on this machine (EPERM: it exists but is another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? (owner as LockOwner) : undefined;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}

/**
 * Takes the lock of run folder `dir` for this process, or throws `makeError` naming the holder.
 * Returns the release function (idempotent); the lock is also released when the process exits.
 */
export function lockRunDir(dir: string, makeError: (message: string) => Error): () => void {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(me)}\n`, { flag: 'wx' }); // exclusive: exactly one creator wins
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    const owner = readOwner(path);
    const otherHost = owner !== undefined && owner.host !== me.host;
    if (owner !== undefined && (otherHost || processAlive(owner.pid))) {
      throw makeError(
        `${dir} is in use by process ${owner.pid} on ${owner.host} (since ${owner.since}); wait for it to finish or stop it. ` +
          `If no such process is running${otherHost ? ' on that machine' : ''}, delete ${path}.`,
      );
    }
    unlinkSync(path); // stale: its process is gone
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readOwner(path)?.pid === me.pid) unlinkSync(path);
  };
  process.on('exit', release);
  return release;
}
