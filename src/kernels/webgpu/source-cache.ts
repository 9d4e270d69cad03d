// Generated WGSL kept by a key that names everything its generator reads. Building a kernel's
// source from fragments cost more host time than anything else in recording a training step
// (about 40% of the main thread's self time in an LRPO step's profile, docs/measurements.md): the
// same few hundred kernels were rebuilt at every one of its ~3,500 dispatches. A key that misses
// something the generator reads would hand out a wrong kernel, so under vitest (and with
// WEBGPU_LRPO_CHECK_SOURCES=1) every hit is rebuilt and compared: the property tests, which
// vary every such input, then fail naming the key.
import { BackendError } from '../../tensor/errors.js';
import { readEnv } from '../../env.js';

/** Past this many sources the cache starts over (a long run over ever-new shapes stays bounded). */
export const MAX_CACHED_SOURCES = 4096;

const sources = new Map<string, string>();

/** Whether hits are rebuilt and compared: WEBGPU_LRPO_CHECK_SOURCES=1/0 decides, else on under vitest. */
export function checkingSources(env?: NodeJS.ProcessEnv): boolean {
  const flag = readEnv('WEBGPU_LRPO_CHECK_SOURCES', env);
  return flag !== undefined ? flag === '1' : readEnv('VITEST', env) !== undefined;
}

const checking = checkingSources();

/**
 * The source `build` makes, built once per `key`. `key` must determine the result: every value
 * `build` reads (shapes baked into the code, dtypes, plans, names in comments) goes into it.
 */
export function cachedSource(key: string, build: () => string): string {
  const hit = sources.get(key);
  if (hit === undefined) {
    const source = build();
    if (sources.size >= MAX_CACHED_SOURCES) sources.clear();
    sources.set(key, source);
    return source;
  }
  if (checking && build() !== hit)
    throw new BackendError(
      `webgpu internal: two different kernels share the source key ${JSON.stringify(key.slice(0, 300))}; the key misses something its generator reads.`,
    );
  return hit;
}

/** Sources held now (tests). */
export const cachedSourceCount = (): number => sources.size;
