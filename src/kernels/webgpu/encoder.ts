// The dispatcher: records many dispatches into one command encoder and compute pass, packs their
// uniforms into one arena, and submits in batches (or when a readback needs the results).
import { BackendError } from '../../tensor/errors.js';
import type { BufferPool } from './buffer-pool.js';
import { BufferUsage, type DeviceLimits } from './device.js';
import type { PendingErrors } from './error-scopes.js';
import type { PipelineCache } from './pipeline-cache.js';
import { activeProfile, currentScope, type ProfileRecorder } from '../../profile/recorder.js';
import { GpuTimer } from './gpu-timer.js';
import type { ReplayDispatch } from './capture.js';

/** Dispatches recorded before an automatic submit: enough to amortise submit cost, few enough to start the GPU early. */
export const MAX_DISPATCHES_PER_SUBMIT = 128;
/**
 * The first automatic submit after a flush (the host waits for the device only after one) comes
 * after this many dispatches, and each later one after twice as many as the last, up to
 * MAX_DISPATCHES_PER_SUBMIT: the device starts while the host still records the rest.
 */
export const FIRST_SUBMIT_DISPATCHES = 8;
/** CPU-side uniform arena; one GPU uniform buffer of this size is rewritten before each submit. */
const ARENA_BYTES = 64 * 1024;

export interface StorageBinding {
  readonly buffer: GPUBuffer;
  /** Bytes to bind (at least 4, a multiple of 4). */
  readonly size: number;
}

export interface DispatchRequest {
  /** Kernel name for error messages. */
  readonly kernel: string;
  readonly source: string;
  /** Uniform bytes, bound at binding 0. */
  readonly uniform: ArrayBuffer;
  /** Storage buffers bound at 1, 2, ... in order; the output first by convention. */
  readonly storage: readonly StorageBinding[];
  /** Workgroups along one logical dimension; folded into 2-D past the per-dimension limit. */
  readonly workgroups: number;
  /** Floating-point operations it performs, where known (matmul, convolutions); profile() reports GFLOP/s from it. */
  readonly flops?: number;
}

/** Bytes of the buffers a dispatch binds (profile()'s traffic estimate). */
export const storageBytes = (storage: readonly StorageBinding[]): number => storage.reduce((n, s) => n + s.size, 0);

/** Splits a 1-D workgroup count into an (x, y) grid with x, y <= maxPerDim. Kernels index `wid.x + wid.y * nwg.x`. */
export function foldGrid(workgroups: number, maxPerDim: number): [number, number] {
  if (workgroups <= maxPerDim) return [workgroups, 1];
  const y = Math.ceil(workgroups / maxPerDim);
  if (y > maxPerDim) {
    throw new BackendError(
      `webgpu: ${workgroups} workgroups exceed ${maxPerDim}^2 (maxComputeWorkgroupsPerDimension squared); split the op into smaller tensors.`,
    );
  }
  return [Math.ceil(workgroups / y), y];
}

export class Dispatcher {
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private dispatches = 0;
  private readonly arena = new Uint8Array(ARENA_BYTES);
  private arenaUsed = 0;
  private readonly uniformBuffer: GPUBuffer;
  private readonly alignment: number;
  /** Submits so far; tests and benches read it. */
  submits = 0;
  /** Dispatches the current batch takes before an automatic submit (see FIRST_SUBMIT_DISPATCHES). */
  private submitAfter = FIRST_SUBMIT_DISPATCHES;
  /** Dispatches recorded so far (fusion tests count kernels with it). */
  dispatchCount = 0;
  /** Dispatches so far by kernel name (profiling scripts read it). */
  readonly kernelCounts = new Map<string, number>();
  /** Times dispatches while a profile() runs; absent when the device has no timestamp-query. */
  private readonly timer: GpuTimer | undefined;

  constructor(
    private readonly device: GPUDevice,
    private readonly limits: DeviceLimits,
    private readonly pipelines: PipelineCache,
    private readonly errors: PendingErrors,
    private readonly pools: readonly BufferPool[],
    timestamps: boolean,
  ) {
    this.timer = timestamps ? new GpuTimer(device, MAX_DISPATCHES_PER_SUBMIT) : undefined;
    this.alignment = Math.max(16, limits.minUniformBufferOffsetAlignment);
    this.uniformBuffer = device.createBuffer({
      label: 'uniform arena',
      size: ARENA_BYTES,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    });
  }

  /** Whether recorded commands are waiting for a submit (released buffers must then wait too). */
  get hasPendingWork(): boolean {
    return this.encoder !== undefined;
  }

  /** Whether profile() gets GPU time per dispatch on this device (timestamp-query). */
  get timesDispatches(): boolean {
    return this.timer !== undefined;
  }

  /** Records one dispatch; submits first if the batch or the uniform arena is full. */
  dispatch(req: DispatchRequest): void {
    if (req.workgroups === 0) return;
    const recorder = activeProfile();
    if (recorder !== undefined) return this.dispatchProfiled(req, recorder);
    this.prepare(req.uniform.byteLength);
    this.record(req, this.computePass());
  }

  /** The same as dispatch, reported to `recorder`: encode time, compiles, and a pass of its own with timestamps. */
  private dispatchProfiled(req: DispatchRequest, recorder: ProfileRecorder): void {
    this.profiled(
      recorder,
      req.kernel,
      currentScope(),
      req.flops,
      storageBytes(req.storage),
      () => this.prepare(req.uniform.byteLength),
      (pass) => this.record(req, pass),
    );
  }

  /**
   * Records `encode` in a compute pass of its own between GPU timestamps (where the device has
   * them) and reports it to `recorder` with its host time and the pipelines it compiled.
   */
  private profiled(
    recorder: ProfileRecorder,
    kernel: string,
    scope: string,
    flops: number | undefined,
    bytes: number,
    prepare: () => void,
    encode: (pass: GPUComputePassEncoder) => void,
  ): void {
    const start = performance.now();
    const compiled = this.pipelines.size;
    const index = recorder.add({ kernel, scope, backend: 'webgpu', flops, bytes, hostMs: 0, compiles: 0 });
    prepare(); // may submit, so the (timed) pass opens in the batch it belongs to
    if (this.timer) {
      this.endPass();
      const pass = this.commandEncoder().beginComputePass(this.timer.timedPass(recorder, index));
      encode(pass);
      pass.end();
    } else {
      encode(this.computePass());
    }
    const record = recorder.records[index];
    record.hostMs = performance.now() - start;
    record.compiles = this.pipelines.size - compiled;
  }

  /**
   * Records one dispatch of a replayed recording (capture.ts): its pipeline and bind group exist
   * already, its uniforms live in the recording's own buffer. Under profile() it is reported in
   * the caller's scope joined with the one it was recorded in.
   */
  dispatchPrepared(d: ReplayDispatch): void {
    if (d.workgroups === 0) return;
    const recorder = activeProfile();
    if (recorder === undefined) {
      this.prepare(0);
      return this.encode(d.kernel, d.pipeline, d.bindGroup, d.workgroups, this.computePass());
    }
    const outer = currentScope();
    const scope = outer === '' ? d.scope : d.scope === '' ? outer : `${outer}/${d.scope}`;
    this.profiled(
      recorder,
      d.kernel,
      scope,
      d.flops,
      d.bytes,
      () => this.prepare(0),
      (pass) => this.encode(d.kernel, d.pipeline, d.bindGroup, d.workgroups, pass),
    );
  }

  /** Submits first when this dispatch would overflow the batch or the uniform arena. */
  private prepare(uniformBytes: number): void {
    const slot = Math.ceil(this.arenaUsed / this.alignment) * this.alignment;
    if (this.dispatches >= this.submitAfter || slot + uniformBytes > ARENA_BYTES) {
      const next = Math.min(2 * this.submitAfter, MAX_DISPATCHES_PER_SUBMIT);
      this.flush();
      this.submitAfter = next;
    }
  }

  /** Writes the uniforms, binds and dispatches into `pass` (after prepare()). */
  private record(req: DispatchRequest, pass: GPUComputePassEncoder): void {
    const offset = Math.ceil(this.arenaUsed / this.alignment) * this.alignment;
    this.arena.set(new Uint8Array(req.uniform), offset);
    this.arenaUsed = offset + req.uniform.byteLength;

    const pipeline = this.pipelines.get(req.kernel, req.source);
    const bindGroup = this.device.createBindGroup({
      label: req.kernel,
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: this.uniformBuffer, offset, size: req.uniform.byteLength } },
        ...req.storage.map((s, i) => ({ binding: i + 1, resource: { buffer: s.buffer, offset: 0, size: s.size } })),
      ],
    });
    this.encode(req.kernel, pipeline, bindGroup, req.workgroups, pass);
  }

  private encode(
    kernel: string,
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    workgroups: number,
    pass: GPUComputePassEncoder,
  ): void {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y] = foldGrid(workgroups, this.limits.maxComputeWorkgroupsPerDimension);
    pass.dispatchWorkgroups(x, y);
    this.dispatches++;
    this.dispatchCount++;
    this.kernelCounts.set(kernel, (this.kernelCounts.get(kernel) ?? 0) + 1);
  }

  /** Hands profile() the GPU times of everything submitted so far (after the device finished it). */
  collectTimings(): Promise<void> {
    return this.timer?.collect() ?? Promise.resolve();
  }

  /** Records a buffer-to-buffer copy after the dispatches recorded so far. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    const encoder = this.commandEncoder();
    this.endPass();
    encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything recorded (uniform arena first), inside validation and out-of-memory scopes. */
  flush(): void {
    this.submitAfter = FIRST_SUBMIT_DISPATCHES;
    if (!this.encoder) return;
    this.endPass();
    const encoder = this.encoder;
    this.timer?.resolveInto(encoder);
    const dispatches = this.dispatches;
    this.encoder = undefined;
    this.dispatches = 0;
    this.errors.popScope(
      this.device,
      (e) => new BackendError(`webgpu: recording ${dispatches} dispatches failed validation: ${e.message}`),
    );
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    if (this.arenaUsed > 0)
      this.device.queue.writeBuffer(this.uniformBuffer, 0, this.arena, 0, Math.ceil(this.arenaUsed / 4) * 4);
    this.arenaUsed = 0;
    this.device.queue.submit([encoder.finish()]);
    this.submits++;
    this.errors.popScope(
      this.device,
      (e) => new BackendError(`webgpu: submit of ${dispatches} dispatches failed validation: ${e.message}`),
    );
    this.errors.popScope(
      this.device,
      (e) =>
        new BackendError(
          `webgpu: out of GPU memory (${e.message}); dispose tensors you no longer need or use smaller batches.`,
        ),
    );
    for (const pool of this.pools) pool.afterSubmit();
  }

  destroy(): void {
    if (this.encoder) void this.device.popErrorScope().catch(() => undefined);
    this.encoder = undefined;
    this.pass = undefined;
    this.uniformBuffer.destroy();
    this.timer?.destroy();
  }

  /**
   * The open encoder, or a new one. A new batch also opens a validation scope that stays open
   * until its submit, so errors from bind groups and encoding surface at the next readback with
   * the batch (compile scopes nest inside it).
   */
  private commandEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }
}
