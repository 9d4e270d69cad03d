// Bad input gets an error that names the op, the shapes or values, and the fix — and leaves
// memory and later work untouched.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();

/** Runs `f` expecting a throw whose message matches every pattern; returns the message. */
function expectError(f: () => unknown, ...patterns: RegExp[]): string {
  let message = '';
  try {
    f();
  } catch (e) {
    message = (e as Error).message;
  }
  expect(message, 'expected an error').not.toBe('');
  for (const p of patterns) expect(message).toMatch(p);
  return message;
}

describe.each(['cpu', 'webgpu'] as const)('on %s', (backend) => {
  const t = (data: T.TensorData, options: T.CreateOptions & { shape?: number[] } = {}) =>
    T.tensor(data, { backend, ...options });

  it('mismatched shapes name the op, both shapes and the fix', () => {
    T.scope(() => {
      expectError(
        () => T.add(t([1, 2, 3]), t([1, 2])),
        /^add:/,
        /\[3\]/,
        /\[2\]/,
        /broadcast/,
        /reshape or expandDims/,
      );
      expectError(
        () => T.matmul(T.zeros([2, 3], { backend }), T.zeros([4, 5], { backend })),
        /^matmul:/,
        /\[2, 3\]/,
        /\[4, 5\]/,
        /transpose/,
      );
      expectError(
        () => T.conv2d(T.zeros([1, 3, 8, 8], { backend }), T.zeros([4, 2, 3, 3], { backend })),
        /^conv2d:/,
        /3 channels/,
        /\[out, in \/ groups, kh, kw\]/,
      );
      expectError(
        () => T.reshape(T.zeros([2, 3], { backend }), [4, 2]),
        /^reshape:/,
        /\[2, 3\]/,
        /\[4, 2\]/,
        /element counts must match/,
      );
      expectError(
        () => T.concat([T.zeros([2, 3], { backend }), T.zeros([2, 4], { backend })]),
        /^concat:/,
        /\[2, 3\], \[2, 4\]/,
      );
    });
  });

  it('wrong dtypes are refused with the conversion to use', () => {
    T.scope(() => {
      expectError(() => T.where(t([1, 0]), t([1, 2]), t([3, 4])), /^where:/, /bool/, /cast\(cond, 'bool'\)/);
      expectError(() => T.take(t([1, 2, 3]), t([0, 1])), /^take:/, /int32/, /cast\(indices, 'int32'\)/);
      expectError(() => T.cast(t([1]), 'float16' as T.DType), /^cast:/, /unknown dtype/);
    });
  });

  it('axes out of range name the axis, the rank and the valid range', () => {
    T.scope(() => {
      const x = T.zeros([2, 3], { backend });
      expectError(() => T.sum(x, { axis: 2 }), /^sum:/, /axis 2/, /rank 2/, /\[-2, 1\]/);
      expectError(() => T.softmax(x, { axis: -3 }), /^softmax:/, /axis -3/);
      expectError(() => T.transpose(x, [0, 0]), /^transpose:/, /not a permutation/);
      expectError(() => T.max(T.zeros([0, 3], { backend }), { axis: 0 }), /^max:/, /size-0 axis/, /no identity/);
    });
  });

  it('NaN, negative and fractional shapes are refused', () => {
    expectError(() => T.zeros([2, NaN], { backend }), /^full:/, /NaN/, /non-negative integer/);
    expectError(() => T.ones([-1], { backend }), /^full:/, /-1/);
    expectError(() => T.tensor([1, 2], { shape: [1.5], backend }), /^tensor:/, /1\.5/);
  });

  it('data whose length does not match the shape is refused', () => {
    expectError(() => T.tensor([1, 2, 3], { shape: [2, 2], backend }), /^tensor:/, /3 values/, /\[2, 2\]/, /holds 4/);
    expectError(() => T.tensor([[1, 2], [3]], { backend }), /^tensor:/, /ragged/, /\[1\]/);
  });

  it('use after dispose names the op, the shape and the fix', async () => {
    const x = t([
      [1, 2],
      [3, 4],
    ]);
    x.dispose();
    expectError(() => T.exp(x), /^exp:/, /disposed tensor/, /\[2, 2\]/, /keep\(x\)/);
    expectError(() => T.add(1, x), /^add:/, /disposed/);
    await expect(x.data()).rejects.toThrow(/^data:.*disposed/);
    const escaped = T.scope(() => {
      const temp = t([1]);
      return T.add(temp, 1);
    });
    expect(await escaped.array()).toEqual([2]);
    escaped.dispose();
    expectError(() => T.reshape(x, [4]), /^reshape:/, /disposed/);
  });

  it('a failed op leaves memory where it was and the next op works', async () => {
    const before = T.memory()[backend];
    for (let i = 0; i < 20; i++) {
      expect(() => T.scope(() => T.matmul(T.ones([2, 3], { backend }), T.ones([2, 3], { backend })))).toThrow(/matmul/);
    }
    expect(T.memory()[backend]).toEqual(before);
    const ok = T.matmul(T.ones([2, 3], { backend }), T.ones([3, 1], { backend }));
    expect(await ok.array()).toEqual([[3], [3]]);
    ok.dispose();
  });
});

describe('backend boundaries', () => {
  it('float64 on WebGPU is refused with the way out', () => {
    expectError(
      () => T.zeros([2], { dtype: 'float64', backend: 'webgpu' }),
      /float64 is CPU-only/,
      /cast to float32|setBackend\('cpu'\)/,
    );
  });

  it('mixing backends in one op says how to move a tensor', () => {
    T.scope(() => {
      expectError(
        () => T.add(T.ones([2], { backend: 'cpu' }), T.ones([2], { backend: 'webgpu' })),
        /^add:/,
        /different backends/,
        /toBackend/,
      );
    });
  });

  it('toBackend moves data between backends exactly', async () => {
    const x = T.tensor([1.5, -2, 3], { backend: 'webgpu' });
    const y = await T.toBackend(x, 'cpu');
    expect(y.backend).toBe('cpu');
    expect(await y.array()).toEqual([1.5, -2, 3]);
    x.dispose();
    y.dispose();
  });

  it('an output larger than the device allows names the limit', () => {
    const { elements } = (() => {
      try {
        T.zeros([2 ** 31], { backend: 'webgpu' });
      } catch (e) {
        expect((e as Error).message).toMatch(/exceeds the webgpu device limit/);
        expect((e as Error).message).toMatch(/max(StorageBufferBindingSize|BufferSize)/);
        return { elements: 0 };
      }
      return { elements: 1 };
    })();
    expect(elements).toBe(0);
  });
});
