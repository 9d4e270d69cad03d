// The timing loop of the variant A/B scripts (conv-variant-ab.ts, matmul-variant-ab.ts): every
// variant runs CALLS calls a round, the variants interleaved round by round so a slow spell of a
// shared machine falls on all of them; round 0 (compiles, warm-up) is not counted. Wall and process
// CPU time per call, medians over the rounds; CPU time counts lavapipe's worker threads too, so it
// is the steadier number on a shared machine.
import type { Storage } from '../src/kernels/backend.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { summarize } from '../bench/timing.js';

const CALLS = 10;

export interface VariantTimes {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** Wall and process CPU ms of one awaited `run` (CPU time includes lavapipe's worker threads). */
export async function timedCall(run: () => Promise<unknown>): Promise<VariantTimes> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await run();
  const used = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (used.user + used.system) / 1000 };
}

/** Median wall and CPU ms per call of `call(variant)` for each variant, over `rounds` interleaved rounds. */
export async function timeVariants(
  gpu: WebGpuBackend,
  variants: readonly string[],
  rounds: number,
  call: (variant: string) => Storage,
): Promise<Map<string, VariantTimes>> {
  const wall = new Map<string, number[]>(variants.map((v) => [v, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v, []]));
  for (let round = 0; round <= rounds; round++) {
    for (const variant of variants) {
      let outs: Storage[] = [];
      const { wallMs, cpuMs } = await timedCall(async () => {
        outs = Array.from({ length: CALLS }, () => call(variant));
        await gpu.read({ storage: outs[CALLS - 1], dtype: 'float32', shape: [1], strides: [1], offset: 0 });
      });
      outs.forEach((o) => gpu.release(o));
      if (round === 0) continue;
      wall.get(variant)!.push(wallMs / CALLS);
      cpu.get(variant)!.push(cpuMs / CALLS);
    }
  }
  return new Map(
    variants.map((v) => [v, { wallMs: summarize(wall.get(v)!).median, cpuMs: summarize(cpu.get(v)!).median }]),
  );
}
