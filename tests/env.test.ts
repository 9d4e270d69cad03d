// The environment variables: src/env.ts lists every one the code reads, and README's table says
// the same (a variable added to one and not the other fails here).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARS, readEnv } from '../src/env.js';

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
});
