// The package is a library first: `npm run build` emits JS and .d.ts, and plain Node ESM (no tsx)
// imports the public API by the package name through package.json `exports`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name: string };

describe('the built package', () => {
  it('builds with tsc and imports by name in plain Node ESM, with types', () => {
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    expect(existsSync(`${root}dist/index.js`)).toBe(true);
    expect(existsSync(`${root}dist/index.d.ts`)).toBe(true);
    const program = `
      import { tensor, matmul, sum, setBackend, shutdown } from '${pkg.name}';
      await setBackend('cpu');
      const y = sum(matmul(tensor([[1, 2], [3, 4]]), tensor([[1], [1]])));
      console.log(JSON.stringify(await y.array()));
      await shutdown();
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('10');
  });
});
