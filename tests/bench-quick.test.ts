// The bench suite's quick mode (CI smoke): every row's outputs agree across our WebGPU and CPU
// backends and TensorFlow.js's, on small odd shapes, in a child process like `npm run bench`.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../bench/result.js';

const run = promisify(execFile);
const outDir = mkdtempSync(join(tmpdir(), 'bench-quick-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('bench --quick', () => {
  it('exits 0 and every row passes its equality checks against tfjs-webgpu and ours-cpu', async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', outDir], {
      timeout: 110_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('all rows ok');

    const files = readdirSync(outDir);
    const json = files.find((f) => f.endsWith('.json'));
    expect(json, `no results JSON in ${files.join(', ')}`).toBeDefined();
    expect(files).toEqual(expect.arrayContaining([json!.replace(/json$/, 'md'), json!.replace(/json$/, 'svg')]));
    const results = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as BenchResults;
    expect(results.mode).toBe('quick');
    expect(results.rows.length).toBeGreaterThanOrEqual(10);
    for (const row of results.rows) {
      expect(
        row.ok,
        `${row.id}: ${JSON.stringify({ checks: row.checks, engines: row.engines, leaks: row.leaks })}`,
      ).toBe(true);
      // ours-webgpu against both references, and both CPU engines against tfjs-webgpu.
      expect(row.checks.map((k) => `${k.engine} vs ${k.reference}`).sort()).toEqual([
        'ours-cpu vs tfjs-webgpu',
        'ours-webgpu vs ours-cpu',
        'ours-webgpu vs tfjs-webgpu',
        'tfjs-cpu vs tfjs-webgpu',
      ]);
      expect(row.checks.every((k) => k.ok && k.relErr <= row.tolerance)).toBe(true);
    }
  });
});
