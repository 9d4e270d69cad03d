// Our engine as a bench engine, on its WebGPU or its CPU backend.
import * as T from '../../src/index.js';
import type { WebGpuBackend } from '../../src/kernels/webgpu/index.js';
import { backendFor } from '../../src/tensor/backends.js';
import type { BenchCase } from '../case.js';
import type { HostTensor } from '../host.js';
import type { Engine, PreparedCase } from './engine.js';

type OursBackend = 'webgpu' | 'cpu';

/** The started WebGPU backend instance (internal API: the bench waits for its variant tuning). */
export const oursWebGpu = (): WebGpuBackend => backendFor('webgpu') as WebGpuBackend;

/** The adapter our WebGPU device runs on, e.g. "mesa software llvmpipe ...". */
export const oursAdapterDescription = (): string => T.backendInfo('webgpu').description;

/**
 * Waits for the background kernel-variant measurements our first runs queued (src tuning.ts), so
 * they do not share the device with the timed runs.
 */
const settleTuning = (): Promise<void> => oursWebGpu().settleTuning();

const liveTensors = (): number => {
  const m = T.memory();
  return m.webgpu.tensors + m.cpu.tensors;
};

/**
 * Waits until `backend` has computed `outs`: T.sync runs pending fused elementwise expressions
 * (which otherwise run only when first used) and waits for the device. The CPU is eager.
 */
async function finish(backend: OursBackend, outs: readonly T.Tensor[]): Promise<void> {
  if (backend === 'webgpu') await T.sync(...outs);
}

function prepared(backend: OursBackend, c: BenchCase, inputs: readonly HostTensor[]): PreparedCase {
  const xs = inputs.map((h) => T.keep(T.tensor(h.data, { shape: [...h.shape], backend })));
  const run = (): T.Tensor[] => T.scope(() => c.ours(xs));
  const timeOnce = async (runs: number): Promise<number> => {
    const t0 = performance.now();
    const outs = Array.from({ length: runs }, run).flat();
    await finish(backend, outs);
    const ms = performance.now() - t0;
    outs.forEach((o) => o.dispose());
    return ms / runs;
  };
  return {
    timeOnce,
    async settle() {
      if (backend !== 'webgpu') return;
      await settleTuning();
      await timeOnce(1);
    },
    async outputs() {
      const outs = run();
      try {
        return await Promise.all(
          outs.map(async (o) => ({ shape: [...o.shape], data: (await o.data()) as Float32Array })),
        );
      } finally {
        outs.forEach((o) => o.dispose());
        // The first run queued variant measurements; finish them now, before the other engines
        // compute their outputs on the same cores (measured alongside them, the choice is noise).
        if (backend === 'webgpu') await settleTuning();
      }
    },
    dispose() {
      xs.forEach((x) => x.dispose());
    },
  };
}

/** Starts our backend (`ready()` first, so the WebGPU device is acquired once) and wraps it. */
export async function createOursEngine(backend: OursBackend): Promise<Engine> {
  await T.setBackend(backend);
  return {
    name: backend === 'webgpu' ? 'ours-webgpu' : 'ours-cpu',
    onCpu: backend === 'cpu',
    async prepare(c, inputs) {
      // New tensors (constants inside ops, gradient seeds) go to the current backend.
      await T.setBackend(backend);
      return prepared(backend, c, inputs);
    },
    liveTensors,
    async close() {
      // T.shutdown() releases every backend, so only the WebGPU engine calls it.
      if (backend === 'webgpu') await T.shutdown();
    },
  };
}
