// The conditional UNet epsilon-predictor: shapes on both backends, WebGPU = CPU, gradients
// (checkGrad on a micro config), the parameter and FLOP counts, clear errors, and memory.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import {
  checkUnetParams,
  UNET_PRESETS,
  unetApply,
  unetInit,
  unetModel,
  unetSpec,
  unetStats,
  type UNetConfig,
  type UNetParams,
} from '../src/nn.js';
import { unetPlan } from '../src/models/unet-config.js';
import { expectClose, useBackends } from './support/backends.js';
import { MICRO_UNET_ATTENTION } from './support/micro-policy.js';

useBackends();

type Backend = 'cpu' | 'webgpu';

/** The smallest UNet with every kind of block: 2 levels (8x8, 4x4), attention at 4x4, a channel change. */
const MICRO: UNetConfig = { ...MICRO_UNET_ATTENTION, heads: 2, zeroInit: false };

const inputs = (b: number, size: number, backend: Backend, dtype: 'float32' | 'float64' = 'float32', channels = 3) => ({
  xt: T.normal(T.key(100), [b, channels, size, size], { backend, dtype }),
  cond: T.uniform(T.key(101), [b, channels, size, size], { backend, dtype, min: -1, max: 1 }),
  t: T.tensor(
    Array.from({ length: b }, (_, i) => [999, 0, 431, 77][i % 4]),
    { backend, dtype },
  ),
});

/** Copies every leaf of a tree to another backend, keeping the structure. */
async function treeToBackend<P>(tree: P, backend: Backend): Promise<P> {
  const copies = await Promise.all(T.treeLeaves(tree).map((l) => T.toBackend(l, backend)));
  let i = 0;
  return T.treeMap(tree, () => copies[i++]);
}

/** Returns the tree leaf at a dotted path ('down.0.res.0.conv1.weight'). */
const leafAt = (tree: unknown, path: string): Tensor =>
  path.split('.').reduce((node: any, k) => node[k], tree) as Tensor;

/** A copy of `tree` with the leaves at `paths` replaced (structure shared otherwise). */
function withLeaves<P>(tree: P, paths: readonly string[], leaves: readonly Tensor[]): P {
  const replace = (node: any, parts: string[], leaf: Tensor): any => {
    if (parts.length === 0) return leaf;
    const [k, ...rest] = parts;
    const copy = Array.isArray(node) ? [...node] : { ...node };
    copy[k] = replace(node[k], rest, leaf);
    return copy;
  };
  return paths.reduce((t: any, p, i) => replace(t, p.split('.'), leaves[i]), tree) as P;
}

describe('the UNet forward pass', () => {
  for (const backend of ['cpu', 'webgpu'] as const) {
    it(`on ${backend}, the tiny preset maps xt, cond [2, 3, 32, 32] and t [2] to eps [2, 3, 32, 32]`, async () => {
      const params = unetInit(T.key(0), { ...UNET_PRESETS.tiny, zeroInit: false }, { backend });
      const { xt, cond, t } = inputs(2, 32, backend);
      const eps = unetApply(params, UNET_PRESETS.tiny, xt, t, cond);
      expect(eps.shape).toEqual([2, 3, 32, 32]);
      expect(eps.backend).toBe(backend);
      expect(eps.dtype).toBe('float32');
      const v = await eps.data();
      expect(v.every(Number.isFinite)).toBe(true);
      expect(v.some((x) => x !== 0)).toBe(true);
      T.disposeTree([params, xt, cond, t, eps]);
    });
  }

  it('WebGPU equals the CPU to 1e-4 on the same float32 params (tiny preset, 16x16, batch 2)', async () => {
    const config = { ...UNET_PRESETS.tiny, zeroInit: false };
    const onCpu = unetInit(T.key(1), config, { backend: 'cpu' });
    const onGpu = await treeToBackend(onCpu, 'webgpu');
    const a = inputs(2, 16, 'cpu');
    const b = {
      xt: await T.toBackend(a.xt, 'webgpu'),
      cond: await T.toBackend(a.cond, 'webgpu'),
      t: await T.toBackend(a.t, 'webgpu'),
    };
    const [c, g] = [unetApply(onCpu, config, a.xt, a.t, a.cond), unetApply(onGpu, config, b.xt, b.t, b.cond)];
    expect(g.backend).toBe('webgpu');
    const [cv, gv] = [await c.data(), await g.data()];
    const scale = Math.max(...Array.from(cv, Math.abs));
    expect(scale).toBeGreaterThan(0.1); // a non-trivial output
    expectClose({ cpu: cv, gpu: gv, shape: c.shape, dtype: 'float32' }, { rtol: 1e-4, atol: 1e-4 });
    T.disposeTree([onCpu, onGpu, a, b, c, g]);
  });

  it('with the default zero-init, an untrained UNet predicts eps = 0', async () => {
    const params = unetInit(T.key(2), { ...MICRO, zeroInit: true }, { backend: 'cpu' });
    const { xt, cond, t } = inputs(1, 8, 'cpu');
    const eps = unetApply(params, MICRO, xt, t, cond);
    expect(Array.from(await eps.data()).every((x) => x === 0)).toBe(true);
    T.disposeTree([params, xt, cond, t, eps]);
  });

  it('unetModel(config) is the EpsModel (params, xt, t, cond) => unetApply(params, config, ...)', async () => {
    const params = unetInit(T.key(3), MICRO, { backend: 'cpu' });
    const { xt, cond, t } = inputs(2, 8, 'cpu');
    const [a, b] = [unetModel(MICRO)(params, xt, t, cond), unetApply(params, MICRO, xt, t, cond)];
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    T.disposeTree([params, xt, cond, t, a, b]);
  });

  it('the output depends on xt, cond and t', async () => {
    const params = unetInit(T.key(4), MICRO, { backend: 'cpu' });
    const { xt, cond, t } = inputs(1, 8, 'cpu');
    const base = Array.from(await unetApply(params, MICRO, xt, t, cond).data());
    const t2 = T.tensor([500], { backend: 'cpu' });
    const variants = [
      unetApply(params, MICRO, cond, t, cond),
      unetApply(params, MICRO, xt, t, xt),
      unetApply(params, MICRO, xt, t2, cond),
    ];
    for (const v of variants) expect(Array.from(await v.data())).not.toEqual(base);
    T.disposeTree([params, xt, cond, t, t2, variants]);
  });
});

describe('gradients', () => {
  it('checkGrad passes on a micro UNet w.r.t. the input and sampled params (CPU float64)', async () => {
    const params = unetInit(T.key(5), MICRO, { backend: 'cpu', dtype: 'float64' });
    const { xt, cond, t } = inputs(1, 8, 'cpu', 'float64');
    const paths = [
      'inConv.weight',
      'time.linear1.weight',
      'down.0.res.0.conv1.weight',
      'down.1.res.0.skip.weight',
      'down.1.attn.0.qkv.weight',
      'mid.res2.norm1.weight',
      'up.0.res.1.time.weight',
      'up.0.upsample.weight',
      'up.1.res.0.conv2.weight',
      'outConv.bias',
    ];
    const report = await T.checkGrad(
      (x, c, ...leaves) => unetApply(withLeaves(params, paths, leaves), MICRO, x, t, c),
      [xt, cond, ...paths.map((p) => leafAt(params, p))],
      { maxElementsPerInput: 4 },
    );
    expect(report.checked).toBeGreaterThanOrEqual(4 * (paths.length + 1));
    expect(report.ok, report.message).toBe(true);
    T.disposeTree([params, xt, cond, t]);
  });

  it('valueAndGrad of mean(eps^2) gives a gradient for every leaf, shaped like it, and frees the rest', async () => {
    const params = unetInit(T.key(6), MICRO, { backend: 'webgpu' });
    const { xt, cond, t } = inputs(2, 8, 'webgpu');
    const before = T.memory();
    const [loss, grads] = T.valueAndGrad((p: UNetParams) => T.mean(T.square(unetApply(p, MICRO, xt, t, cond))))(params);
    const gl = T.treeLeaves(grads);
    const pl = T.treeLeaves(params);
    expect(gl.length).toBe(pl.length);
    gl.forEach((g, i) => expect(g.shape).toEqual(pl[i].shape));
    expect(Number.isFinite((await loss.data())[0])).toBe(true);
    expect(T.memory().webgpu.tensors - before.webgpu.tensors).toBe(1 + gl.length);
    T.disposeTree([loss, grads]);
    expect(T.memory().webgpu.tensors).toBe(before.webgpu.tensors);
    T.disposeTree([params, xt, cond, t]);
  });
});

describe('size and cost', () => {
  it('unetStats.params equals the sum of the sizes of unetInit leaves (micro, tiny)', () => {
    for (const config of [MICRO, UNET_PRESETS.tiny]) {
      const params = unetInit(T.key(7), config, { backend: 'cpu' });
      const leaves = T.treeLeaves(params).reduce((n, l) => n + l.size, 0);
      expect(unetStats(config, { height: 32, width: 32 }).params).toBe(leaves);
      T.disposeTree(params);
    }
  });

  it('the tiny preset costs well under 100 MFLOP per 32x32 image; base is printed for reference', () => {
    const tiny = unetStats(UNET_PRESETS.tiny, { height: 32, width: 32 });
    const base = unetStats(UNET_PRESETS.base, { height: 128, width: 128 });
    console.log(
      `tiny @32x32: ${tiny.params} params, ${(tiny.flopsPerImage / 1e6).toFixed(1)} MFLOP/image; ` +
        `base @128x128: ${base.params} params, ${(base.flopsPerImage / 1e9).toFixed(2)} GFLOP/image`,
    );
    expect(tiny.flopsPerImage).toBeLessThan(60e6);
    expect(base.flopsPerImage).toBeGreaterThan(tiny.flopsPerImage);
    // small doubles every width: about 4x the params and FLOPs (the stem and attention scale less).
    const small = unetStats(UNET_PRESETS.small, { height: 32, width: 32 });
    expect(small.params).toBe(687779);
    expect(small.flopsPerImage / tiny.flopsPerImage).toBeGreaterThan(3.5);
    expect(small.flopsPerImage / tiny.flopsPerImage).toBeLessThan(4.1);
  });

  it('flopsPerImage equals 2 x the multiply-adds of every conv2d, matmul and attention product the forward pass runs', () => {
    for (const [config, size] of [
      [MICRO, 8],
      [UNET_PRESETS.tiny, 32],
    ] as const) {
      const params = unetInit(T.key(8), config, { backend: 'cpu' });
      const { xt, cond, t } = inputs(1, size, 'cpu');
      let flops = 0;
      const eps = T.observePrimitives(
        (prim, ins, _params, out) => {
          if (prim === 'conv2d') flops += 2 * out.size * ins[1].shape[1] * ins[1].shape[2] * ins[1].shape[3];
          if (prim === 'matmul') flops += 2 * out.size * ins[0].shape[ins[0].rank - 1];
          // attention's two products: Q K^T (N x M x d) and the weights times V (N x M x e).
          if (prim === 'attention')
            flops +=
              2 *
              (out.size / ins[2].shape[ins[2].rank - 1]) *
              ins[1].shape[ins[1].rank - 2] *
              (ins[0].shape[ins[0].rank - 1] + ins[2].shape[ins[2].rank - 1]);
        },
        () => unetApply(params, config, xt, t, cond),
      );
      expect(flops).toBe(unetStats(config, { height: size, width: size }).flopsPerImage);
      T.disposeTree([params, xt, cond, t, eps]);
    }
  });

  it('the plan follows DDPM: skips pushed on the way down are all consumed on the way up', () => {
    const plan = unetPlan(UNET_PRESETS.base);
    expect(plan.down.map((l) => l.channels)).toEqual([64, 64, 128, 128, 256]);
    expect(plan.up.map((l) => l.res.length)).toEqual([3, 3, 3, 3, 3]);
    // hs = [in, 2 per level + 1 per downsampling] = 1 + 10 + 4 = 15 = 5 levels x 3 up blocks.
    expect(plan.up.flatMap((l) => l.res).length).toBe(15);
    expect(plan.up[plan.up.length - 1].res[2]).toEqual({ inChannels: 128, outChannels: 64 });
    expect(plan.down.map((l) => l.attention)).toEqual([false, false, false, false, true]);
  });
});

describe('errors', () => {
  const expectShapeError = (f: () => unknown, ...parts: (string | RegExp)[]) => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(T.ShapeError);
    for (const p of parts)
      expect((err as Error).message).toMatch(
        p instanceof RegExp ? p : new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
      );
  };

  it('refuses images whose size is not divisible by 2^(levels - 1), saying what size would fit', () => {
    const params = unetInit(T.key(9), UNET_PRESETS.tiny, { backend: 'cpu' });
    const { xt, cond, t } = inputs(1, 30, 'cpu');
    expectShapeError(
      () => unetApply(params, UNET_PRESETS.tiny, xt, t, cond),
      'unetApply',
      '30x30',
      '[1, 3, 30, 30]',
      '2^(levels - 1) = 4',
      'channelMults [1, 2, 4]',
      '32x32',
    );
    T.disposeTree([params, xt, cond, t]);
  });

  it('refuses xt or cond with the wrong channel count, xt and cond of different shapes, and t not [B]', () => {
    const params = unetInit(T.key(10), MICRO, { backend: 'cpu' });
    const good = inputs(2, 8, 'cpu');
    const gray = inputs(2, 8, 'cpu', 'float32', 1);
    const small = inputs(2, 4, 'cpu');
    const apply = (xt: Tensor, t: Tensor, cond: Tensor) => () => unetApply(params, MICRO, xt, t, cond);
    expectShapeError(
      apply(gray.xt, good.t, good.cond),
      'unetApply',
      'xt [2, 1, 8, 8]',
      '[B, 3, H, W]',
      'imageChannels = 3',
    );
    expectShapeError(apply(good.xt, good.t, gray.cond), 'cond [2, 1, 8, 8]', '[B, 3, H, W]');
    expectShapeError(
      apply(good.xt, good.t, small.cond),
      'xt [2, 3, 8, 8] and cond [2, 3, 4, 4] must have the same shape',
    );
    const t1 = T.tensor([5], { backend: 'cpu' });
    const t2d = T.tensor([[5], [6]], { backend: 'cpu' });
    expectShapeError(apply(good.xt, t1, good.cond), 't [1] must be [2]', 'xt [2, 3, 8, 8]');
    expectShapeError(apply(good.xt, t2d, good.cond), 't [2, 1] must be [2]');
    T.disposeTree([params, good, gray, small, t1, t2d]);
  });

  it('refuses params of another config, naming the first mismatching path and both shapes', () => {
    const micro = unetInit(T.key(11), MICRO, { backend: 'cpu' });
    const { xt, cond, t } = inputs(1, 32, 'cpu');
    // A micro checkpoint used with the tiny preset: the first leaf that differs is the time MLP.
    expectShapeError(
      () => unetApply(micro as UNetParams, UNET_PRESETS.tiny, xt, t, cond),
      'unetApply: params.time.linear1.weight has shape [8, 4] but the UNet config { baseChannels 8',
      'expects [32, 8]',
      'Load a checkpoint saved with this config',
    );
    // Same widths, one level fewer: the tree's structure differs.
    expectShapeError(
      () => checkUnetParams(micro, { ...MICRO, channelMults: [1] }),
      'params.down should be an array of 1 entries',
      'an array of 2',
    );
    // Attention switched off: the params have a block the config does not.
    expectShapeError(
      () => checkUnetParams(micro, { ...MICRO, attentionAtLowest: false }),
      'params.down.1.attn is not part of the UNet config',
    );
    T.disposeTree([micro, xt, cond, t]);
  });

  it('refuses configs whose groups or heads do not divide the channels', () => {
    expectShapeError(() => unetSpec({ ...MICRO, groups: 3 }), 'unetConfig', 'groups 3 does not divide the 4 channels');
    expectShapeError(
      () => unetSpec({ ...MICRO, heads: 3 }),
      'heads 3 does not divide the 8 channels of the lowest level',
    );
    expectShapeError(() => unetSpec({ ...MICRO, channelMults: [] }), 'channelMults must be a non-empty list');
    // A missing list is named, not a TypeError from inside the message.
    expectShapeError(
      () => unetSpec({ ...MICRO, channelMults: undefined as unknown as number[] }),
      'channelMults must be a non-empty list',
    );
  });

  it('names the argument order when the params tree is passed where the config goes', () => {
    const micro = unetInit(T.key(13), MICRO, { backend: 'cpu' });
    const { xt, cond, t } = inputs(1, 8, 'cpu');
    expectShapeError(
      () => unetApply(MICRO as never, micro as never, xt, t, cond),
      'expected a UNet config',
      'unetApply takes (params, config, xt, t, cond)',
    );
    T.disposeTree([micro, xt, cond, t]);
  });
});

describe('memory', () => {
  for (const backend of ['cpu', 'webgpu'] as const) {
    it(`on ${backend}, a forward inside scope leaves the live-tensor counts unchanged, and params survive`, async () => {
      const params = unetInit(T.key(12), MICRO, { backend });
      const { xt, cond, t } = inputs(2, 8, backend);
      const before = T.memory();
      const total = T.scope(() => T.sum(unetApply(params, MICRO, xt, t, cond)));
      expect(T.memory()[backend].tensors - before[backend].tensors).toBe(1);
      await total.data();
      total.dispose();
      const after = T.memory();
      expect(after[backend].tensors).toBe(before[backend].tensors);
      expect(after[backend].bytes).toBe(before[backend].bytes);
      expect(T.treeLeaves(params).every((l) => !l.isDisposed)).toBe(true);
      T.disposeTree([params, xt, cond, t]);
    });
  }
});
