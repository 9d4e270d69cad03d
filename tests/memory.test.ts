// Memory is deterministic: scopes free what they made, keep() and returns escape, and loops of
// ops hold live tensors and bytes flat on both backends.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();

describe.each(['cpu', 'webgpu'] as const)('on %s', (backend) => {
  it('a scope disposes its temporaries and hands back what it returns, nested in records and arrays', async () => {
    const before = T.memory()[backend];
    const out = T.scope(() => {
      const a = T.ones([4, 4], { backend });
      const b = T.exp(a);
      return { sum: T.sum(b), parts: [T.mean(b)] };
    });
    expect(T.memory()[backend].tensors).toBe(before.tensors + 2);
    expect(out.sum.isDisposed).toBe(false);
    expect((await out.sum.array()) as number).toBeCloseTo(16 * Math.E, 4);
    out.sum.dispose();
    out.parts[0].dispose();
    expect(T.memory()[backend]).toEqual(before);
  });

  it('keep() lets a tensor outlive its scope until disposed', () => {
    const before = T.memory()[backend];
    let kept: T.Tensor | null = null;
    T.scope(() => {
      kept = T.keep(T.zeros([3], { backend }));
      T.ones([3], { backend });
    });
    expect(kept!.isDisposed).toBe(false);
    expect(T.memory()[backend].tensors).toBe(before.tensors + 1);
    kept!.dispose();
    expect(T.memory()[backend]).toEqual(before);
  });

  it('views share storage: bytes are counted once and freed with the last view', () => {
    const before = T.memory()[backend];
    const x = T.zeros([8, 8], { backend });
    const v = T.transpose(x);
    const s = T.slice(v, [1, 1], [5, 5]);
    expect(T.memory()[backend].bytes - before.bytes).toBe(8 * 8 * 4);
    x.dispose();
    v.dispose();
    expect(T.memory()[backend].bytes - before.bytes).toBe(8 * 8 * 4);
    s.dispose();
    expect(T.memory()[backend]).toEqual(before);
  });

  it('an exception inside a scope still frees its temporaries', () => {
    const before = T.memory()[backend];
    expect(() =>
      T.scope(() => {
        T.ones([16], { backend });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(T.memory()[backend]).toEqual(before);
  });

  it('1,000 iterations of a small op loop inside a scope leave memory() where it started', async () => {
    const x = T.keep(T.uniform(T.key(1), [32, 32], { backend }));
    const w = T.keep(T.normal(T.key(2), [32, 32], { backend }));
    const before = T.memory()[backend];
    let acc = 0;
    for (let i = 0; i < 1000; i++) {
      const loss = T.scope(() => T.mean(T.square(T.sub(T.tanh(T.matmul(x, w)), T.softmax(x)))));
      if (i % 250 === 0) acc += (await loss.data())[0];
      loss.dispose();
    }
    expect(Number.isFinite(acc)).toBe(true);
    expect(T.memory()[backend]).toEqual(before);
    x.dispose();
    w.dispose();
  });

  it('async work is refused inside a scope with the reason', async () => {
    expect(() => T.scope(() => Promise.resolve(1) as unknown as number)).toThrow(/scope: .*Promise/);
  });
});
