// The environment variables: src/env.ts lists every one the code reads, and README's table says
// the same (a variable added to one and not the other fails here).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARS, readEnv, spreadLavapipeThreads } from '../src/env.js';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const section = readme.slice(
  readme.indexOf('## Environment variables'),
  readme.indexOf('\n## ', readme.indexOf('## Environment variables') + 1),
);

describe('environment variables', () => {
  it('README lists exactly the variables of src/env.ts, with the same meanings', () => {
    const rows = [...section.matchAll(/^\| `([A-Z_]+)` \| ([^|]+) \| (.+) \|$/gm)].map((m) => [
      m[1],
      m[2].trim(),
      m[3].replaceAll('\\|', '|'),
    ]);
    expect(rows.map((r) => r[0])).toEqual(Object.keys(ENV_VARS));
    for (const [name, readBy, meaning] of rows)
      expect({ readBy, meaning }, name).toEqual(ENV_VARS[name as keyof typeof ENV_VARS]);
  });

  it('readEnv reads an empty value as unset, and takes another environment', () => {
    expect(readEnv('WEBGPU_LRPO_TUNE', { WEBGPU_LRPO_TUNE: '' })).toBeUndefined();
    expect(readEnv('WEBGPU_LRPO_TUNE', {})).toBeUndefined();
    expect(readEnv('WEBGPU_LRPO_TUNE', { WEBGPU_LRPO_TUNE: '0' })).toBe('0');
  });

  it('LP_NUM_THREADS: twice the cores when unset (at most 32), a value the user set kept', () => {
    const saved = process.env.LP_NUM_THREADS;
    try {
      delete process.env.LP_NUM_THREADS;
      spreadLavapipeThreads(2);
      expect(process.env.LP_NUM_THREADS).toBe('4');
      delete process.env.LP_NUM_THREADS;
      spreadLavapipeThreads(64);
      expect(process.env.LP_NUM_THREADS).toBe('32');
      process.env.LP_NUM_THREADS = '3';
      spreadLavapipeThreads(2);
      expect(process.env.LP_NUM_THREADS).toBe('3');
    } finally {
      if (saved === undefined) delete process.env.LP_NUM_THREADS;
      else process.env.LP_NUM_THREADS = saved;
    }
  });
});

describe('lavapipe threads', () => {
  useBackends();

  it('lavapipe runs as many worker threads as LP_NUM_THREADS says once the device is up', async () => {
    await T.sync(T.matmul(T.ones([64, 64]), T.ones([64, 64])));
    const names = readdirSync('/proc/self/task').map((t) => readFileSync(`/proc/self/task/${t}/comm`, 'utf8').trim());
    expect(names.filter((n) => /^llvmpipe-\d+$/.test(n))).toHaveLength(Number(process.env.LP_NUM_THREADS));
  });
});
