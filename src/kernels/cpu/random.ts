// Counter-based random tensors: the Threefry stream of src/random/threefry.ts, laid out row-major.
import { randomStream } from '../../random/threefry.js';
import { sizeOf } from '../../tensor/shape.js';
import type { Shape } from '../../tensor/shape.js';
import type { KeyWords, RandomKind } from '../params.js';
import { CpuStorage } from './storage.js';

/** 'bits' gives int32 storage, 'uniform' and 'normal' float32. */
export function random(kind: RandomKind, key: KeyWords, shape: Shape): CpuStorage {
  const data = randomStream(kind, key, sizeOf(shape));
  return new CpuStorage(kind === 'bits' ? 'int32' : 'float32', data);
}
