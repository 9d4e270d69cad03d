// The WebGPU backend: the Backend contract implemented with WGSL kernels on a Dawn device.
import type { AnyTypedArray, DType } from '../../tensor/dtype.js';
import { BackendError } from '../../tensor/errors.js';
import type { Shape } from '../../tensor/shape.js';
import { sizeOf } from '../../tensor/shape.js';
import type { Backend, BackendInfo, BackendMemory, CallRecorder, Storage, View } from '../backend.js';
import { WebGpuCallRecorder } from './call-recorder.js';
import type { BinaryOp, ReduceOp, UnaryOp } from '../elementwise-ops.js';
import type { Conv2dParams, ConvTranspose2dParams, GroupNormActParams, KeyWords, RandomKind } from '../params.js';
import { GpuContext } from './context.js';
import { acquireDevice, BufferUsage, MAP_MODE_READ } from './device.js';
import { isContiguous } from './layout.js';
import { tunerFor } from './tuning.js';
import { conv2d, convTranspose2d } from './kernels/conv.js';
import { checkConvVariant, conv2dProblem, convTranspose2dProblem } from './kernels/conv.js';
import { ProducerStorage } from './fusion.js';
import * as elementwise from './kernels/elementwise.js';
import { matmul } from './kernels/matmul.js';
import { concat, pad } from './kernels/pad-concat.js';
import { random } from './kernels/random.js';
import { argReduce, reduce } from './kernels/reduce.js';
import { take } from './kernels/take.js';
import { softmax } from './kernels/softmax.js';
import { attention } from './kernels/attention.js';
import { upsampleNearest2d } from './kernels/upsample.js';
import { standardize, standardizeBackward } from './kernels/standardize.js';
import { groupNormActInto, groupNormActBackward, groupNormActParamGrads } from './kernels/group-norm-act.js';
import { activeProfile } from '../../profile/recorder.js';
import {
  assertGpuDType,
  DEVICE_BYTES_PER_ELEMENT,
  fromDeviceBytes,
  toDeviceElements,
  WebGpuStorage,
} from './storage.js';

export { WebGpuStorage } from './storage.js';
export { matmulVariants } from './kernels/matmul.js';
export { convVariants } from './kernels/conv.js';

export interface WebGpuBackendOptions {
  readonly powerPreference?: GPUPowerPreference;
  /** Bytes of released buffers kept for reuse (default 1 GiB on CPU adapters, 2 GiB on GPUs). */
  readonly poolCapBytes?: number;
}

/**
 * Acquires a Dawn WebGPU device and returns a backend on it. Throws a BackendError naming the fix
 * when no adapter exists (install a Vulkan driver, or use the cpu backend).
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const gpu = await acquireDevice(options.powerPreference);
  return new WebGpuBackend(new GpuContext(gpu, options.poolCapBytes));
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu' as const;
  readonly dtypes: readonly DType[] = ['float32', 'int32', 'bool'];
  private destroyed = false;

  readonly calls: CallRecorder;

  /** The device, allocator, pipeline cache and dispatcher; for tests, benches and tuning. */
  constructor(readonly ctx: GpuContext) {
    this.calls = new WebGpuCallRecorder(ctx);
  }

  /** Adapter features enabled on the device (shader-f16, subgroups, timestamp-query when offered). */
  get features(): ReadonlySet<string> {
    return this.ctx.gpu.features;
  }

  maxElements(dtype: DType): { readonly elements: number; readonly limit: string } {
    assertGpuDType('maxElements', dtype);
    const { maxStorageBufferBindingSize, maxBufferSize } = this.ctx.limits;
    const [name, bytes] =
      maxStorageBufferBindingSize <= maxBufferSize
        ? ['maxStorageBufferBindingSize', maxStorageBufferBindingSize]
        : ['maxBufferSize', maxBufferSize];
    return { elements: Math.floor(bytes / DEVICE_BYTES_PER_ELEMENT), limit: `${name} = ${bytes} bytes` };
  }

  upload(data: AnyTypedArray, dtype: DType): Storage {
    assertGpuDType('upload', dtype);
    const elements = toDeviceElements(data, dtype);
    const storage = this.ctx.allocConstant(dtype, elements.length);
    // Safe: pooled buffers never have unsubmitted commands pending on them (see buffer-pool.ts).
    if (elements.length > 0) this.ctx.device.queue.writeBuffer(storage.buffer, 0, elements);
    return storage;
  }

  async read(view: View): Promise<AnyTypedArray> {
    this.checkAlive();
    this.refuseInCapture('read a tensor back (data(), array(), item())');
    const { ctx } = this;
    const size = sizeOf(view.shape);
    let src = view.storage as WebGpuStorage;
    if (src.released) throw new BackendError('webgpu: read of storage that was already released (a disposed tensor).');
    let srcOffset = view.offset;
    let temp: WebGpuStorage | undefined;
    if (size > 0 && !isContiguous(view.shape, view.strides)) {
      temp = elementwise.copy(ctx, view);
      src = temp;
      srcOffset = 0;
    }
    // Everything up to the submit happens before the first await, so a later release or reuse of
    // the source buffer is ordered after this copy.
    const bytes = size * DEVICE_BYTES_PER_ELEMENT;
    let staging: GPUBuffer | undefined;
    if (size > 0) {
      staging = ctx.device.createBuffer({
        label: 'readback',
        size: bytes,
        usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      });
      ctx.dispatcher.copy(src.buffer, srcOffset * DEVICE_BYTES_PER_ELEMENT, staging, 0, bytes);
    }
    if (temp) ctx.release(temp);
    ctx.dispatcher.flush();
    if (!staging) {
      await this.throwPendingErrors();
      return fromDeviceBytes(new ArrayBuffer(0), view.dtype, 0);
    }
    try {
      await staging.mapAsync(MAP_MODE_READ);
    } catch (e) {
      staging.destroy();
      await this.throwPendingErrors();
      throw new BackendError(`webgpu: readback failed: ${(e as Error).message}`);
    }
    const host = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await this.throwPendingErrors();
    return fromDeviceBytes(host, view.dtype, size);
  }

  release(storage: Storage): void {
    if (this.destroyed) return;
    this.ctx.release(storage as WebGpuStorage);
  }

  memory(): BackendMemory {
    return { pooledBytes: this.ctx.pool.pooledBytes, recordedBytes: this.ctx.recordedBytes };
  }

  fill(shape: Shape, value: number, dtype: DType): Storage {
    assertGpuDType('fill', dtype);
    return elementwise.fill(this.ctx, shape, value, dtype);
  }
  copy(x: View): Storage {
    return elementwise.copy(this.ctx, x);
  }
  cast(x: View, dtype: DType): Storage {
    assertGpuDType('cast', dtype);
    return elementwise.cast(this.ctx, x, dtype);
  }
  unary(op: UnaryOp, x: View): Storage {
    return elementwise.unary(this.ctx, op, x);
  }
  binary(op: BinaryOp, a: View, b: View): Storage {
    return elementwise.binary(this.ctx, op, a, b);
  }
  where(cond: View, a: View, b: View): Storage {
    return elementwise.where(this.ctx, cond, a, b);
  }
  reduce(op: ReduceOp, x: View, axes: readonly number[]): Storage {
    return reduce(this.ctx, op, x, axes);
  }
  argReduce(op: 'argmax' | 'argmin', x: View, axis: number): Storage {
    return argReduce(this.ctx, op, x, axis);
  }
  /** `variant` names an entry of `matmulVariants` (for tests and benches); default: the first that supports the shape. */
  matmul(a: View, b: View, variant?: string): Storage {
    const r = a.shape.length;
    const shape = [...a.shape.slice(0, r - 1), b.shape[r - 1]];
    return this.producer(shape, a.dtype, [a, b], 2 * sizeOf(shape) * a.shape[r - 1], (out) =>
      matmul(this.ctx, a, b, variant, out),
    );
  }
  /** `variant` names an entry of `convVariants` (for tests and benches); default: the tuned or preferred one. */
  conv2d(x: View, w: View, p: Conv2dParams, variant?: string): Storage {
    const problem = conv2dProblem(x, w, p);
    const { n, o, oh, ow } = problem;
    if (variant !== undefined && variant !== 'direct') checkConvVariant(this.ctx.gpu, problem, variant);
    const [, cpg, kh, kw] = w.shape;
    return this.producer([n, o, oh, ow], x.dtype, [x, w], 2 * n * o * oh * ow * cpg * kh * kw, (out) =>
      conv2d(this.ctx, x, w, p, variant, out),
    );
  }
  convTranspose2d(x: View, w: View, p: ConvTranspose2dParams, variant?: string): Storage {
    const problem = convTranspose2dProblem(x, w, p);
    const { n, o, oh, ow } = problem;
    if (variant !== undefined && variant !== 'direct') checkConvVariant(this.ctx.gpu, problem, variant);
    const [cin, opg, kh, kw] = w.shape;
    const flops = 2 * x.shape[0] * cin * x.shape[2] * x.shape[3] * opg * kh * kw;
    return this.producer([n, o, oh, ow], x.dtype, [x, w], flops, (out) =>
      convTranspose2d(this.ctx, x, w, p, variant, out),
    );
  }

  /**
   * matmul and convolutions are recorded lazily (fusion.ts): they run when their result is first
   * used, with a fused elementwise consumer as their epilogue when it is their only user.
   */
  private producer(
    shape: Shape,
    dtype: DType,
    inputs: readonly View[],
    flops: number | undefined,
    recordOp: (out: WebGpuStorage) => void,
    { fewStoreSites = false } = {},
  ): Storage {
    this.checkAlive();
    // Checked when the kernel records, which a fused producer does later, maybe after profile() began
    // or ended; a jit capture keeps the count too, for a profiled replay.
    const record = (out: WebGpuStorage): void =>
      flops !== undefined && (activeProfile() || this.ctx.capture)
        ? this.ctx.withFlops(out, flops, () => recordOp(out))
        : recordOp(out);
    if (!this.ctx.fusion) {
      const out = this.ctx.alloc(dtype, sizeOf(shape));
      record(out);
      return out;
    }
    return new ProducerStorage(this.ctx, dtype, shape, inputs, record, fewStoreSites);
  }
  softmax(x: View): Storage {
    return softmax(this.ctx, x);
  }
  upsampleNearest2d(x: View, scale: readonly [number, number]): Storage {
    this.checkAlive();
    return upsampleNearest2d(this.ctx, x, scale);
  }
  attention(q: View, k: View, v: View, scale: number): Storage {
    this.checkAlive();
    const r = q.shape.length;
    const [m, d, e] = [k.shape[r - 2], q.shape[r - 1], v.shape[r - 1]];
    const rows = sizeOf(q.shape.slice(0, -1));
    const out = this.ctx.alloc('float32', rows * e);
    const record = () => attention(this.ctx, q, k, v, scale, out);
    // Its two products' FLOPs, for profile()'s throughput column (as matmul's).
    if (activeProfile() || this.ctx.capture) this.ctx.withFlops(out, 2 * rows * m * (d + e), record);
    else record();
    return out;
  }
  standardize(x: View, eps: number): Storage {
    // Recorded lazily, so group normalisation's affine + SiLU (its only user in a forward without
    // gradients) runs as its epilogue: one pass over the activations instead of two.
    return this.producer(x.shape, 'float32', [x], undefined, (out) => void standardize(this.ctx, x, eps, out), {
      fewStoreSites: true,
    });
  }
  standardizeBackward(x: View, y: View, v: View, eps: number): Storage {
    return standardizeBackward(this.ctx, x, y, v, eps);
  }
  groupNormAct(x: View, w: View, b: View, p: GroupNormActParams): Storage {
    // Recorded lazily, as standardize, so an op on its result runs as its epilogue.
    return this.producer(
      x.shape,
      'float32',
      [x, w, b],
      undefined,
      (out) => groupNormActInto(this.ctx, x, w, b, p, out),
      {
        fewStoreSites: true,
      },
    );
  }
  groupNormActBackward(x: View, w: View, b: View, g: View, p: GroupNormActParams): Storage {
    return groupNormActBackward(this.ctx, x, w, b, g, p);
  }
  groupNormActParamGrads(x: View, w: View, b: View, g: View, p: GroupNormActParams): Storage {
    return groupNormActParamGrads(this.ctx, x, w, b, g, p);
  }
  pad(x: View, widths: readonly (readonly [number, number])[], value: number): Storage {
    return pad(this.ctx, x, widths, value);
  }
  concat(xs: readonly View[], axis: number): Storage {
    return concat(this.ctx, xs, axis);
  }
  take(x: View, indices: View, axis: number): Storage {
    return take(this.ctx, x, indices, axis);
  }
  random(kind: RandomKind, key: KeyWords, shape: Shape): Storage {
    return random(this.ctx, kind, key, shape);
  }

  info(): BackendInfo {
    return {
      name: 'webgpu',
      description: this.ctx.gpu.adapterDescription,
      features: [...this.ctx.gpu.features],
      limits: { ...this.ctx.limits },
      tuning: tunerFor(this.ctx).enabled,
    };
  }

  /**
   * Runs the given storages if they are pending fused expressions, submits pending work and waits
   * for the device to finish it; throws errors it reported.
   */
  async sync(storages: readonly Storage[] = []): Promise<void> {
    this.checkAlive();
    this.refuseInCapture('wait for the device (sync)');
    for (const s of storages) void (s as WebGpuStorage).buffer; // a pending expression runs on first access
    this.ctx.dropHandOff();
    this.ctx.dispatcher.flush();
    await this.ctx.device.queue.onSubmittedWorkDone();
    await this.throwPendingErrors();
  }

  /** Whether profile() gets GPU time per kernel here: 'timestamp-query' when the adapter offers it, else 'none'. */
  get profileTiming(): 'timestamp-query' | 'none' {
    return this.ctx.dispatcher.timesDispatches ? 'timestamp-query' : 'none';
  }

  /** Waits for all submitted work and hands a running profile() the GPU time of each dispatch. */
  async collectTimings(): Promise<void> {
    await this.sync();
    await this.ctx.dispatcher.collectTimings();
  }

  /** Resolves when background variant measurements (tuning.ts) have finished; benches await it after a warm-up. */
  settleTuning(): Promise<void> {
    return tunerFor(this.ctx).settle();
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await tunerFor(this.ctx).abandon();
    this.ctx.dispatcher.flush();
    try {
      await this.ctx.device.queue.onSubmittedWorkDone();
    } catch {
      // The device may already be lost; destroying it is all that is left to do.
    }
    this.destroyed = true;
    this.ctx.pool.destroyAll();
    this.ctx.dispatcher.destroy();
    this.ctx.gpu.destroy();
  }

  /** A capture records kernels without running them: nothing it makes has a value to wait for yet. */
  private refuseInCapture(what: string): void {
    if (!this.ctx.capture) return;
    const message = `jit: the function tried to ${what} while its kernels were being recorded; a jitted function must be synchronous tensor math. Read values after the call returns.`;
    this.ctx.capture.refusal ??= message; // the call fails too, not only the promise nobody awaits
    throw new BackendError(message);
  }

  private checkAlive(): void {
    if (this.destroyed) throw new BackendError('webgpu: this backend was destroyed; create a new one.');
  }

  /** Throws the first error a scope caught (the more readable kind, e.g. a compile error), else the device's. */
  private async throwPendingErrors(): Promise<void> {
    await this.ctx.errors.throwIfAny().catch((e: unknown) => {
      this.ctx.gpu.takeDeviceError();
      throw e;
    });
    const deviceError = this.ctx.gpu.takeDeviceError();
    if (deviceError) throw deviceError;
  }
}
