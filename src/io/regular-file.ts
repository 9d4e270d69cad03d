// Reading a file a user names: the whole of a regular file, and nothing else. A directory, a
// device such as /dev/zero (endless) or a FIFO (which blocks until a writer comes) is refused
// before a byte is read, so a path to one fails at once instead of hanging or filling memory.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Says what went wrong (`what`) and never returns: the caller's error, in the caller's words.
 * `changed`: the file is fine but was being written while read (read it again), not a wrong path.
 */
export type ReadFailure = (what: string, changed?: boolean) => never;

/** What a non-regular file is, for the message: the first test it passes. */
const FILE_KINDS: readonly (readonly [(s: Stats) => boolean, string])[] = [
  [(s) => s.isDirectory(), 'a directory'],
  [(s) => s.isFIFO(), 'a FIFO (named pipe)'],
  [(s) => s.isCharacterDevice(), 'a character device'],
  [(s) => s.isBlockDevice(), 'a block device'],
  [(s) => s.isSocket(), 'a socket'],
];
const kindOf = (stat: Stats): string => FILE_KINDS.find(([is]) => is(stat))?.[1] ?? 'not a regular file';

/** The open errors a user can act on, in words. */
const OPEN_FAILURES: Readonly<Record<string, string>> = {
  ENOENT: 'the file does not exist',
  EACCES: 'permission denied',
};

/** Why a path could not be opened, in words (from the error `open` threw). */
function openFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && OPEN_FAILURES[code]) ?? `the file cannot be opened (${code ?? (e as Error).message})`;
}

/** Refuses (through `fail`) anything but a regular file. */
function requireRegular(stat: Stats, fail: ReadFailure): void {
  if (!stat.isFile()) fail(`it is ${kindOf(stat)}, not a regular file`);
}

/** Refuses (through `fail`) a read that came up short: the file changed under the reader. */
function requireWhole(bytesRead: number, size: number, fail: ReadFailure): void {
  if (bytesRead !== size)
    fail(`only ${bytesRead} of its ${size} bytes could be read (it changed while being read)`, true);
}

// O_NONBLOCK: opening a FIFO must not wait for a writer; the stat that follows refuses it.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

/** The whole of a regular file; anything else, or an unreadable path, goes to `fail`. */
export async function readRegularFile(path: string, fail: ReadFailure): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (e) {
    return fail(openFailure(e));
  }
  try {
    const stat = await handle.stat();
    requireRegular(stat, fail);
    const file = Buffer.alloc(stat.size);
    const { bytesRead } = stat.size > 0 ? await handle.read(file, 0, stat.size, 0) : { bytesRead: 0 };
    requireWhole(bytesRead, stat.size, fail);
    return file;
  } finally {
    await handle.close();
  }
}

/** `readRegularFile` for synchronous callers (run logs, read between steps). */
export function readRegularFileSync(path: string, fail: ReadFailure): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    return fail(openFailure(e));
  }
  try {
    const stat = fstatSync(fd);
    requireRegular(stat, fail);
    const file = Buffer.alloc(stat.size);
    const bytesRead = stat.size > 0 ? readSync(fd, file, 0, stat.size, 0) : 0;
    requireWhole(bytesRead, stat.size, fail);
    return file;
  } finally {
    closeSync(fd);
  }
}
