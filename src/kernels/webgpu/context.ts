// Everything a kernel needs from the device in one place: allocation, pipelines, and dispatch.
import type { DType } from '../../tensor/dtype.js';
import { BackendError } from '../../tensor/errors.js';
import type { View } from '../backend.js';
import { BufferPool } from './buffer-pool.js';
import { BufferUsage, type GpuDevice } from './device.js';
import { Dispatcher, type DispatchRequest, type StorageBinding } from './encoder.js';
import { PendingErrors } from './error-scopes.js';
import { PipelineCache } from './pipeline-cache.js';
import { DEVICE_BYTES_PER_ELEMENT, WebGpuStorage } from './storage.js';
import { PendingStorage } from './fusion.js';
import { isCpuAdapter } from './tuning.js';
import { identityEpilogue, type Epilogue } from './epilogue.js';
import { readEnv } from '../../env.js';
import { currentScope } from '../../profile/recorder.js';
import type { Capture } from './capture.js';

/**
 * Pooled bytes kept for reuse before the largest free buffers are destroyed: 1 GiB on CPU
 * adapters (host memory), 2 GiB on GPUs. A fresh buffer costs a create and Dawn's lazy zero-fill,
 * and a pool smaller than a step's working set churns: at 256 MiB an LRPO step of the tiny UNet
 * made ~600 buffers a step (docs/measurements.md).
 */
const defaultPoolCapBytes = (adapterDescription: string): number =>
  (isCpuAdapter(adapterDescription) ? 1024 : 2048) * 1024 * 1024;

export class GpuContext {
  readonly device: GPUDevice;
  readonly errors = new PendingErrors();
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  readonly dispatcher: Dispatcher;
  /** Fuse chains of elementwise ops into one kernel (fusion.ts); WEBGPU_LRPO_FUSION=0 turns it off. */
  fusion = readEnv('WEBGPU_LRPO_FUSION') !== '0';
  /**
   * Run a fused elementwise consumer as the epilogue of the matmul/conv it alone uses (fusion.ts).
   * Off by default: the producer kernels store at up to 128 unrolled sites, each inlining the
   * epilogue, and lavapipe then compiles a conv + bias + SiLU kernel very slowly
   * (docs/measurements.md). WEBGPU_LRPO_EPILOGUE=1 turns it on (worth it on real GPUs once stores
   * are looped).
   */
  epilogueFusion = readEnv('WEBGPU_LRPO_EPILOGUE') === '1';
  /**
   * How row-wise kernels (long-row reductions, softmax) split work: 'auto' picks one thread per
   * row on CPU adapters, where barriers are costly, and a workgroup per row elsewhere.
   */
  rowKernels: 'auto' | 'thread-per-row' | 'workgroup-per-row' = 'auto';

  /** Whether row-wise kernels should use one thread per row (see rowKernels). */
  get threadPerRow(): boolean {
    return this.rowKernels === 'auto'
      ? isCpuAdapter(this.gpu.adapterDescription)
      : this.rowKernels === 'thread-per-row';
  }

  constructor(
    readonly gpu: GpuDevice,
    poolCapBytes = defaultPoolCapBytes(gpu.adapterDescription),
  ) {
    this.device = gpu.device;
    this.pipelines = new PipelineCache(this.device, this.errors);
    this.pool = new BufferPool(this.device, {
      usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
      capBytes: poolCapBytes,
      maxBufferSize: gpu.limits.maxBufferSize,
    });
    this.dispatcher = new Dispatcher(
      this.device,
      gpu.limits,
      this.pipelines,
      this.errors,
      [this.pool],
      gpu.features.has('timestamp-query'),
    );
  }

  get limits(): GpuDevice['limits'] {
    return this.gpu.limits;
  }

  /**
   * The call being recorded for jit (capture.ts), if any: while it is open, kernels and copies are
   * recorded instead of run, and buffers come from the recording.
   */
  capture: Capture | undefined;

  /** A buffer of at least `bytes` bytes: pooled, or the open capture's. */
  acquireBuffer(bytes: number): GPUBuffer {
    return this.capture ? this.capture.acquire(bytes) : this.pool.acquire(bytes);
  }

  /** Fresh (pooled) storage for `size` elements; its contents are undefined until a kernel writes it. */
  alloc(dtype: DType, size: number): WebGpuStorage {
    const storage = new WebGpuStorage(this.acquireBuffer(Math.max(1, size) * DEVICE_BYTES_PER_ELEMENT), dtype, size);
    this.capture?.track(storage);
    return storage;
  }

  /**
   * Storage for `size` elements that the host writes now (queue.writeBuffer): in a capture, a
   * buffer no later kernel of the call reuses, since a replay does not write it again.
   */
  allocConstant(dtype: DType, size: number): WebGpuStorage {
    if (!this.capture) return this.alloc(dtype, size);
    const storage = new WebGpuStorage(
      this.capture.acquirePinned(Math.max(1, size) * DEVICE_BYTES_PER_ELEMENT),
      dtype,
      size,
    );
    this.capture.track(storage);
    return storage;
  }

  /** Records a buffer-to-buffer copy after the kernels recorded so far (into the capture while one is open). */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (this.capture) this.capture.recordCopy(src, srcOffset, dst, dstOffset, bytes);
    else this.dispatcher.copy(src, srcOffset, dst, dstOffset, bytes);
  }

  /**
   * Returns storage to the pool, after the next submit if recorded commands may still use it, and
   * only once no pending fused kernel reads it. A fused expression never run is simply dropped.
   */
  release(storage: WebGpuStorage): void {
    if (storage.released) return;
    if (storage.pins > 0) {
      storage.releaseWhenUnpinned = true;
      return;
    }
    storage.released = true;
    if (storage instanceof PendingStorage && !storage.isMaterialized) storage.drop(this);
    else if (this.capture?.owns(storage.buffer)) this.capture.release(storage.buffer);
    else if (!this.recorded.has(storage.buffer)) this.pool.release(storage.buffer, this.dispatcher.hasPendingWork);
    const derived = this.derived.get(storage);
    if (derived) {
      this.derived.delete(storage);
      for (const d of derived.values()) if (d) this.release(d);
    }
  }

  /**
   * Buffers computed from one storage's elements alone (a convolution's transformed weights), by
   * key. Storage is immutable once written, so such a buffer stays right while its source lives;
   * it is released with the source. null marks a key asked for once and not kept.
   */
  private readonly derived = new Map<WebGpuStorage, Map<string, WebGpuStorage | null>>();

  /** Buffers owned by live recordings (capture.ts): releasing a storage on one leaves it to its recording. */
  readonly recorded = new Set<GPUBuffer>();
  /** Device bytes the live recordings hold (memory()'s recordedBytes). */
  recordedBytes = 0;

  /**
   * `size` elements computed from `source` by `build` (which must read nothing that can change):
   * the first request for (source, key) builds a temporary the caller releases (`kept` false),
   * so a weight used once per step (training) holds no extra memory; a repeat request builds it
   * once more and keeps it with the source (inference loops), later ones reuse it.
   */
  derivedFrom(
    source: WebGpuStorage,
    key: string,
    dtype: DType,
    size: number,
    build: (out: WebGpuStorage) => void,
  ): { readonly storage: WebGpuStorage; readonly kept: boolean } {
    if (this.capture) return this.derivedInCapture(this.capture, source, dtype, size, build);
    let byKey = this.derived.get(source);
    const cached = byKey?.get(key);
    if (cached) return { storage: cached, kept: true };
    const storage = this.alloc(dtype, size);
    build(storage);
    if (byKey?.has(key)) {
      byKey.set(key, storage);
      return { storage, kept: true };
    }
    if (!byKey) this.derived.set(source, (byKey = new Map()));
    byKey.set(key, null);
    return { storage, kept: false };
  }

  /**
   * derivedFrom in a capture: from an input of the call, a buffer of its own whose build a replay
   * skips while that input is unchanged; from anything else, a temporary the call rebuilds each time.
   */
  private derivedInCapture(
    capture: Capture,
    source: WebGpuStorage,
    dtype: DType,
    size: number,
    build: (out: WebGpuStorage) => void,
  ): { readonly storage: WebGpuStorage; readonly kept: boolean } {
    const input = capture.inputIndex(source.buffer);
    if (input === undefined) {
      const storage = this.alloc(dtype, size);
      build(storage);
      return { storage, kept: false };
    }
    const storage = new WebGpuStorage(capture.acquirePinned(Math.max(1, size) * DEVICE_BYTES_PER_ELEMENT), dtype, size);
    capture.derivedOf(input, () => build(storage));
    return { storage, kept: true };
  }

  /** Buffers kept by derivedFrom (tests: they must go when their sources go). */
  get derivedCount(): number {
    let n = 0;
    for (const byKey of this.derived.values()) for (const d of byKey.values()) if (d) n++;
    return n;
  }

  /** Pins `storage` for a pending fused kernel (see fusion.ts). */
  pin(storage: WebGpuStorage): void {
    storage.pins++;
  }

  /** Undoes one pin, performing a release the front end asked for meanwhile. */
  unpin(storage: WebGpuStorage): void {
    storage.pins--;
    if (storage.pins === 0 && storage.releaseWhenUnpinned) {
      storage.releaseWhenUnpinned = false;
      this.release(storage);
    }
  }

  /**
   * A buffer one kernel leaves for the op right after it (groupNormActBackward's weight and bias
   * partial sums, for the groupNormActParamGrads of the same inputs the VJP asks for next). Only
   * takeHandOff with an equal key before any other dispatch gets it; the next dispatch, a sync, a
   * jit recording's start or end, or a new hand-off releases it, so it never outlives that op.
   */
  private pendingHandOff: { readonly key: readonly unknown[]; readonly storage: WebGpuStorage } | undefined;

  handOff(key: readonly unknown[], storage: WebGpuStorage): void {
    this.dropHandOff();
    this.pendingHandOff = { key, storage };
  }

  /** The buffer left under `key` (which the caller now owns), or undefined (one left under another key is released). */
  takeHandOff(key: readonly unknown[]): WebGpuStorage | undefined {
    const h = this.pendingHandOff;
    if (!h || h.key.length !== key.length || h.key.some((k, i) => k !== key[i])) {
      this.dropHandOff();
      return undefined;
    }
    this.pendingHandOff = undefined;
    return h.storage;
  }

  /** Whether a hand-off waits for its taker (tests). */
  get handOffPending(): boolean {
    return this.pendingHandOff !== undefined;
  }

  /** Releases a hand-off nobody took. */
  dropHandOff(): void {
    const h = this.pendingHandOff;
    this.pendingHandOff = undefined;
    if (h) this.release(h.storage);
  }

  dispatch(req: DispatchRequest): void {
    this.dropHandOff();
    const epilogue = req.storage.length > 0 ? this.epilogues.get(req.storage[0].buffer) : undefined;
    let request = epilogue ? withEpilogue(req, epilogue, (v) => this.bind(v)) : req;
    const flops = this.pendingFlops;
    if (flops && flops.flops > 0 && req.storage.length > 0 && req.storage[0].buffer === flops.out.buffer) {
      request = { ...request, flops: flops.flops };
      this.pendingFlops = { out: flops.out, flops: 0 }; // counted once, on the op's first dispatch
    }
    if (this.capture) this.capture.recordDispatch(request, currentScope());
    else this.dispatcher.dispatch(request);
  }

  /** FLOPs of the op being recorded, given to its first dispatch that writes `out` (profile() only; see withFlops). */
  private pendingFlops: { readonly out: WebGpuStorage; readonly flops: number } | undefined;

  /**
   * Runs `record` with its first dispatch into `out` reporting `flops` to a running profile()
   * (not a copy of a strided input or a pending input's fused kernel, which run first).
   */
  withFlops<T>(out: WebGpuStorage, flops: number, record: () => T): T {
    // A pending input (another producer) may run inside `record`, with its own flops: restore ours after it.
    const outer = this.pendingFlops;
    this.pendingFlops = { out, flops };
    try {
      return record();
    } finally {
      this.pendingFlops = outer;
    }
  }

  /**
   * Hands the FLOPs pending for `out` to the first dispatch that writes `to` instead: for a variant
   * whose arithmetic runs into a temporary (Winograd's batched GEMMs), not in the pass that writes
   * the output. The FLOPs stay the op's (the direct convolution's count, i.e. effective FLOP/s).
   */
  creditFlopsTo(out: WebGpuStorage, to: WebGpuStorage): void {
    const pending = this.pendingFlops;
    if (pending && pending.out === out && pending.flops > 0) this.pendingFlops = { out: to, flops: pending.flops };
  }

  /** Epilogues registered for output buffers while a producer kernel records (see epilogue.ts). */
  private readonly epilogues = new Map<GPUBuffer, Epilogue>();

  /** Runs `record` with `epilogue` applied by every kernel that writes `out`. */
  withEpilogue<T>(out: WebGpuStorage, epilogue: Epilogue, record: () => T): T {
    this.epilogues.set(out.buffer, epilogue);
    try {
      return record();
    } finally {
      this.epilogues.delete(out.buffer);
    }
  }

  /** The binding of a view's storage (the whole storage; kernels add the view's offset). */
  bind(view: View | WebGpuStorage): StorageBinding {
    const s = (view instanceof WebGpuStorage ? view : view.storage) as WebGpuStorage;
    if (s.released)
      throw new BackendError('webgpu: a kernel was given storage that was already released (a disposed tensor).');
    return { buffer: s.buffer, size: s.bindSize };
  }
}

/** The request with the identity epilogue swapped for `epilogue` and its inputs bound after the rest. */
function withEpilogue(req: DispatchRequest, epilogue: Epilogue, bind: (v: View) => StorageBinding): DispatchRequest {
  const t = (['f32', 'i32', 'u32'] as const).find((s) => req.source.includes(identityEpilogue(s)));
  if (!t)
    throw new BackendError(
      `webgpu internal: kernel '${req.kernel}' writes an epilogue's output but has no epilogue slot.`,
    );
  return {
    ...req,
    kernel: `${req.kernel}+${epilogue.name}`,
    source: req.source.replace(identityEpilogue(t), epilogue.declarations(t, req.storage.length + 1)),
    storage: [...req.storage, ...epilogue.inputs.map(bind)],
  };
}
