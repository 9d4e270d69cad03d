// Acceptance at the device limits: ops past 65,535 workgroups in one dimension, a tensor at the
// 128 MiB default storage-binding limit, and one past it (computed on both backends when the
// adapter allows it, or refused with a BackendError naming the limit when it does not).
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import type { AnyTypedArray } from '../src/tensor/dtype.js';
import { backendFor } from '../src/tensor/backends.js';
import { useBackends } from './support/backends.js';

useBackends();

/** More elements than 65,535 workgroups of 256 threads cover (odd, so the grid has a ragged tail). */
const PAST_WORKGROUP_LIMIT = 65_535 * 256 + 299; // 16,777,259
/** float32 elements in 128 MiB, the WebGPU default maxStorageBufferBindingSize. */
const AT_128_MIB = (128 * 1024 * 1024) / 4; // 33,554,432
/** 33.6M float32 elements = 134.4 MB, past 128 MiB. */
const PAST_128_MIB = 33_600_000;

/** Host data with a simple exact pattern: small multiples of 1/4, positive and negative. */
function patterned(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = ((i % 1013) - 506) / 4;
  return a;
}

/**
 * Runs `f` on the same host data on both backends and reads both results back, disposing every
 * tensor and checking no handle leaks.
 */
async function onBoth(
  data: Float32Array,
  shape: number[],
  f: (x: Tensor) => Tensor,
): Promise<{ cpu: AnyTypedArray; gpu: AnyTypedArray }> {
  const before = T.memory();
  const out: AnyTypedArray[] = [];
  for (const backend of ['cpu', 'webgpu'] as const) {
    const y = T.scope(() => f(T.tensor(data, { shape, backend })));
    try {
      out.push(await y.data());
    } finally {
      y.dispose();
    }
  }
  const after = T.memory();
  expect(after.webgpu.tensors).toBe(before.webgpu.tensors);
  expect(after.cpu.tensors).toBe(before.cpu.tensors);
  return { cpu: out[0], gpu: out[1] };
}

/** Indices every `stride` elements plus both ends (and their neighbours). */
const sampleIndices = (n: number, stride: number): number[] => {
  const idx = [0, 1, n - 2, n - 1];
  for (let i = 0; i < n; i += stride) idx.push(i);
  return idx;
};

/** Asserts bit equality at every index (or the sampled ones), naming the first mismatch. */
function expectSameAt(r: { cpu: AnyTypedArray; gpu: AnyTypedArray }, indices?: number[]): void {
  expect(r.gpu.length).toBe(r.cpu.length);
  let mismatches = 0;
  let first = -1;
  const check = (i: number): void => {
    if (!Object.is(r.cpu[i], r.gpu[i])) {
      mismatches++;
      if (first < 0) first = i;
    }
  };
  if (indices) indices.forEach(check);
  else for (let i = 0; i < r.cpu.length; i++) check(i);
  expect(mismatches, first < 0 ? '' : `first mismatch at ${first}: cpu ${r.cpu[first]} vs gpu ${r.gpu[first]}`).toBe(0);
}

describe('past 65,535 workgroups in one dimension', () => {
  it(`an elementwise op on ${PAST_WORKGROUP_LIMIT} elements matches the CPU exactly at every element`, async () => {
    const r = await onBoth(patterned(PAST_WORKGROUP_LIMIT), [PAST_WORKGROUP_LIMIT], (x) =>
      T.sub(T.mul(x, 3), T.abs(x)),
    );
    expect(r.gpu.length).toBe(PAST_WORKGROUP_LIMIT);
    expectSameAt(r);
    // Anchor: element i is 3v - |v| for v = ((i % 1013) - 506) / 4.
    const last = PAST_WORKGROUP_LIMIT - 1;
    const v = ((last % 1013) - 506) / 4;
    expect(r.gpu[last]).toBe(3 * v - Math.abs(v));
  });

  it('a broadcast binary op whose output passes the workgroup limit matches the CPU exactly', async () => {
    const rows = 257;
    const cols = 65_281; // rows * cols = 16,777,217 > 65,535 * 256
    const r = await onBoth(patterned(cols), [1, cols], (x) =>
      T.add(T.broadcastTo(x, [rows, cols]), T.reshape(T.arange(rows, undefined, 1, { backend: x.backend }), [rows, 1])),
    );
    expect(r.gpu.length).toBe(rows * cols);
    expectSameAt(r);
  });

  it('a sum over all of them is exact, and row sums match the CPU', async () => {
    // Values in {-1, 0, 1}: every partial sum of any subset is an integer below 2^24, so the sum is
    // exact in float32 whatever order the GPU adds in.
    const n = PAST_WORKGROUP_LIMIT;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i % 3) - 1;
    const total = await onBoth(data, [n], (x) => T.sum(x));
    const want = data.reduce((a, b) => a + b, 0);
    expect(total.cpu[0]).toBe(want);
    expect(total.gpu[0]).toBe(want);
    const rows = await onBoth(data.subarray(0, n - 1), [2, (n - 1) / 2], (x) => T.sum(x, { axis: 1 }));
    expectSameAt(rows);
  });

  it('a float sum over them matches the CPU to a relative 1e-5', async () => {
    const n = PAST_WORKGROUP_LIMIT;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = ((i * 0.6180339887) % 1) * 0.5; // in [0, 0.5)
    const r = await onBoth(data, [n], (x) => T.sum(x));
    // A tree sum in f32 errs by ~log2(n) ulp; a serial one could be off by 1e-3 or more here.
    expect(Math.abs(r.gpu[0] - r.cpu[0])).toBeLessThanOrEqual(1e-5 * Math.abs(r.cpu[0]));
  });
});

describe('the 128 MiB storage binding limit', () => {
  const maxGpuElements = (): number => backendFor('webgpu').maxElements('float32').elements;

  it('a tensor of exactly 128 MiB goes through an elementwise op on both backends and matches', async () => {
    if (maxGpuElements() < AT_128_MIB) {
      // An adapter below the WebGPU default: refused up front, naming the limit.
      expect(() => T.zeros([AT_128_MIB], { backend: 'webgpu' })).toThrow(T.BackendError);
      return;
    }
    const r = await onBoth(patterned(AT_128_MIB), [AT_128_MIB], (x) => T.neg(T.add(x, 0.5)));
    expectSameAt(r, sampleIndices(AT_128_MIB, 997));
    expect(r.gpu[AT_128_MIB - 1]).toBe(-(((AT_128_MIB - 1) % 1013) - 506) / 4 - 0.5);
  });

  it(`a tensor past 128 MiB (${PAST_128_MIB} float32) matches the CPU, or is refused with a BackendError naming the limit`, async () => {
    const { elements, limit } = backendFor('webgpu').maxElements('float32');
    if (elements >= PAST_128_MIB) {
      // The adapter binds more than 128 MiB: compute on both and compare a strided sample.
      const r = await onBoth(patterned(PAST_128_MIB), [PAST_128_MIB], (x) => T.sub(T.mul(x, 2), 1));
      expectSameAt(r, sampleIndices(PAST_128_MIB, 997));
      return;
    }
    const before = T.memory();
    const limitPattern = /maxStorageBufferBindingSize|maxBufferSize/;
    // Uploading such a tensor is refused before any device allocation, naming the limit and the size.
    const host = new Float32Array(PAST_128_MIB);
    expect(() => T.tensor(host, { backend: 'webgpu' })).toThrow(T.BackendError);
    expect(() => T.tensor(host, { backend: 'webgpu' })).toThrow(limitPattern);
    expect(() => T.tensor(host, { backend: 'webgpu' })).toThrow(new RegExp(`${PAST_128_MIB}`));
    // So is an op whose output would pass it, built from small inputs (a broadcast view is free).
    const small = T.ones([1], { backend: 'webgpu' });
    try {
      let caught: unknown;
      try {
        T.scope(() => T.add(T.broadcastTo(small, [PAST_128_MIB]), 1));
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(T.BackendError);
      expect((caught as Error).message).toMatch(limitPattern);
      expect((caught as Error).message).toContain(limit);
      expect(() => T.full([PAST_128_MIB], 2, { backend: 'webgpu' })).toThrow(limitPattern);
    } finally {
      small.dispose();
    }
    const after = T.memory();
    // The failed ops left nothing behind on the device.
    expect(after.webgpu.bytes).toBe(before.webgpu.bytes);
    // The CPU backend computes it: the reference side of the comparison still works.
    const y = T.scope(() => T.sub(T.mul(T.tensor(patterned(PAST_128_MIB), { backend: 'cpu' }), 2), 1));
    try {
      const values = await y.data();
      for (const i of sampleIndices(PAST_128_MIB, 997)) expect(values[i]).toBe(2 * (((i % 1013) - 506) / 4) - 1);
    } finally {
      y.dispose();
    }
  });
});
