// The CPU backend: the reference implementation every WebGPU kernel is tested against. Each
// primitive family lives in its own file; this one wires them into the Backend interface.
import type { AnyTypedArray, DType } from '../../tensor/dtype.js';
import { allocHost, dtypeOfArray } from '../../tensor/dtype.js';
import { BackendError } from '../../tensor/errors.js';
import type { Backend, Storage } from '../backend.js';
import { conv2d, convTranspose2d } from './conv.js';
import { binary, cast, copy, fill, unary, where } from './elementwise.js';
import { matmul } from './matmul.js';
import { concat, pad } from './pad-concat.js';
import { random } from './random.js';
import { argReduce, reduce } from './reduce.js';
import { CpuStorage, dataOf } from './storage.js';
import { storeRules } from './store-rules.js';
import { gatherToContiguous } from './strided.js';
import { take } from './take.js';
import { softmax } from './softmax.js';
import { attention } from './attention.js';
import { upsampleNearest2d } from './upsample.js';
import { standardize, standardizeBackward } from './standardize.js';
import { groupNormAct, groupNormActBackward, groupNormActParamGrads } from './group-norm-act.js';

import { HOST, maxHostElements } from '../../tensor/alloc-limits.js';

export { CpuStorage } from './storage.js';

const CPU_DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/**
 * Copies host data into a new storage, so later writes to `data` cannot change a tensor. An array
 * of another kind than `dtype` is converted element by element with the cast rules, and bool data
 * is always normalised to 0/1 (a Uint8Array may hold any byte).
 */
function upload(data: AnyTypedArray, dtype: DType): CpuStorage {
  if (dtypeOfArray(data) === dtype && dtype !== 'bool') return new CpuStorage(dtype, data.slice());
  const out = allocHost(dtype, data.length);
  const convert = storeRules[dtype];
  for (let i = 0; i < data.length; i++) out[i] = convert(data[i]);
  return new CpuStorage(dtype, out);
}

function release(storage: Storage): void {
  if (!(storage instanceof CpuStorage)) {
    throw new BackendError(
      `cpu.release: got a storage from the '${storage.backend}' backend; release it on its own backend.`,
    );
  }
  storage.release();
}

/** Creates a CPU backend. It holds no device, so any number may coexist. */
export function createCpuBackend(): Backend {
  return {
    name: 'cpu',
    info: () => ({
      name: 'cpu',
      description: 'JavaScript (CPU reference)',
      features: ['float64'],
      limits: { maxElements: maxHostElements('float32') },
      tuning: false,
    }),
    sync: async () => undefined,
    profileTiming: 'host',
    collectTimings: async () => undefined,
    dtypes: CPU_DTYPES,
    maxElements: HOST.maxElements, // CPU storages are host TypedArrays
    upload,
    read: async (view) => gatherToContiguous('read', view),
    hostElements: (view) => dataOf('toString', view),
    release,
    memory: () => ({ pooledBytes: 0, recordedBytes: 0 }),
    fill,
    copy,
    cast,
    unary,
    binary,
    where,
    softmax,
    attention,
    upsampleNearest2d,
    standardize,
    standardizeBackward,
    groupNormAct,
    groupNormActBackward,
    groupNormActParamGrads,
    reduce,
    argReduce,
    matmul,
    conv2d,
    convTranspose2d,
    pad,
    concat,
    take,
    random,
    destroy: async () => {},
  };
}
