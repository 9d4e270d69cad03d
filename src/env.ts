// Every environment variable the package, its scripts and its tests read, with its meaning, in
// one table (README's table says the same). src/ and tests/ read them only through readEnv, so
// go-to-definition on a name lands here; scripts/setup.mjs and bench/ (plain scripts) read their own.
import { availableParallelism } from 'node:os';
export const ENV_VARS = Object.freeze({
  WEBGPU_LRPO_TUNE: {
    readBy: 'engine',
    meaning:
      'Variant choice by measurement (kernels/webgpu/tuning.ts): 1 on, 0 or false off. Unset: on, except under vitest or CI and on CPU adapters (lavapipe), whose fixed defaults were measured there.',
  },
  WEBGPU_LRPO_TUNING_DIR: {
    readBy: 'engine',
    meaning:
      'Folder of the per-adapter tuning cache. Unset: $XDG_CACHE_HOME/webgpu-lrpo, else ./node_modules/.cache/webgpu-lrpo.',
  },
  WEBGPU_LRPO_FUSION: {
    readBy: 'engine',
    meaning: 'Elementwise fusion on the WebGPU backend: 0 turns it off. Unset: on.',
  },
  WEBGPU_LRPO_JIT: {
    readBy: 'engine',
    meaning:
      'Recorded calls (tensor/jit.ts): 0 makes every jitted function run as plain ops, e.g. to compare. Unset: on.',
  },
  WEBGPU_LRPO_EPILOGUE: {
    readBy: 'engine',
    meaning:
      'Fused elementwise consumers as the epilogue of their matmul/conv: 1 turns it on. Unset: off (lavapipe compiles such kernels slowly; row standardisation takes its epilogue either way).',
  },
  WEBGPU_LRPO_SPIN_WAIT: {
    readBy: 'engine',
    meaning:
      "1 leaves Dawn's busy wait for the GPU as it is (kernels/webgpu/wait-pacing.ts). Unset: a wait spins for 1 ms, then polls every 1 ms.",
  },
  WEBGPU_LRPO_CHECK_SOURCES: {
    readBy: 'engine',
    meaning:
      'Rebuild every cached kernel source and compare (kernels/webgpu/source-cache.ts): 1 on, 0 off. Unset: on under vitest, else off.',
  },
  WEBGPU_LRPO_REAL_FACES_DIR: {
    readBy: 'engine, scripts/setup.mjs',
    meaning:
      'Cache folder of the real-face evaluation set. Unset: <package>/node_modules/.cache/webgpu-lrpo/real-faces.',
  },
  WEBGPU_LRPO_BRISQUE_DIR: {
    readBy: 'engine',
    meaning: "Folder holding OpenCV's BRISQUE model files. Unset: the system folders of Debian's opencv-data.",
  },
  WEBGPU_LRPO_SKIP_VULKAN_SETUP: {
    readBy: 'scripts/setup.mjs',
    meaning: '1 skips installing the lavapipe Vulkan driver in npm test / npm start / npm run setup.',
  },
  XDG_CACHE_HOME: {
    readBy: 'engine',
    meaning: 'Base of the tuning cache folder when WEBGPU_LRPO_TUNING_DIR is unset.',
  },
  XDG_RUNTIME_DIR: {
    readBy: 'engine, bench',
    meaning: 'Set to /tmp when unset, before Dawn starts (the Vulkan loader wants it).',
  },
  LP_NUM_THREADS: {
    readBy: 'Mesa (lavapipe)',
    meaning:
      "lavapipe's worker threads. Set to twice the available cores (at most 32) when unset, before Dawn starts: a dispatch's workgroups are dealt to the threads in equal chunks, and two threads a core keep one delayed thread from holding up the dispatch.",
  },
  VITEST: {
    readBy: 'engine',
    meaning: "Set by vitest: tuning is off by default in tests (their timings are not a machine's).",
  },
  CI: { readBy: 'engine', meaning: 'Set by CI services: tuning is off by default there.' },
  OPS_RUNS_SCALE: {
    readBy: 'tests',
    meaning: "Multiplies the property tests' run counts (e.g. 10 for a longer fuzz). Unset: 1.",
  },
  PERCEPTUAL_REPORT: { readBy: 'tests', meaning: 'Any value: tests/metrics-perceptual prints its measured distances.' },
  FACE_LANDMARKS_REPORT: {
    readBy: 'tests',
    meaning: 'Any value: tests/face-landmarks prints its errors against face-api.',
  },
  FACE_EMBEDDING_REPORT: {
    readBy: 'tests',
    meaning: 'Any value: tests/face-embedding prints its differences against face-api.',
  },
  REAL_FACES_REPORT: { readBy: 'tests', meaning: 'Any value: tests/data-real-faces prints its metric values.' },
  REWARD_REPORT: { readBy: 'tests', meaning: 'Any value: tests/lrpo-reward prints its reward values.' },
});

export type EnvVar = keyof typeof ENV_VARS;

/** The value of `name`, or undefined when unset or empty; from `env` when given (tests), else process.env. */
export function readEnv(name: EnvVar, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

/** Sets XDG_RUNTIME_DIR to /tmp when unset: Dawn's Vulkan loader wants one (see ENV_VARS). */
export function ensureRuntimeDir(): void {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
}

/** Mesa's cap on lavapipe's threads (LP_MAX_THREADS). */
const LAVAPIPE_MAX_THREADS = 32;

/**
 * lavapipe's thread count when unset: twice the cores (see ENV_VARS). lavapipe splits a dispatch's
 * workgroups into one equal chunk per thread up front, so with a thread a core the dispatch ends
 * when the thread that the host delayed most (Node's own thread, other processes) ends; with two a
 * core the scheduler evens the chunks out. On 2 cores the LRPO steps ran 0.95x the time with 4
 * threads against 2, steadier, and 8 no better than 2 (docs/measurements.md). Other drivers ignore it.
 */
export function spreadLavapipeThreads(cores: number = availableParallelism()): void {
  process.env.LP_NUM_THREADS ??= String(Math.min(2 * cores, LAVAPIPE_MAX_THREADS));
}
