// Reading a file a user names: the whole of a regular file, and nothing else. A directory, a
// device such as /dev/zero (endless) or a FIFO (which blocks until a writer comes) is refused
// before a byte is read, so a path to one fails at once instead of hanging or filling memory.
import { constants, type Stats } from 'node:fs';
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

/** The whole of a regular file; anything else, or an unreadable path, goes to `fail`. */
export async function readRegularFile(path: string, fail: ReadFailure): Promise<Buffer> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; the stat below refuses it.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EACCES'
          ? 'permission denied'
          : `the file cannot be opened (${code ?? (e as Error).message})`,
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) fail(`it is ${kindOf(stat)}, not a regular file`);
    const file = Buffer.alloc(stat.size);
    const { bytesRead } = stat.size > 0 ? await handle.read(file, 0, stat.size, 0) : { bytesRead: 0 };
    if (bytesRead !== stat.size)
      fail(`only ${bytesRead} of its ${stat.size} bytes could be read (it changed while being read)`, true);
    return file;
  } finally {
    await handle.close();
  }
}
