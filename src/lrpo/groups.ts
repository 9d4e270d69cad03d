// Groups of candidates: LRPO samples K candidates per LQ input and keeps each group's K rows
// contiguous along the batch, so candidate i belongs to input floor(i / K).
import { scope, broadcastTo, expandDims, reshape } from '../index.js';
import type { Tensor } from '../index.js';

/** Repeats each of the B images K times along the batch: [B, ...] -> [B*K, ...], groups contiguous. */
export function repeatEach(x: Tensor, k: number): Tensor {
  return scope(() =>
    reshape(broadcastTo(expandDims(x, 1), [x.shape[0], k, ...x.shape.slice(1)]), [x.shape[0] * k, ...x.shape.slice(1)]),
  );
}
