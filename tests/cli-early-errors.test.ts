// Issue 17 items 9 and the report case: the CLI checks its output and input files before any work,
// naming the file (run in process through the program `npm run cli` parses).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/main.js';
import { evaluate } from '../src/cli/commands/eval.js';

const dir = mkdtempSync(join(tmpdir(), 'cli-early-'));
/** eval of a checkpoint that does not exist: whatever it refuses, it refuses before reading it. */
const evaluateMissing = (sampling: { steps: number; eta: number; seed: number }, out?: string) =>
  evaluate({
    checkpoints: [join(dir, 'missing.safetensors')],
    sets: ['synthetic'],
    count: 2,
    sampling,
    out,
    quiet: true,
  });

const cli = (...args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(['node', 'webgpu-lrpo', ...args]);

describe('eval --out is checked before the evaluation starts', () => {
  it('an --out that is a folder is refused before the checkpoints are even read', async () => {
    const folder = join(dir, 'scores-folder');
    mkdirSync(folder);
    // The checkpoint does not exist either: the --out error must come first.
    await expect(evaluateMissing({ steps: 2, eta: 1, seed: 0 }, folder)).rejects.toThrow(
      /eval --out .*scores-folder: is an existing folder or special file, not a file; pass a writable file path \(checked before any work starts\)/,
    );
  });
  it('an --out below a file is refused through the CLI', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    await expect(
      cli(
        'eval',
        '--checkpoint',
        join(dir, 'missing.safetensors'),
        '--out',
        join(file, 'scores.json'),
        '--backend',
        'cpu',
      ),
    ).rejects.toThrow(/eval --out .*plain-file\/scores\.json: its folder cannot be created or written \(EEXIST\)/);
  });
});

describe('eval checks its sampling plan before any work', () => {
  it('a step count that does not divide the schedule is refused before the checkpoints are read', async () => {
    await expect(evaluateMissing({ steps: 3, eta: 1, seed: 0 })).rejects.toThrow(
      /ddimPlan: steps must be a positive integer that divides T = 1000/,
    );
  });
});

describe('report --eval names a file it cannot use', () => {
  it('invalid JSON', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"results": [');
    await expect(cli('report', '--run', join(dir, 'r1'), '--eval', bad)).rejects.toThrow(
      /report: .*bad\.json cannot be read as JSON .*pass a JSON file written by `eval --out/,
    );
  });
  it('JSON of another shape', async () => {
    const other = join(dir, 'other.json');
    writeFileSync(other, JSON.stringify({ results: [{ method: 'x', set: 'y', scores: { psnr: ['a'] } }] }));
    await expect(cli('report', '--run', join(dir, 'r2'), '--eval', other)).rejects.toThrow(
      /other\.json has a results\[0\] that is not \{ method, set, scores/,
    );
    writeFileSync(other, '[]');
    await expect(cli('report', '--run', join(dir, 'r3'), '--eval', other)).rejects.toThrow(
      /other\.json has no "results" list/,
    );
  });
  it('a device or a directory, refused without reading (/dev/zero once read until memory ran out)', async () => {
    await expect(cli('report', '--run', join(dir, 'r4'), '--eval', '/dev/zero')).rejects.toThrow(
      /report: \/dev\/zero cannot be read: it is a character device, not a regular file/,
    );
    await expect(cli('report', '--run', join(dir, 'r5'), '--eval', dir)).rejects.toThrow(
      /cannot be read: it is a directory, not a regular file/,
    );
  });
});

describe("report writes only where nothing of the user's is replaced", () => {
  const scores = () => {
    const file = join(dir, 'scores.json');
    writeFileSync(file, JSON.stringify({ results: [{ method: 'SFT', set: 'photo', scores: { psnr: [20, 21] } }] }));
    return file;
  };
  it("a folder of the user's own (a report.md of theirs) is refused and left as it was", async () => {
    const theirs = join(dir, 'notes');
    mkdirSync(theirs);
    writeFileSync(join(theirs, 'report.md'), 'my notes');
    await expect(cli('report', '--run', theirs, '--eval', scores())).rejects.toThrow(
      /report: .*notes holds files \(report\.md\) but no report; pass a new or empty --run folder/,
    );
    expect(readFileSync(join(theirs, 'report.md'), 'utf8')).toBe('my notes');
    expect(readdirSync(theirs)).toEqual(['report.md']);
  });
  it('a run folder is refused: its report is its own', async () => {
    const run = join(dir, 'a-run');
    mkdirSync(run);
    writeFileSync(join(run, 'config.json'), '{"kind":"demo"}');
    writeFileSync(join(run, 'report-data.json'), '{}');
    await expect(cli('report', '--run', run, '--eval', scores())).rejects.toThrow(
      /a-run is a run folder; a report built from --eval\/--train would replace its own/,
    );
    expect(readFileSync(join(run, 'report-data.json'), 'utf8')).toBe('{}');
  });
  it('a new folder, then the same report folder again, are written', async () => {
    const out = join(dir, 'new-report');
    await cli('report', '--run', out, '--eval', scores());
    await cli('report', '--run', out, '--eval', scores());
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/PSNR/);
  });
  it('a FIFO planted as report-data.json is refused, not waited on', async () => {
    const run = join(dir, 'fifo-report');
    mkdirSync(run);
    execFileSync('mkfifo', [join(run, 'report-data.json')]);
    await expect(cli('report', '--run', run)).rejects.toThrow(
      /report-data\.json cannot be read: it is a FIFO \(named pipe\), not a regular file/,
    );
  });
});
