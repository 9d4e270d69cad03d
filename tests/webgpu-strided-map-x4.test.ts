// The 4-elements-per-thread strided map (strided-map.ts): when the innermost dimension is a
// multiple of 4 each thread reads vec4s, broadcast scalars or 4 gathers per operand (16 elements,
// 4 vec4s of one row, when an operand is broadcast along rows of a multiple of 16); when only the
// element count is ('flat'), a thread's 4 elements may cross a row end and are then loaded one by
// one. It must give exactly what the CPU gives for every mix of contiguous, misaligned, broadcast,
// transposed and sliced operands, and be the path taken where it applies.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { WebGpuBackend } from '../src/kernels/webgpu/index.js';
import { backendFor } from '../src/tensor/backends.js';
import { runs } from './support/arbitraries.js';
import { dispatchCount, useBackends } from './support/backends.js';

useBackends();

let gpu: WebGpuBackend;
beforeAll(() => {
  gpu = backendFor('webgpu') as WebGpuBackend;
});

/** A shape whose last dim is a multiple of 4 (4..16) after 0..3 leading dims of 1..5. */
const x4Shape = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 5 }), { maxLength: 3 }), fc.integer({ min: 1, max: 4 }))
  .map(([lead, q]) => [...lead, 4 * q]);

/** A shape whose last dim is a multiple of 16 (16..64): with a broadcast operand, 16 elements per thread. */
const x16Shape = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }), fc.integer({ min: 1, max: 4 }))
  .map(([lead, q]) => [...lead, 16 * q]);

/**
 * A shape with a multiple of 4 elements whose last dim is not one (1..11): in the flat plan a
 * thread's 4 elements cross row ends (every thread's, when the last dim is 1 or 2).
 */
const flatShape = fc
  .tuple(
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 11 }).filter((k) => k % 4 !== 0),
  )
  .map(([lead, q, last]) => [...lead, 4 * q, last]);

/** How an operand of shape `shape` is presented: as is, broadcast from a reduced shape, sliced (misaligned), or transposed. */
type Presentation = 'plain' | 'broadcastInner' | 'broadcastOuter' | 'sliced' | 'transposed';
const presentation = fc.constantFrom<Presentation>('plain', 'broadcastInner', 'broadcastOuter', 'sliced', 'transposed');

/** Host values of `size`, exactly representable, seeded. */
const values = (size: number, seed: number): Float32Array =>
  Float32Array.from({ length: size }, (_, i) => (((i * 7 + seed * 13) % 23) - 11) / 8);

/** The operand on `backend`: a view of `shape` built as `how` asks (the same on both backends). */
function operand(shape: number[], how: Presentation, seed: number, backend: T.BackendName): T.Tensor {
  const r = shape.length;
  const make = (s: number[]) =>
    T.tensor(
      values(
        s.reduce((a, b) => a * b, 1),
        seed,
      ),
      { shape: s, backend },
    );
  switch (how) {
    case 'plain':
      return make(shape);
    case 'broadcastInner': // stride 0 along the last dim: a splat per thread
      return T.broadcastTo(make([...shape.slice(0, -1), 1]), shape);
    case 'broadcastOuter':
      return r > 1 ? T.broadcastTo(make([1, ...shape.slice(1)]), shape) : make(shape);
    case 'sliced': // offset 1: unit inner stride, misaligned, so gathered
      return T.slice(
        make([...shape.slice(0, -1), shape[r - 1] + 1]),
        [...shape.map(() => 0).slice(0, -1), 1],
        [...shape.slice(0, -1), shape[r - 1] + 1],
      );
    case 'transposed': // inner stride != 1
      return r > 1 ? T.transpose(make([...shape].reverse()), [...Array(r).keys()].reverse()) : make(shape);
  }
}

async function both(
  shape: number[],
  hows: readonly Presentation[],
  f: (...xs: T.Tensor[]) => T.Tensor,
): Promise<[Float32Array, Float32Array]> {
  const run = async (backend: T.BackendName) => {
    const y = T.scope(() => f(...hows.map((h, i) => operand(shape, h, i + 1, backend))));
    const v = (await y.data()) as Float32Array;
    y.dispose();
    return v;
  };
  return [await run('cpu'), await run('webgpu')];
}

const dispatchesEndingWith = (suffix: string): number => dispatchCount(gpu, (k) => k.endsWith(suffix));
const x4Dispatches = (): number => dispatchesEndingWith(':x4');

describe('4-wide strided map', () => {
  for (const [plan, shapes] of [
    ['rows plan (last dim a multiple of 4)', x4Shape],
    ['rows plan, 16 elements a thread with a broadcast operand (last dim a multiple of 16)', x16Shape],
    ['flat plan (rows end inside a thread)', flatShape],
  ] as const) {
    it(`${plan}: a fused 3-input chain equals the CPU for every operand presentation`, async () => {
      await fc.assert(
        fc.asyncProperty(shapes, fc.array(presentation, { minLength: 3, maxLength: 3 }), async (shape, hows) => {
          const [cpu, webgpu] = await both(shape, hows, (a, b, c) => T.sub(T.mul(T.silu(T.add(a, b)), c), T.tanh(a)));
          expect(webgpu.length).toBe(cpu.length);
          for (let i = 0; i < cpu.length; i++) expect(webgpu[i]).toBeCloseTo(cpu[i], 5);
        }),
        runs(40),
      );
    });
  }

  it('unfused binary ops and casts equal the CPU exactly', async () => {
    gpu.ctx.fusion = false;
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(x4Shape, x16Shape, flatShape), presentation, presentation, async (shape, ha, hb) => {
          const [cpu, webgpu] = await both(shape, [ha, hb], (a, b) =>
            T.cast(T.greater(T.add(a, b), T.mul(a, b)), 'float32'),
          );
          expect(Array.from(webgpu)).toEqual(Array.from(cpu));
        }),
        runs(30),
      );
    } finally {
      gpu.ctx.fusion = true;
    }
  });

  it('runs 4 elements per thread where the layout allows, one element where it does not', async () => {
    const before = x4Dispatches();
    await both([3, 8], ['plain', 'broadcastInner'], (a, b) => T.add(a, b));
    expect(x4Dispatches()).toBe(before + 1);
    await both([3, 7], ['plain', 'plain'], (a, b) => T.add(a, b)); // 21 elements: not a multiple of 4
    expect(x4Dispatches()).toBe(before + 1);
  });

  it('runs 16 elements per thread along rows of a multiple of 16 when an operand is broadcast along them', async () => {
    const x16 = () => dispatchesEndingWith(':x16');
    const [before, before4] = [x16(), x4Dispatches()];
    // A per-channel value over 32-pixel rows (a group norm's affine, in small).
    await both([3, 32], ['plain', 'broadcastInner', 'plain'], (a, b, c) => T.add(T.mul(a, b), c));
    expect(x16()).toBe(before + 1);
    await both([3, 32], ['plain', 'plain'], (a, b) => T.add(a, b)); // nothing broadcast: 4 a thread
    await both([3, 24], ['plain', 'broadcastInner'], (a, b) => T.add(a, b)); // rows of 24: 4 a thread
    expect(x16()).toBe(before + 1);
    expect(x4Dispatches()).toBe(before4 + 2);
  });

  it('takes the flat plan when the element count is a multiple of 4 but the row length is not', async () => {
    const before = dispatchesEndingWith(':x4flat');
    // A per-row broadcast over rows of 7 (a per-channel scale over 35x35 pixels, in small).
    await both([4, 7], ['plain', 'broadcastInner'], (a, b) => T.add(a, b));
    expect(dispatchesEndingWith(':x4flat')).toBe(before + 1);
    await both([3, 7], ['plain', 'broadcastInner'], (a, b) => T.add(a, b)); // 21 elements
    expect(dispatchesEndingWith(':x4flat')).toBe(before + 1);
  });
});
