// The README's examples (TypeScript, and the main one in plain JavaScript) run as written, imports
// pointed at the sources (tests/package.test.ts runs the .mjs one against the installed package).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)].map(
  (m) => m[1],
);

describe('README examples', () => {
  it('has examples to run', () => expect(blocks.length).toBeGreaterThanOrEqual(3));

  it.each(blocks.map((code, i) => [i, code] as const))('example %i runs without errors', (_, code) => {
    // Inside the project, so the example's own imports (fast-check) resolve from node_modules.
    mkdirSync(join(root, 'tests/.readme-examples'), { recursive: true });
    const dir = mkdtempSync(join(root, 'tests/.readme-examples/ex-'));
    const file = join(dir, 'example.mts');
    const program =
      code
        .replaceAll("'webgpu-lrpo/testing'", `'${join(root, 'src/testing/index.ts')}'`)
        .replace(/'webgpu-lrpo\/(nn|faces|lrpo|report)'/g, (_, entry: string) => `'${join(root, `src/${entry}.ts`)}'`)
        .replaceAll("'webgpu-lrpo'", `'${join(root, 'src/index.ts')}'`) +
      `\nawait (await import('${join(root, 'src/index.ts')}')).shutdown();\n`;
    writeFileSync(file, program);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
  });
});
