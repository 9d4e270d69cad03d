// Batched matrix multiply a [...B, M, K] @ b [...B, K, N] -> [...B, M, N], accumulating in float64.
import type { AnyTypedArray } from '../../tensor/dtype.js';
import { allocHost } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import type { View } from '../backend.js';
import { CpuStorage, dataOf } from './storage.js';
import { storeRules } from './store-rules.js';
import { isContiguous } from '../../tensor/shape.js';
import { copyStrided, forEachOffsetPair } from './strided.js';

/** One batch's matrix as a contiguous row-major array: a subarray if already so, else a copy. */
function matrixAt(
  src: AnyTypedArray,
  offset: number,
  rows: number,
  cols: number,
  strides: readonly number[],
  scratch: AnyTypedArray,
): AnyTypedArray {
  if (isContiguous([rows, cols], strides)) return src.subarray(offset, offset + rows * cols);
  copyStrided(src, offset, strides, [rows, cols], scratch, 0, [cols, 1]);
  return scratch;
}

/**
 * Batch dims are walked by offset, so stride-0 (broadcast) batches are never materialised; each
 * batch's two matrices are made contiguous (transposed views are common), then multiplied in i-k-j order into a float64 row accumulator, so every
 * output sums its K products in increasing k and rounds once on store. K = 0 gives zeros.
 */
export function matmul(a: View, b: View): CpuStorage {
  const rank = a.shape.length;
  const batchShape = a.shape.slice(0, rank - 2);
  const [M, K] = [a.shape[rank - 2], a.shape[rank - 1]];
  const N = b.shape[rank - 1];
  const aData = dataOf('matmul', a);
  const bData = dataOf('matmul', b);
  const out = allocHost(a.dtype, sizeOf(batchShape) * M * N);
  if (out.length === 0) return new CpuStorage(a.dtype, out);

  const aMatrixStrides = a.strides.slice(rank - 2);
  const bMatrixStrides = b.strides.slice(rank - 2);
  const aScratch = allocHost(a.dtype, M * K);
  const bScratch = allocHost(b.dtype, K * N);
  const rowAcc = new Float64Array(N);
  const store = storeRules[a.dtype];
  let outBase = 0;
  forEachOffsetPair(batchShape, a.strides, a.offset, b.strides, b.offset, (aOffset, bOffset) => {
    const A = matrixAt(aData, aOffset, M, K, aMatrixStrides, aScratch);
    const B = matrixAt(bData, bOffset, K, N, bMatrixStrides, bScratch);
    for (let i = 0; i < M; i++) {
      rowAcc.fill(0);
      for (let k = 0; k < K; k++) {
        const aik = A[i * K + k];
        const bRow = k * N;
        for (let j = 0; j < N; j++) rowAcc[j] += aik * B[bRow + j];
      }
      const outRow = outBase + i * N;
      for (let j = 0; j < N; j++) out[outRow + j] = store(rowAcc[j]);
    }
    outBase += M * N;
  });
  return new CpuStorage(a.dtype, out);
}
