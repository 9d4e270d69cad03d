// x.toString() and x.print(): shape, dtype, backend and values as NumPy's repr. The CPU holds its
// values in host memory, so toString() shows them; WebGPU readback is asynchronous, so there
// toString() shows the header only and print() (a Promise) reads the values back.
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import * as T from '../src/index.js';
import { useBackends } from './support/backends.js';

useBackends();

describe('toString on the CPU', () => {
  it('shows shape, dtype, backend and the values, one width per tensor', () => {
    const x = T.tensor(
      [
        [1, -2.5, 3],
        [4, 5, 0.125],
      ],
      { backend: 'cpu' },
    );
    expect(x.toString()).toBe('Tensor([2, 3], float32, cpu)\n[[    1,  -2.5,     3],\n [    4,     5, 0.125]]');
    expect(inspect(x)).toBe(x.toString()); // console.log(x) prints the same
    x.dispose();
  });
  it('follows views (a transpose reads through its strides) and prints 0-d, int, bool and special floats', () => {
    const x = T.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'int32', backend: 'cpu' },
    );
    const t = T.transpose(x);
    expect(t.toString()).toBe('Tensor([2, 2], int32, cpu)\n[[1, 3],\n [2, 4]]');
    const specials = T.tensor([NaN, -Infinity, -0, 1e-7, 2e9], { backend: 'cpu' });
    expect(specials.toString()).toBe(
      'Tensor([5], float32, cpu)\n[      NaN, -Infinity,        -0,  1.000e-7,  2.000e+9]',
    );
    expect(T.tensor(2.5, { backend: 'cpu' }).toString()).toBe('Tensor([], float32, cpu)\n2.5');
    expect(T.tensor([true, false], { backend: 'cpu' }).toString()).toBe('Tensor([2], bool, cpu)\n[ true, false]');
    T.dispose([x, t, specials]);
  });
  it('summarises each axis with ... beyond 1000 elements (or the threshold given)', () => {
    const x = T.reshape(T.arange(0, 2000, 1, { backend: 'cpu' }), [40, 50]);
    const text = x.toString();
    expect(text.split('\n')).toEqual([
      'Tensor([40, 50], int32, cpu)',
      '[[   0,    1,    2, ...,   47,   48,   49],',
      ' [  50,   51,   52, ...,   97,   98,   99],',
      ' [ 100,  101,  102, ...,  147,  148,  149],',
      ' ...,',
      ' [1850, 1851, 1852, ..., 1897, 1898, 1899],',
      ' [1900, 1901, 1902, ..., 1947, 1948, 1949],',
      ' [1950, 1951, 1952, ..., 1997, 1998, 1999]]',
    ]);
    expect(T.tensor([1, 2, 3, 4, 5, 6, 7], { backend: 'cpu' }).toString({ threshold: 4, edgeItems: 2 })).toBe(
      'Tensor([7], float32, cpu)\n[1, 2, ..., 6, 7]',
    );
    x.dispose();
  });
  it('a disposed tensor says so; print() refuses it by name', async () => {
    const x = T.zeros([2], { backend: 'cpu' });
    x.dispose();
    expect(x.toString()).toBe('Tensor([2], float32, disposed)');
    await expect(x.print()).rejects.toThrow(/print: received a disposed tensor/);
  });
});

describe('on WebGPU', () => {
  it('toString shows the header and how to see the values; print() reads them back', async () => {
    const x = T.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { backend: 'webgpu' },
    );
    expect(x.toString()).toBe(
      'Tensor([2, 2], float32, webgpu) (values on the device: await x.print() or x.data() to see them)',
    );
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const y = T.mul(x, 2);
      await y.print();
      expect(log).toHaveBeenCalledWith('Tensor([2, 2], float32, webgpu)\n[[2, 4],\n [6, 8]]');
      y.dispose();
    } finally {
      log.mockRestore();
    }
    x.dispose();
  });
});
