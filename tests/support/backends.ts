// Test harness: start both backends once per test file, and run one computation on CPU and WebGPU
// from the same host data to compare. The suite fails loudly when no WebGPU adapter exists.
import { afterAll, beforeAll, expect } from 'vitest';
import { shutdown, memory, scope, setBackend, tensor, Tensor, type DType } from '../../src/index.js';
import { backendFor } from '../../src/tensor/backends.js';
import type { AnyTypedArray } from '../../src/tensor/dtype.js';
import { createWebGpuBackend, type WebGpuBackend } from '../../src/kernels/webgpu/index.js';
import type { Backend } from '../../src/kernels/backend.js';
import { createCpuBackend } from '../../src/kernels/cpu/index.js';

/** Starts the WebGPU and CPU backends in beforeAll (WebGPU default) and destroys them in afterAll. */
export function useBackends(): void {
  beforeAll(async () => {
    await setBackend('cpu');
    await setBackend('webgpu'); // throws with the fix if no adapter: a GPU-less CI must go red
  });
  afterAll(async () => {
    await shutdown();
  });
}

/**
 * A raw WebGPU backend and a CPU backend of the file's own (the kernel tests call them directly,
 * not through the registry): made before the file's tests, handed to `set`, and the WebGPU one
 * destroyed after them.
 */
export function useRawBackends(set: (gpu: WebGpuBackend, cpu: Backend) => void): void {
  let gpu: WebGpuBackend | undefined;
  beforeAll(async () => {
    gpu = await createWebGpuBackend();
    set(gpu, createCpuBackend());
  });
  afterAll(async () => {
    await gpu?.destroy();
  });
}

/**
 * The WebGPU backend for a file whose tests switch its row kernels' strategy (after useBackends):
 * call the returned function inside tests; the strategy goes back to 'auto' after the file.
 */
export function useRowKernelStrategies(): () => WebGpuBackend {
  let gpu: WebGpuBackend | undefined;
  beforeAll(() => {
    gpu = backendFor('webgpu') as WebGpuBackend;
  });
  afterAll(() => {
    if (gpu) gpu.ctx.rowKernels = 'auto';
  });
  return () => gpu!;
}

/** Host data for one input: values (row-major), shape and dtype. */
export interface HostTensor {
  readonly values: ArrayLike<number>;
  readonly shape: readonly number[];
  readonly dtype?: DType;
}

const upload = (h: HostTensor, backend: 'cpu' | 'webgpu'): Tensor =>
  tensor(Float64Array.from(h.values as ArrayLike<number>), {
    shape: [...h.shape],
    dtype: h.dtype ?? 'float32',
    backend,
  });

export interface Compared {
  readonly cpu: AnyTypedArray;
  readonly gpu: AnyTypedArray;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/**
 * Runs `f` on CPU and WebGPU tensors made from the same host data and reads both results back.
 * Everything `f` makes is disposed; the live-tensor counts are checked to be unchanged.
 */
export async function runOnBoth(inputs: readonly HostTensor[], f: (...xs: Tensor[]) => Tensor): Promise<Compared> {
  const before = memory();
  const [c, g] = scope(() =>
    (['cpu', 'webgpu'] as const).map((b) => {
      const xs = inputs.map((h) => upload(h, b));
      return f(...xs);
    }),
  );
  try {
    expect(c.shape).toEqual(g.shape);
    expect(c.dtype).toBe(g.dtype);
    const [cpu, gpu] = await Promise.all([c.data(), g.data()]);
    return { cpu, gpu, shape: c.shape, dtype: c.dtype };
  } finally {
    c.dispose();
    g.dispose();
    const after = memory();
    expect(after.webgpu.tensors).toBe(before.webgpu.tensors);
    expect(after.cpu.tensors).toBe(before.cpu.tensors);
  }
}

/** Asserts |gpu - cpu| <= atol + rtol * |cpu| elementwise, with NaNs matching NaNs. */
export function expectClose(r: Compared, { rtol = 1e-5, atol = 1e-5 } = {}): void {
  expect(r.gpu.length).toBe(r.cpu.length);
  for (let i = 0; i < r.cpu.length; i++) {
    const a = r.cpu[i];
    const b = r.gpu[i];
    if (Number.isNaN(a) || Number.isNaN(b)) {
      if (Number.isNaN(a) !== Number.isNaN(b))
        throw new Error(`element ${i}: cpu ${a} vs gpu ${b} (shape [${r.shape}])`);
      continue;
    }
    if (a === b) continue;
    if (!(Math.abs(a - b) <= atol + rtol * Math.abs(a))) {
      throw new Error(
        `element ${i} of shape [${r.shape}] differs: cpu ${a} vs gpu ${b} (|diff| ${Math.abs(a - b)}, rtol ${rtol}, atol ${atol})`,
      );
    }
  }
}

/** Asserts bit-for-bit equality (integers, bools, exact float ops). */
export function expectEqual(r: Compared): void {
  expect(Array.from(r.gpu)).toEqual(Array.from(r.cpu));
}

/** Dispatches the WebGPU backend has recorded so far of the kernels whose names `match` (which variant ran). */
export const dispatchCount = (gpu: WebGpuBackend, match: (kernel: string) => boolean): number =>
  [...gpu.ctx.dispatcher.kernelCounts].filter(([k]) => match(k)).reduce((n, [, c]) => n + c, 0);
