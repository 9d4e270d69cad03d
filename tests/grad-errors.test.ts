// Misuse of the transforms gets an error that says what to do.
import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const cpu = { backend: 'cpu' as const };

describe('autodiff errors', () => {
  it('grad of a non-scalar output says to reduce it or use vjp', () => {
    const x = T.tensor([1, 2, 3], cpu);
    expect(() => T.grad((x: T.Tensor) => T.exp(x))(x)).toThrow(/grad|valueAndGrad/);
    expect(() => T.grad((x: T.Tensor) => T.exp(x))(x)).toThrow(
      /scalar float tensor, got shape \[3\].*sum or mean.*vjp/,
    );
  });

  it('a non-tensor leaf in a differentiated argument names its path and the fix', () => {
    const params = { w: T.tensor([1, 2], cpu), scale: 3 };
    expect(() => T.grad((p: typeof params) => T.sum(T.mul(p.w, p.scale)))(params)).toThrow(
      /argument 0\.scale is number \(3\), not a tensor.*tensor\(x\).*argnums/,
    );
  });

  it('an integer input says to cast it or leave it out of argnums', () => {
    const idx = T.tensor([1, 2], { dtype: 'int32', ...cpu });
    expect(() => T.grad((i: T.Tensor) => T.sum(T.cast(i, 'float32')))(idx)).toThrow(
      /argument 0 is int32.*cast\(x, 'float32'\).*argnums/,
    );
  });

  it('argnums out of range names the valid range', () => {
    const x = T.tensor([1], cpu);
    expect(() => T.grad((a: T.Tensor, b: T.Tensor) => T.sum(T.mul(a, b)), { argnums: 2 })(x, x)).toThrow(
      /argnums 2 is out of range for a call with 2 argument\(s\); use indices in 0\.\.1/,
    );
    expect(() => T.grad((a: T.Tensor) => T.sum(a), { argnums: [0, 0] })(x)).toThrow(/repeats/);
  });

  it('hasAux without a [value, aux] pair says what to return', () => {
    const x = T.tensor([1], cpu);
    expect(() => T.valueAndGrad((a: T.Tensor) => T.sum(a), { hasAux: true })(x)).toThrow(
      /hasAux, f must return \[value, aux\]/,
    );
  });

  it('a pullback given a cotangent of the wrong shape says both shapes', () => {
    const x = T.tensor([1, 2], cpu);
    const [, pullback] = T.vjp((a: T.Tensor) => T.exp(a), x);
    expect(() => pullback(T.tensor([1, 2, 3], cpu))).toThrow(
      /cotangent 0 has shape \[3\] but output 0 has shape \[2\]/,
    );
    pullback.dispose();
  });

  it('a failed transform leaves memory where it was', () => {
    const x = T.tensor([1, 2, 3], cpu);
    const before = T.memory().cpu;
    for (let i = 0; i < 10; i++) expect(() => T.grad((x: T.Tensor) => T.mul(T.exp(x), 2))(x)).toThrow();
    expect(T.memory().cpu).toEqual(before);
  });
});
