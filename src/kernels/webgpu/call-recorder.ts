// The WebGPU backend's CallRecorder (backend.ts): opens and closes captures on the context
// (capture.ts) and replays their recordings on new inputs.
import { BackendError } from '../../tensor/errors.js';
import { contiguousStrides, sizeOf } from '../../tensor/shape.js';
import type { DType } from '../../tensor/dtype.js';
import type { CallRecorder, RecordedCall, Storage, View } from '../backend.js';
import { Capture, type Recording } from './capture.js';
import type { GpuContext } from './context.js';
import { copy as copyKernel } from './kernels/elementwise.js';
import { isContiguous } from './layout.js';
import { DEVICE_BYTES_PER_ELEMENT, WebGpuStorage } from './storage.js';
import { tunerFor } from './tuning.js';
import { currentScope, trackingScopes } from '../../profile/recorder.js';

export class WebGpuCallRecorder implements CallRecorder {
  private stopScopes: (() => void) | undefined;

  constructor(private readonly ctx: GpuContext) {}

  get capturing(): boolean {
    return this.ctx.capture !== undefined;
  }

  begin(inputs: readonly { readonly dtype: DType; readonly size: number }[]): Storage[] {
    const { ctx } = this;
    if (ctx.capture) throw new BackendError('jit internal: a capture is already open.');
    ctx.dropHandOff(); // made outside the recording: released outside it
    const capture = new Capture(ctx.pool, ctx.pipelines, currentScope());
    ctx.capture = capture;
    this.stopScopes = trackingScopes(); // named() scopes are kept so a profiled replay shows them
    return inputs.map(({ dtype, size }) => {
      const storage = new WebGpuStorage(
        capture.acquirePinned(Math.max(1, size) * DEVICE_BYTES_PER_ELEMENT),
        dtype,
        size,
      );
      capture.addInput(storage);
      return storage;
    });
  }

  end(outputs: readonly View[]): RecordedCall {
    const { ctx } = this;
    const capture = this.open();
    try {
      // Outputs are copied out of the recording's buffers on every replay: contiguous ranges.
      const views = outputs.map((v) =>
        isContiguous(v.shape, v.strides) && capture.owns((v.storage as WebGpuStorage).buffer)
          ? v
          : { ...v, storage: copyKernel(ctx, v), strides: contiguousStrides(v.shape), offset: 0 },
      );
      const slots = views.map((v) => ({
        buffer: (v.storage as WebGpuStorage).buffer, // a pending result records its kernel now
        offset: v.offset * DEVICE_BYTES_PER_ELEMENT,
        bytes: sizeOf(v.shape) * DEVICE_BYTES_PER_ELEMENT,
        dtype: v.dtype,
      }));
      ctx.dropHandOff(); // one the call left untaken is the call's own temporary
      capture.checkNothingEscaped(new Set([...outputs, ...views].map((v) => v.storage as WebGpuStorage)));
      if (capture.refusal) throw new BackendError(capture.refusal);
      const recording = capture.finish(ctx.device, Math.max(16, ctx.limits.minUniformBufferOffsetAlignment), slots);
      this.close();
      recording.buffers.forEach((b) => ctx.recorded.add(b));
      ctx.recordedBytes += recording.bytes;
      // The copies made for outputs above: their buffers are the recording's now.
      for (const v of views) if (!outputs.includes(v)) ctx.release(v.storage as WebGpuStorage);
      return new WebGpuRecordedCall(ctx, recording);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  abort(): void {
    const capture = this.ctx.capture;
    if (!capture) return;
    this.ctx.dropHandOff();
    this.close();
    capture.abandon(this.ctx.pool);
  }

  materialize(storages: readonly Storage[]): void {
    for (const s of storages) void (s as WebGpuStorage).buffer; // a pending expression runs on first access
  }

  private open(): Capture {
    const capture = this.ctx.capture;
    if (!capture) throw new BackendError('jit internal: no capture is open.');
    return capture;
  }

  private close(): void {
    this.ctx.capture = undefined;
    this.stopScopes?.();
    this.stopScopes = undefined;
  }
}

class WebGpuRecordedCall implements RecordedCall {
  private disposed = false;

  constructor(
    private readonly ctx: GpuContext,
    private readonly recording: Recording,
  ) {}

  get stale(): boolean {
    const { untuned } = this.recording;
    return untuned.size > 0 && tunerFor(this.ctx).measuredSince(untuned);
  }

  get dispatches(): number {
    return this.recording.dispatches;
  }

  get bytes(): number {
    return this.recording.bytes;
  }

  run(inputs: readonly View[]): Storage[] {
    const { ctx } = this;
    if (this.disposed) throw new BackendError('jit: this recorded call was disposed.');
    if (ctx.capture) throw new BackendError('jit internal: a recorded call cannot replay inside a capture.');
    const temps: WebGpuStorage[] = [];
    const sources = inputs.map((v) => {
      let storage = v.storage as WebGpuStorage;
      let offset = v.offset;
      if (!isContiguous(v.shape, v.strides)) {
        storage = copyKernel(ctx, v);
        temps.push(storage);
        offset = 0;
      }
      return {
        identity: storage,
        buffer: ctx.bind(storage).buffer, // a pending input runs its kernel first
        offset: offset * DEVICE_BYTES_PER_ELEMENT,
        bytes: sizeOf(v.shape) * DEVICE_BYTES_PER_ELEMENT,
      };
    });
    const outputs = this.recording.outputs.map((o) => ctx.alloc(o.dtype, o.bytes / DEVICE_BYTES_PER_ELEMENT));
    this.recording.replay(
      ctx.dispatcher,
      sources,
      outputs.map((o) => o.buffer),
    );
    for (const t of temps) ctx.release(t);
    return outputs;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.recording.buffers) this.ctx.recorded.delete(b);
    this.ctx.recordedBytes -= this.recording.bytes;
    this.recording.dispose(this.ctx.pool, this.ctx.dispatcher);
  }
}
