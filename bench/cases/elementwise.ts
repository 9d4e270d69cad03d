// The fused elementwise chain row: six elementwise ops over one large tensor, the pattern an
// elementwise-fusion pass should turn into one memory-bound kernel.
import * as T from '../../src/index.js';
import type { WebGpuBackend } from '../../src/kernels/webgpu/index.js';
import { backendFor, isBackendStarted } from '../../src/tensor/backends.js';
import type { BenchCase } from '../case.js';

/** Runs `f` with our WebGPU elementwise fusion switched off: one kernel per op (the baseline). */
function unfused<T>(f: () => T): T {
  if (!isBackendStarted('webgpu')) return f();
  const ctx = (backendFor('webgpu') as WebGpuBackend).ctx;
  ctx.fusion = false;
  try {
    return f();
  } finally {
    ctx.fusion = true;
  }
}

/** silu(x * a + b) * c - d on [rows, cols]; all five operands full-size. */
export function fusedChainCase(rows: number, cols: number, options: { readonly fusion?: boolean } = {}): BenchCase {
  const fusion = options.fusion ?? true;
  const size = rows * cols;
  const shape = `[${rows},${cols}] (${(size / 2 ** 20).toFixed(size >= 2 ** 20 ? 0 : 3)}M elements)`;
  const operand = { shape: [rows, cols] };
  return {
    id: `${fusion ? 'fused' : 'unfused'} chain ${shape}`,
    op: fusion ? 'silu(x*a+b)*c-d' : 'silu(x*a+b)*c-d, fusion off',
    shape,
    // A fused kernel's minimum traffic: read five operands, write one result.
    work: { kind: 'bytes', amount: 6 * size * 4 },
    inputs: [operand, operand, operand, operand, operand],
    outputs: [{}],
    ours: ([x, a, b, c, d]) => {
      const chain = () => [T.sub(T.mul(T.silu(T.add(T.mul(x, a), b)), c), d)];
      return fusion ? chain() : unfused(chain);
    },
    // tfjs has no silu: t * sigmoid(t), the same math (six ops in all).
    tfjs: (tf, [x, a, b, c, d]) => {
      const t = tf.add(tf.mul(x, a), b);
      return [tf.sub(tf.mul(tf.mul(t, tf.sigmoid(t)), c), d)];
    },
  };
}
