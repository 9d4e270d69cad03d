// The kernel source cache (kernels/webgpu/source-cache.ts): a source is built once per key, and
// while checking (always under vitest) a hit whose generator now builds something else throws,
// naming the key: the guard that makes every GPU test also a test of the kernels' source keys.
import { describe, expect, it } from 'vitest';
import { cachedSource, cachedSourceCount, checkingSources } from '../src/kernels/webgpu/source-cache.js';

describe('cachedSource', () => {
  it('builds a source once per key and hands the same string back', () => {
    let builds = 0;
    const build = () => `// built ${++builds}`;
    const key = `test-key-${Math.random()}`;
    const first = cachedSource(key, build);
    const before = cachedSourceCount();
    expect(cachedSource(key, () => first)).toBe(first);
    expect(cachedSourceCount()).toBe(before);
    expect(first).toBe('// built 1');
  });

  it('throws, naming the key, when a hit would build a different source (a key that misses an input)', () => {
    const key = `incomplete-key-${Math.random()}`;
    cachedSource(key, () => 'fn main() {}');
    expect(() => cachedSource(key, () => 'fn main() { let x = 1; }')).toThrow(/share the source key .*incomplete-key/);
  });

  it('checks under vitest unless WEBGPU_LRPO_CHECK_SOURCES=0; outside vitest only with =1', () => {
    expect(checkingSources({ VITEST: 'true' })).toBe(true);
    expect(checkingSources({ VITEST: 'true', WEBGPU_LRPO_CHECK_SOURCES: '0' })).toBe(false);
    expect(checkingSources({})).toBe(false);
    expect(checkingSources({ WEBGPU_LRPO_CHECK_SOURCES: '1' })).toBe(true);
  });
});
