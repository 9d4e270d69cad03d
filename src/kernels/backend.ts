// The contract every backend implements: storage, readback, and one method per primitive family.
// Inputs arrive as strided views (no copies for reshape/transpose/broadcast/slice); outputs are
// always fresh contiguous storage. The front end (src/tensor) has already checked shapes and
// dtypes and cast operands, so a backend only computes.
import type { AnyTypedArray, DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import type { BinaryOp, ReduceOp, UnaryOp } from './elementwise-ops.js';
import type { Conv2dParams, ConvTranspose2dParams, GroupNormActParams, KeyWords, RandomKind } from './params.js';

export type BackendName = 'cpu' | 'webgpu';

/** A reference-counted block of elements owned by one backend. */
export interface Storage {
  readonly backend: BackendName;
  readonly dtype: DType;
  /** Element count. */
  readonly size: number;
  /** Bytes this storage holds on its device. */
  readonly byteLength: number;
  /** Tensor handles sharing this storage, set and counted by the front end (src/tensor/memory.ts), which calls `release` when it reaches 0. */
  refs: number;
}

/** A strided window onto a storage: element (i0, i1, ...) lives at offset + sum(i_k * strides[k]). */
export interface View {
  readonly storage: Storage;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly offset: number;
}

export interface BackendMemory {
  /** Bytes kept in the allocator's pool for reuse (not held by any tensor). */
  readonly pooledBytes: number;
  /** Device bytes held by recorded calls (jit): their buffers and uniforms, until disposed. */
  readonly recordedBytes: number;
}

/** What a backend runs on, for reports and benches. */
export interface BackendInfo {
  readonly name: BackendName;
  /** The adapter (e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe ...") or "JavaScript (CPU)". */
  readonly description: string;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  /** Whether kernel variants are chosen by measurement (see src/kernels/webgpu/tuning.ts). */
  readonly tuning: boolean;
}

export interface Backend {
  readonly name: BackendName;
  info(): BackendInfo;
  /**
   * Computes the given storages if they are still pending (fused expressions) and waits until
   * the device has finished all submitted work. Resolves at once on the CPU.
   */
  sync(storages?: readonly Storage[]): Promise<void>;
  /**
   * How profile() times this backend's kernels: GPU timestamps, each op's synchronous run on the
   * host ('host', the CPU backend), or not at all ('none': an adapter without timestamp-query).
   */
  readonly profileTiming: 'timestamp-query' | 'host' | 'none';
  /** Resolves when background kernel-variant measurements have finished (WebGPU tuning); profile() waits after its warm-up. */
  settleTuning?(): Promise<void>;
  /** Waits for submitted work and delivers the device times of kernels a running profile() recorded. */
  collectTimings(): Promise<void>;
  /** The dtypes this backend can hold. */
  readonly dtypes: readonly DType[];
  /** Largest element count one storage may hold, with the limit's name for error messages. */
  maxElements(dtype: DType): { readonly elements: number; readonly limit: string };

  upload(data: AnyTypedArray, dtype: DType): Storage;
  /** Contiguous host copy of the view's elements (bool as 0/1 bytes). */
  read(view: View): Promise<AnyTypedArray>;
  /**
   * The storage's own host array (no copy; index it with the view's strides and offset) when the
   * elements live in host memory and are computed: what lets toString() show values synchronously.
   * Absent where readback is asynchronous (WebGPU).
   */
  hostElements?(view: View): AnyTypedArray;
  release(storage: Storage): void;
  memory(): BackendMemory;

  fill(shape: Shape, value: number, dtype: DType): Storage;
  /** Contiguous copy of a view (materialises transposes, broadcasts and slices). */
  copy(x: View): Storage;
  cast(x: View, dtype: DType): Storage;
  /** Output dtype follows the op table (`bool` for predicates, else the input dtype). */
  unary(op: UnaryOp, x: View): Storage;
  /** a and b have equal shapes and dtypes (broadcast and promoted by the front end). */
  binary(op: BinaryOp, a: View, b: View): Storage;
  /** cond is bool; a, b and cond have equal shapes; a and b equal dtypes. */
  where(cond: View, a: View, b: View): Storage;
  /** Reduces over `axes` (sorted, unique, at least one); the output drops those axes. */
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage;
  /** Index (int32) of the first max/min along one axis; the output drops that axis. */
  argReduce(op: 'argmax' | 'argmin', x: View, axis: number): Storage;
  /** a [...B, M, K] @ b [...B, K, N] with equal batch dims (already broadcast). */
  matmul(a: View, b: View): Storage;
  conv2d(x: View, w: View, p: Conv2dParams): Storage;
  convTranspose2d(x: View, w: View, p: ConvTranspose2dParams): Storage;
  /** Constant padding; widths are non-negative (the front end crops with slice). */
  pad(x: View, widths: readonly (readonly [number, number])[], value: number): Storage;
  /** Each pixel of an NCHW view repeated scale[0] x scale[1] times (nearest-neighbour upsampling). */
  upsampleNearest2d(x: View, scale: readonly [number, number]): Storage;
  /** softmax along the last axis of a float view (one kernel: max, sum of exponentials, divide). */
  softmax(x: View): Storage;
  /** (x - mean) / sqrt(var + eps) along the last axis of a float view, var the population variance (one kernel). */
  standardize(x: View, eps: number): Storage;
  /**
   * standardize's derivative applied to v (x, its output y and v of one shape): along the last axis
   * r (v - mean(v) - y mean(v y)), r = 1 / sqrt(var(x) + eps) (one kernel).
   */
  standardizeBackward(x: View, y: View, v: View, eps: number): Storage;
  /**
   * Group normalisation with its affine and activation of a float view x [R, C, S] with w and b
   * [C] (GroupNormActParams; one kernel).
   */
  groupNormAct(x: View, w: View, b: View, p: GroupNormActParams): Storage;
  /** groupNormAct's input gradient for the output cotangent g (x's shape), x's shape. */
  groupNormActBackward(x: View, w: View, b: View, g: View, p: GroupNormActParams): Storage;
  /** groupNormAct's weight and bias gradients for the cotangent g, as [2, C] (weight, then bias). */
  groupNormActParamGrads(x: View, w: View, b: View, g: View, p: GroupNormActParams): Storage;
  /**
   * softmax(q k^T * scale) v over the last two axes of float views q [..., N, d], k [..., M, d] and
   * v [..., M, e] with equal leading dims and M >= 1 (one kernel; the scores are not stored).
   */
  attention(q: View, k: View, v: View, scale: number): Storage;
  /** Inputs share dtype and every dim but `axis`. */
  concat(xs: readonly View[], axis: number): Storage;
  /**
   * Picks entries of x along `axis` at int32 `indices` (wrapped once if negative, then clamped);
   * the output has shape x.shape[:axis] ++ indices.shape ++ x.shape[axis+1:], as NumPy's take.
   */
  take(x: View, indices: View, axis: number): Storage;
  /** Counter-based random values: see src/random/threefry.ts for the exact stream. */
  random(kind: RandomKind, key: KeyWords, shape: Shape): Storage;

  /** Records a call's kernels once and replays them (jit, src/tensor/jit.ts); absent where calls run as they come. */
  readonly calls?: CallRecorder;

  /** Releases the device; the backend cannot be used afterwards. */
  destroy(): Promise<void>;
}

/**
 * Recording one call's kernels for replay. Between begin and end the backend records kernels
 * instead of running them, on input storages it owns; outputs are copied out of its own buffers.
 */
export interface CallRecorder {
  /** Whether a capture is open (a jit inside another runs as plain ops in the outer one's). */
  readonly capturing: boolean;
  /** Opens a capture; returns contiguous input storages of these dtypes and sizes for the call to run on. */
  begin(inputs: readonly { readonly dtype: DType; readonly size: number }[]): Storage[];
  /** Closes it with the call's outputs; throws (and drops the capture) when the call did what a replay cannot repeat. */
  end(outputs: readonly View[]): RecordedCall;
  /** Drops an open capture (the call threw). */
  abort(): void;
  /**
   * Computes storages that are still pending (fused expressions) now, each by its own kernel: a
   * call run as plain ops then sees and leaves its tensors as a replay does, so both give the same bits.
   */
  materialize(storages: readonly Storage[]): void;
}

/** A recorded call. */
export interface RecordedCall {
  /** Replays it on inputs of the recorded shapes; returns fresh contiguous output storages the caller owns. */
  run(inputs: readonly View[]): Storage[];
  /** Whether it should be recorded again (kernel choices it made before tuning had measured them now are). */
  readonly stale: boolean;
  /** Kernel dispatches one replay records. */
  readonly dispatches: number;
  /** Device bytes it holds. */
  readonly bytes: number;
  dispose(): void;
}
