// TensorFlow.js (tfjs-backend-webgpu and tfjs-backend-cpu 4.22) as bench engines, in Node, on
// the same Dawn adapter as ours: tfjs-backend-webgpu is browser-only officially, but it only
// needs `navigator.gpu` and the WebGPU flag namespaces, which npm `webgpu` provides.
import type * as tfc from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { create, globals } from 'webgpu';
import type { BenchCase, TF } from '../case.js';
import { requireTfjsBundle } from './tfjs-bundle.js';
import { inversePerm, permute, type HostTensor } from '../host.js';
import type { Engine, EngineName, PreparedCase } from './engine.js';

/**
 * tfjs's own Dawn instance. Kept referenced at module level for the process's life: if the object
 * `create()` returns is collected while a device lives, Dawn aborts (docs/architecture.md, "WebGPU:
 * the device and its lifetime"). Ours keeps its own instance, so the two engines get separate
 * devices on the same adapter.
 */
let tfjsGpu: GPU | undefined;
let loaded: TF | undefined;

/**
 * Installs `navigator.gpu` and the GPUBufferUsage/GPUMapMode/... globals, then loads tfjs (see
 * tfjs-bundle.ts). The order matters: tfjs-backend-webgpu registers itself at load time only if
 * navigator.gpu exists.
 */
export async function loadTfjs(): Promise<TF> {
  if (loaded) return loaded;
  installNavigatorGpu();
  loaded = await requireTfjsBundle();
  return loaded;
}

/** Installs `navigator.gpu` (tfjs's own Dawn instance) and the WebGPU flag globals, once. */
export function installNavigatorGpu(): void {
  if (tfjsGpu) return;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  tfjsGpu = create([]);
  Object.assign(globalThis, globals);
  // Node 20 has no navigator; Node 21+ has a read-only one, hence defineProperty.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: tfjsGpu }, configurable: true, writable: true });
}

type TfjsBackend = 'webgpu' | 'cpu';

/**
 * Ends tfjs-webgpu's open compute pass, submits its command encoder and waits for the queue: the
 * same "recorded work has finished" point ours reaches with sync(), without reading a result back
 * (out.data() would add a full readback to tfjs's time only).
 */
async function finishWebGpu(tf: TF): Promise<void> {
  const b = tf.backend() as unknown as WebGPUBackend;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.submitQueue();
  await b.device.queue.onSubmittedWorkDone();
}

function prepared(tf: TF, backend: TfjsBackend, c: BenchCase, inputs: readonly HostTensor[]): PreparedCase {
  const xs = inputs.map((h, i) => {
    const perm = c.inputs[i].tfjsPerm;
    const laidOut = perm ? permute(h, perm) : h;
    return tf.tensor(laidOut.data, [...laidOut.shape], 'float32');
  });
  const run = (): tfc.Tensor[] => tf.tidy(() => c.tfjs(tf, xs));
  const toOurLayout = (data: Float32Array, t: tfc.Tensor, k: number): HostTensor => {
    const perm = c.outputs[k].tfjsPerm;
    const h = { shape: t.shape, data };
    return perm ? permute(h, inversePerm(perm)) : h;
  };
  return {
    async timeOnce(runs) {
      const t0 = performance.now();
      const outs = Array.from({ length: runs }, run).flat();
      if (backend === 'webgpu') await finishWebGpu(tf);
      const ms = performance.now() - t0;
      tf.dispose(outs);
      return ms / runs;
    },
    async settle() {
      // tfjs picks its programs by shape up front; nothing runs in the background.
    },
    async outputs() {
      const outs = run();
      try {
        return await Promise.all(outs.map(async (o, k) => toOurLayout((await o.data()) as Float32Array, o, k)));
      } finally {
        tf.dispose(outs);
      }
    },
    dispose() {
      tf.dispose(xs);
    },
  };
}

export async function createTfjsEngine(tf: TF, backend: TfjsBackend): Promise<Engine> {
  if (!(await tf.setBackend(backend)))
    throw new Error(`tfjs: backend '${backend}' failed to start (see the warning above).`);
  await tf.ready();
  const name: EngineName = backend === 'webgpu' ? 'tfjs-webgpu' : 'tfjs-cpu';
  return {
    name,
    onCpu: backend === 'cpu',
    async prepare(c, inputs) {
      // Each engine runs its phase alone, so switching the global backend here keeps every tensor
      // of the phase on that backend (no hidden moves between backends).
      await tf.setBackend(backend);
      return prepared(tf, backend, c, inputs);
    },
    liveTensors: () => tf.memory().numTensors,
    async close() {
      if (backend !== 'webgpu') return;
      const device = (tf.findBackend('webgpu') as unknown as WebGPUBackend | null)?.device;
      tf.removeBackend('webgpu'); // frees tfjs's buffers; it does not destroy the device
      device?.destroy();
    },
  };
}

/** The adapter tfjs-webgpu reports (vendor and architecture only). */
export function tfjsAdapterInfo(tf: TF): string {
  const b = tf.findBackend('webgpu') as unknown as { adapterInfo?: { vendor?: string; architecture?: string } } | null;
  return `${b?.adapterInfo?.vendor ?? '?'} ${b?.adapterInfo?.architecture ?? '?'}`;
}
