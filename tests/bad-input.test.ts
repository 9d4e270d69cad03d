// Issue 17: bad input that used to crash late, hang, or be silently accepted is refused early by a
// named error class whose message names the op, the value and the fix (items 4, 8 and the
// "unclear or silently accepted" list); the engine keeps computing afterwards.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();

describe('sizes from the user are checked before anything is allocated', () => {
  it('arange(2e9) on the CPU names the op and the host limit', () => {
    expect(() => T.arange(2e9, undefined, 1, { backend: 'cpu' })).toThrow(T.BackendError);
    expect(() => T.arange(2e9, undefined, 1, { backend: 'cpu' })).toThrow(
      /arange: an output of shape \[2000000000\] \(2000000000 int32 elements\) exceeds the cpu device limit JS TypedArray size/,
    );
  });
  it('linspace(0, 1, 2e9) on WebGPU names the device limit', () => {
    expect(() => T.linspace(0, 1, 2e9, { backend: 'webgpu' })).toThrow(
      /linspace: an output of shape \[2000000000\] .* exceeds the webgpu device limit/,
    );
  });
  it('arange(1e10) is a size error, not "Invalid array length"', () => {
    expect(() => T.arange(1e10, undefined, 1, { backend: 'cpu' })).toThrow(
      /arange: an output of shape \[10000000000\]/,
    );
  });
  it('reading back broadcastTo(tensor(1), [2**31]) is refused before the copy', async () => {
    for (const backend of ['cpu', 'webgpu'] as const) {
      const one = T.tensor(1, { backend });
      const wide = T.broadcastTo(one, [2 ** 31]);
      await expect(wide.data()).rejects.toThrow(/data: an output of shape \[2147483648\] .* exceeds the/);
      T.dispose([one, wide]);
    }
  });
  it('zeros([2**31]) keeps its error (the same helper)', () => {
    expect(() => T.zeros([2 ** 31], { backend: 'cpu' })).toThrow(/zeros|full/);
  });
});

describe('values a dtype cannot hold are refused', () => {
  it('tensor([3e9], {dtype: int32}) does not wrap', () => {
    expect(() => T.tensor([3e9], { dtype: 'int32', backend: 'cpu' })).toThrow(T.DTypeError);
    expect(() => T.tensor([1, 3e9], { dtype: 'int32', backend: 'cpu' })).toThrow(
      /tensor: element 1 is 3000000000, which int32 cannot hold .*use dtype 'float32'/,
    );
    expect(() => T.tensor([NaN], { dtype: 'int32', backend: 'cpu' })).toThrow(/element 0 is NaN/);
    expect(() => T.arange(3e9, 3e9 + 2, 1, { backend: 'cpu' })).toThrow(/arange: value 0 is 3000000000/);
  });
  it('take(x, [1.5]) is refused instead of taking index 1', () => {
    const x = T.tensor([10, 20, 30], { backend: 'cpu' });
    expect(() => T.take(x, [1.5])).toThrow(T.ArgumentError);
    expect(() => T.take(x, [0, 1.5])).toThrow(/take: indices\[1\] is number 1.5, not an int32 integer/);
    x.dispose();
  });
  it('take(x, [3]) of 3 elements is refused (a literal past the end); a tensor of indices clamps', async () => {
    const x = T.tensor([10, 20, 30], { backend: 'cpu' });
    expect(() => T.take(x, [0, 3])).toThrow(T.ArgumentError);
    expect(() => T.take(x, [0, 3])).toThrow(/take: indices\[1\] is 3, out of range for axis 0 of size 3 .*use -3\.\.2/);
    expect(() => T.take(x, [-4])).toThrow(/indices\[0\] is -4/);
    const m = T.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { backend: 'cpu' },
    );
    expect(() => T.take(m, [2], { axis: 1 })).toThrow(/axis 1 of size 2 \(x \[2, 2\]\)/);
    expect(await T.take(x, [-3, 2]).data()).toEqual(new Float32Array([10, 30]));
    const clamped = T.take(x, T.tensor([5], { dtype: 'int32', backend: 'cpu' }));
    expect(await clamped.data()).toEqual(new Float32Array([30]));
    T.dispose([x, m, clamped]);
  });
});

describe('arguments of the wrong kind are named', () => {
  it("sum(x, {axis: '1'}) says the axis is a string", () => {
    const x = T.ones([2, 3], { backend: 'cpu' });
    expect(() => T.sum(x, { axis: '1' as unknown as number })).toThrow(T.ArgumentError);
    expect(() => T.sum(x, { axis: '1' as unknown as number })).toThrow(
      /sum: axis must be an integer number, got the string "1".*e\.g\. 1/,
    );
    expect(() => T.sum(x, { axis: 1.5 })).toThrow(/axis must be an integer number, got 1.5/);
    x.dispose();
  });
  it("toBackend(x, 'tpu') says the backend does not exist", async () => {
    const x = T.ones([2], { backend: 'cpu' });
    await expect(T.toBackend(x, 'tpu' as 'cpu')).rejects.toThrow(
      /toBackend: unknown backend "tpu"; this engine has 'webgpu' and 'cpu'/,
    );
    expect(() => T.ones([2], { backend: 'tpu' as 'cpu' })).toThrow(T.BackendError);
    x.dispose();
  });
  it('a cyclic pytree in grad is named instead of overflowing the stack', () => {
    const w = T.ones([2], { backend: 'cpu' });
    const tree: Record<string, unknown> = { w };
    tree.self = tree;
    expect(() => T.grad((p: Record<string, unknown>) => T.sum(p.w as T.Tensor))(tree)).toThrow(T.ArgumentError);
    expect(() => T.grad((p: Record<string, unknown>) => T.sum(p.w as T.Tensor))(tree)).toThrow(
      /grad|valueAndGrad: argument 0\.self refers back to an enclosing array or record/,
    );
    expect(() => T.treeLeaves(tree)).toThrow(/treeLeaves: the tree contains itself/);
    const shared = { a: w, b: [w] }; // shared, not cyclic: fine
    expect(T.treeLeaves({ x: shared, y: shared })).toHaveLength(4);
    w.dispose();
  });
  it('an async function passed to grad is refused by name', async () => {
    const x = T.ones([2], { backend: 'cpu' });
    expect(() => T.grad(async (v: T.Tensor) => T.sum(v))).toThrow(/valueAndGrad: f is an async function/);
    // One that hides its Promise is refused when it returns it.
    const hidden = (v: T.Tensor) => Promise.resolve(T.sum(v)) as unknown as T.Tensor;
    expect(() => T.grad(hidden)(x)).toThrow(/valueAndGrad: f returned a Promise/);
    x.dispose();
  });
  it('a vjp pullback refuses int32 and bool cotangents', () => {
    const before = T.memory().cpu;
    const x = T.ones([3], { backend: 'cpu' });
    const [y, pullback] = T.vjp((v: T.Tensor) => T.mul(v, 2), x);
    const i = T.ones([3], { dtype: 'int32', backend: 'cpu' });
    const b = T.ones([3], { dtype: 'bool', backend: 'cpu' });
    expect(() => pullback(i)).toThrow(T.DTypeError);
    expect(() => pullback(b)).toThrow(/vjp pullback: cotangent 0 is bool but output 0 is float32/);
    pullback.dispose();
    T.dispose([x, y, i, b]);
    expect(T.memory().cpu).toEqual(before);
  });
});

describe('a positional setting where an options object belongs is refused, not ignored', () => {
  // NumPy's sum(x, 1), PyTorch's conv2d(x, w, b) and JAX's grad(f, 1) read as "no options" before:
  // they summed everything, dropped the bias, differentiated argument 0.
  const x = () => T.ones([1, 2, 4, 4], { backend: 'cpu' });
  const f = (a: T.Tensor, b: T.Tensor) => T.sum(T.mul(a, b));
  const cases: [string, () => unknown, RegExp][] = [
    [
      'sum(x, 1)',
      () => T.sum(x(), 1 as never),
      /^sum: options go in an object, e.g. \{ axis: 1, keepdims: true \}; got number 1 in their place/,
    ],
    ['mean(x, [1])', () => T.mean(x(), [1] as never), /^mean: .*got an array/],
    ['softmax(x, 1)', () => T.softmax(x(), 1 as never), /^softmax: /],
    [
      'conv2d(x, w, b)',
      () => T.conv2d(x(), T.ones([1, 2, 3, 3], { backend: 'cpu' }), T.ones([1], { backend: 'cpu' }) as never),
      /^conv2d: .*got an object \(Tensor\)/,
    ],
    ['avgPool2d(x, 2)', () => T.avgPool2d(x(), 2 as never), /^avgPool2d: .*\{ kernel: 2 \}; got number 2/],
    [
      'groupNorm(x)',
      () => T.groupNorm(x(), undefined as never),
      /^groupNorm: .*\{ groups: 8, weight, bias \}; got none/,
    ],
    ['tensor(data, [2, 2])', () => T.tensor([1, 2, 3, 4], [2, 2] as never), /^tensor: .*\{ shape: \[2, 3\]/],
    ['zeros([2], "int32")', () => T.zeros([2], 'int32' as never), /^zeros: .*got string int32/],
    ['clamp(x, 0, 1)', () => T.clamp(x(), 0 as never), /^clamp: .*\{ min: 0, max: 1 \}/],
    ['normal(k, [2], 2)', () => T.normal(T.key(0), [2], 2 as never), /^normal: /],
    ['grad(f, 1)', () => T.grad(f, 1 as never), /^grad: .*\{ argnums: 1 \}; got number 1/],
    ['valueAndGrad(f, [0, 1])', () => T.valueAndGrad(f, [0, 1] as never), /^valueAndGrad: .*got an array/],
    ['vmap(f, 1)', () => T.vmap(f, 1 as never), /^vmap: .*inAxes/],
    ['jacrev(f, 1)', () => T.jacrev(f, 1 as never), /^jacrev: /],
    ['hessian(f, 1)', () => T.hessian(f, 1 as never), /^hessian: /],
    ['jit(f, 3)', () => T.jit(f, 3 as never), /^jit: /],
  ];
  it.each(cases)('%s throws ArgumentError naming the op and the object form', (_name, call, message) => {
    expect(call).toThrow(T.ArgumentError);
    expect(call).toThrow(message);
  });
  it('the async ones reject: profile(fn, 1), checkGrad(f, xs, 1e-3)', async () => {
    await expect(T.profile(() => 1, 1 as never)).rejects.toThrow(/^profile: options go in an object/);
    await expect(
      T.checkGrad((a: T.Tensor) => T.sum(a), [T.ones([2], { backend: 'cpu' })], 1e-3 as never),
    ).rejects.toThrow(/^checkGrad: .*got number 0.001/);
  });
  it('the policy layer and the files: ddimPlan(s, 10), scaledLinearSchedule(500), saveSafetensors(p, t, "meta")', async () => {
    const { ddimPlan, scaledLinearSchedule } = await import('../src/nn.js');
    expect(() => ddimPlan(scaledLinearSchedule(), 10 as never)).toThrow(
      /^ddimPlan: options go in an object, e.g. \{ steps: 10, eta: 1 \}/,
    );
    expect(() => scaledLinearSchedule(500 as never)).toThrow(/^scaledLinearSchedule: .*got number 500/);
    const x = T.zeros([1], { backend: 'cpu' });
    await expect(T.saveSafetensors('/nonexistent/x.safetensors', { x }, 'meta' as never)).rejects.toThrow(
      /^saveSafetensors: .*got string meta/,
    );
    await expect(T.loadSafetensors('/nonexistent/x.safetensors', 'cpu' as never)).rejects.toThrow(
      /^loadSafetensors: .*got string cpu/,
    );
    x.dispose();
  });
  it('the metrics and the data: psnr(x, y, 255) and ssim(x, y, 255) took dataRange 1', async () => {
    const { psnr, ssim, waveletFidelity, detailQuality } = await import('../src/faces.js');
    const a = T.ones([1, 3, 16, 16], { backend: 'cpu' });
    expect(() => psnr(a, a, 255 as never)).toThrow(
      /^psnr: options go in an object, e.g. \{ dataRange: 255 \}; got number 255/,
    );
    expect(() => ssim(a, a, 255 as never)).toThrow(/^ssim: /);
    expect(() => waveletFidelity(a, a, 3 as never)).toThrow(/^waveletFidelity: /);
    expect(() => detailQuality(a, 2 as never)).toThrow(/^detailQuality: /);
    const { faceDataset, resizeBilinear } = await import('../src/faces.js');
    expect(() => faceDataset('photo' as never)).toThrow(
      /^faceDataset: options go in an object, e.g. \{ split: 'train'/,
    );
    expect(() => resizeBilinear(a, [8, 8], true as never)).toThrow(/^resizeBilinear: .*got boolean true/);
    a.dispose();
  });
  it('the LRPO layer: loadCheckpoint(p, false), defaultReward(net, 0.5), gtLikelihoodLoss(lp, 40)', async () => {
    const { loadCheckpoint, defaultReward, gtLikelihoodLoss } = await import('../src/lrpo.js');
    await expect(loadCheckpoint('/nonexistent.safetensors', false as never)).rejects.toThrow(
      /^loadCheckpoint: .*\{ withOptimizer: false \}/,
    );
    expect(() => defaultReward({} as never, 0.5 as never)).toThrow(/^defaultReward: .*got number 0.5/);
    const lp = T.zeros([2], { backend: 'cpu' });
    expect(() => gtLikelihoodLoss(lp, 40 as never)).toThrow(/^gtLikelihoodLoss: .*\{ temperature: 40 \}/);
    lp.dispose();
  });
  it('absent options and plain objects still work', async () => {
    expect(await T.sum(T.ones([2, 3], { backend: 'cpu' }), { axis: 1 }).data()).toEqual(new Float32Array([3, 3]));
    expect(await T.sum(T.ones([2, 3], { backend: 'cpu' })).data()).toEqual(new Float32Array([6]));
    expect(await T.sum(T.ones([2, 3], { backend: 'cpu' }), Object.freeze({ axis: 0 })).data()).toEqual(
      new Float32Array([2, 2, 2]),
    );
    expect(
      await T.grad(f, { argnums: 1 })(T.full([2], 2, { backend: 'cpu' }), T.ones([2], { backend: 'cpu' })).data(),
    ).toEqual(new Float32Array([2, 2]));
  });
});

describe('scope(async) is refused without killing the process later', () => {
  it('the abandoned async body fails quietly; no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      expect(() =>
        T.scope(async () => {
          const a = T.ones([2], { backend: 'cpu' });
          await new Promise((r) => setTimeout(r, 5));
          return T.add(a, 1); // a was freed by the refusing scope: DisposedTensorError
        }),
      ).toThrow(/scope: the function returned a Promise/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
