// Checking, before long work, that its result file can be written: a user whose output path is a
// folder or read-only learns it in a second, not after an hour of evaluation.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Creates `path`'s folder and throws, naming the option, unless a file can be written at `path`. */
export function requireWritableFile(path: string, option: string): void {
  const full = resolve(path);
  const fail = (why: string): never => {
    throw new Error(`${option} ${path}: ${why}; pass a writable file path (checked before any work starts).`);
  };
  if (existsSync(full)) {
    if (!statSync(full).isFile()) fail('is an existing folder or special file, not a file');
    try {
      accessSync(full, constants.W_OK);
    } catch {
      fail('exists and is not writable');
    }
    return;
  }
  try {
    mkdirSync(dirname(full), { recursive: true });
    accessSync(dirname(full), constants.W_OK);
  } catch (e) {
    fail(`its folder cannot be created or written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
