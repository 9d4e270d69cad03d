// loadSafetensors with an expected tree: typed by it, and checked against it before any tensor is
// made, with every missing, extra and mis-shaped entry named.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import * as T from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'safetensors-expect-'));
beforeAll(() => T.setBackend('cpu'));
afterAll(() => T.shutdown());

const model = () => ({
  layers: [
    { w: T.zeros([2, 3]), b: T.zeros([3]) },
    { w: T.zeros([3, 1]), b: T.zeros([1]) },
  ],
  scale: T.ones([]),
});

describe('loadSafetensors with expect', () => {
  it('a matching file loads as the expected type (tensors or { shape, dtype } as leaves)', async () => {
    const params = model();
    const path = join(dir, 'ok.safetensors');
    await T.saveSafetensors(path, params);
    const { tree } = await T.loadSafetensors(path, { expect: params });
    expectTypeOf(tree).toEqualTypeOf<{ layers: { w: T.Tensor; b: T.Tensor }[]; scale: T.Tensor }>();
    expect(tree.layers[1].w.shape).toEqual([3, 1]);
    expect(await tree.scale.data()).toEqual(new Float32Array([1]));
    const spec = {
      layers: [
        { w: { shape: [2, 3] }, b: { shape: [3] } },
        { w: { shape: [3, 1], dtype: 'float32' as const }, b: { shape: [1] } },
      ],
      scale: { shape: [] },
    };
    const bySpec = await T.loadSafetensors(path, { expect: spec });
    expectTypeOf(bySpec.tree.layers[0].b).toEqualTypeOf<T.Tensor>();
    expect(bySpec.tree.layers[0].b.shape).toEqual([3]);
    T.dispose([params, tree, bySpec.tree]);
  });

  it('missing, extra and mis-shaped entries are all named in one error, and nothing is allocated', async () => {
    const path = join(dir, 'other.safetensors');
    const saved = {
      layers: [{ w: T.zeros([3, 2]), b: T.zeros([3]) }],
      extra: T.zeros([4]),
      scale: T.ones([], { dtype: 'int32' }),
    };
    await T.saveSafetensors(path, saved);
    const params = model();
    const before = T.memory();
    const err = (await T.loadSafetensors(path, { expect: params }).then(
      () => new Error('loaded'),
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(T.SafetensorsError);
    expect(err.message).toMatch(/loadSafetensors\(.*other\.safetensors\): its tensors do not match the expected tree/);
    expect(err.message).toMatch(/missing 2 \('layers\.1\.w' \[3, 1\], 'layers\.1\.b' \[1\]\)/);
    expect(err.message).toMatch(/1 not expected \('extra' \[4\]\)/);
    expect(err.message).toMatch(
      /2 mis-shaped \('layers\.0\.w' is \[3, 2\], expected \[2, 3\], 'scale' loads as int32, expected float32\)/,
    );
    expect(err.message).toMatch(/load the file that matches this model/);
    expect(T.memory()).toEqual(before);
    T.dispose([params, saved]);
  });

  it("an expectation that is not a tree of tensors or specs is the caller's error", async () => {
    const path = join(dir, 'ok2.safetensors');
    const t = T.zeros([1]);
    await T.saveSafetensors(path, { t });
    await expect(T.loadSafetensors(path, { expect: { t: 3 } })).rejects.toThrow(
      /expect\.t is number; expected leaves are tensors or \{ shape, dtype\? \} records/,
    );
    await expect(T.loadSafetensors(path, { expect: t })).rejects.toThrow(
      /expect is a single tensor; wrap it in a record/,
    );
    t.dispose();
  });
});
