// Issue 17 item 3: `restore` refuses, before reading the checkpoint or any image, an --output that
// would overwrite an input (the same folder, or a link to it) or two inputs that would write one
// result (face.png and face.jpg), so no input and no result is lost.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { restoreFolder } from '../src/cli/commands/restore.js';
import { restoreOutputPaths } from '../src/cli/restore-outputs.js';

const dir = mkdtempSync(join(tmpdir(), 'restore-outputs-'));
/** A folder with the given (not even decodable) image files: the check runs before decoding. */
function folder(name: string, files: readonly string[]): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (const f of files) writeFileSync(join(path, f), `original ${f}`);
  return path;
}
const options = (input: string, output: string) => ({
  checkpoint: join(dir, 'never-read.safetensors'),
  input,
  output,
  steps: 2,
  eta: 0,
  seed: 0,
  resize: false,
  batch: 4,
  quiet: true,
});

describe('restore refuses outputs that would destroy inputs or other outputs', () => {
  it('--output equal to --input', async () => {
    const input = folder('same', ['face.png', 'other.png']);
    await expect(restoreFolder(options(input, input))).rejects.toThrow(
      /writing .*same\/face\.png would overwrite the input .*same\/face\.png; choose an --output folder other than the --input folder/,
    );
    expect(readFileSync(join(input, 'face.png'), 'utf8')).toBe('original face.png');
  });

  it('--output that links to --input', async () => {
    const input = folder('linked', ['face.png']);
    const link = join(dir, 'link-to-linked');
    symlinkSync(input, link);
    await expect(restoreFolder(options(input, link))).rejects.toThrow(/would overwrite the input/);
  });

  it('--output equal to --input is allowed when no result has an input name (jpg in, png out)', () => {
    const input = folder('jpgs', ['a.jpg', 'b.jpeg']);
    expect(restoreOutputPaths([join(input, 'a.jpg'), join(input, 'b.jpeg')], input)).toEqual([
      join(input, 'a.png'),
      join(input, 'b.png'),
    ]);
  });

  it('two inputs with one output name', async () => {
    const input = folder('twins', ['face.jpg', 'face.png']);
    const output = join(dir, 'twins-out');
    await expect(restoreFolder(options(input, output))).rejects.toThrow(
      /twins\/face\.jpg and .*twins\/face\.png would both be written to .*twins-out\/face\.png/,
    );
    expect(existsSync(output)).toBe(false);
  });
});
