// Recording a fixed-shape call's kernels once and replaying them: the WebGPU half of `jit`
// (src/tensor/jit.ts). While a Capture is open the context records dispatches and copies instead
// of encoding them, and hands out buffers the capture owns; closing it yields a Recording with one
// uniform buffer and a prebuilt bind group per dispatch. A replay then costs a few Dawn calls per
// dispatch instead of the engine's whole op path (shape checks, fusion, kernel choice, WGSL
// look-up, uniforms, bind groups: 110-150 us a dispatch on lavapipe, docs/measurements.md).
import { BackendError } from '../../tensor/errors.js';
import { sizeClass, type BufferPool } from './buffer-pool.js';
import { BufferUsage } from './device.js';
import { storageBytes, type DispatchRequest, type Dispatcher, type StorageBinding } from './encoder.js';
import type { PipelineCache } from './pipeline-cache.js';
import type { WebGpuStorage } from './storage.js';
import type { DType } from '../../tensor/dtype.js';

/** One dispatch as recorded: everything but the bind group, which is built when the capture closes. */
interface RecordedDispatch {
  readonly kind: 'dispatch';
  readonly kernel: string;
  readonly pipeline: GPUComputePipeline;
  readonly uniform: Uint8Array;
  readonly storage: readonly StorageBinding[];
  readonly workgroups: number;
  readonly flops?: number;
  /** The named() scope it was recorded in, relative to the call's. */
  readonly scope: string;
  /** The input whose derived buffer (a conv's transformed weights) it builds: skipped while that input is unchanged. */
  readonly derivedOf?: number;
}

interface RecordedCopy {
  readonly kind: 'copy';
  readonly src: GPUBuffer;
  readonly srcOffset: number;
  readonly dst: GPUBuffer;
  readonly dstOffset: number;
  readonly bytes: number;
  readonly derivedOf?: number;
}

type RecordedOp = RecordedDispatch | RecordedCopy;

/** What a replay runs for one dispatch. */
export interface ReplayDispatch {
  readonly kernel: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: number;
  readonly flops?: number;
  readonly bytes: number;
  readonly scope: string;
}

/** The open recording of one call: its ops, and the buffers it owns. */
export class Capture {
  private readonly ops: RecordedOp[] = [];
  /** Every buffer the recording owns, by size class when free for reuse within the call. */
  private readonly owned = new Set<GPUBuffer>();
  private readonly free = new Map<number, GPUBuffer[]>();
  /** Inputs, constants (uploads) and derived buffers: written once outside the ops, so never reused. */
  private readonly pinned = new Set<GPUBuffer>();
  /** Storage made during the call: each must be freed by its end, or returned. */
  private readonly made: WebGpuStorage[] = [];
  /** The input buffers, in argument order, and their storages. */
  readonly inputs: GPUBuffer[] = [];
  private readonly inputStorages: WebGpuStorage[] = [];
  /** Why the call cannot be replayed, when it did something a recording cannot repeat (a readback). */
  refusal: string | undefined;
  /**
   * The tuning keys whose choice fell back because tuning had not measured them yet, each with the
   * tuner's choice record then (undefined: none): the recording is made again once all are measured.
   */
  readonly untuned = new Map<string, unknown>();
  /** The input a derived buffer is being built from (see derivedOf), while its build records. */
  private building: number | undefined;

  constructor(
    private readonly pool: BufferPool,
    private readonly pipelines: PipelineCache,
    private readonly baseScope: string,
  ) {}

  /** A buffer for an intermediate: one the call released earlier when its size class matches. */
  acquire(bytes: number): GPUBuffer {
    const reused = this.free.get(sizeClass(bytes))?.pop();
    if (reused) return reused;
    return this.own(this.pool.acquire(bytes));
  }

  /** A buffer written once before the ops run (an input, an upload): never handed out again. */
  acquirePinned(bytes: number): GPUBuffer {
    const buffer = this.own(this.pool.acquire(bytes));
    this.pinned.add(buffer);
    return buffer;
  }

  /** A new input; its index is its argument position. */
  addInput(storage: WebGpuStorage): void {
    this.inputs.push(storage.buffer);
    this.inputStorages.push(storage);
  }

  /** Notes storage made during the call (see checkNothingEscaped). */
  track(storage: WebGpuStorage): void {
    this.made.push(storage);
  }

  /**
   * Throws when storage made during the call outlives it without being an output (a tensor kept
   * in a cache or a global): its buffer belongs to the recording, which rewrites it on every replay.
   */
  checkNothingEscaped(outputs: ReadonlySet<WebGpuStorage>): void {
    const escaped = this.made.filter((s) => !s.released && !outputs.has(s));
    if (escaped.length > 0)
      throw new BackendError(
        `jit: the function kept ${escaped.length} tensor(s) it made beyond the call (keep(), a cache or a global). ` +
          'A recorded call may only return what it makes: return them, or make them outside the jitted function.',
      );
  }

  owns(buffer: GPUBuffer): boolean {
    return this.owned.has(buffer);
  }

  /** The call released a buffer: later ops of the call may reuse it (replays keep the same order). */
  release(buffer: GPUBuffer): void {
    if (this.pinned.has(buffer) || !this.owned.has(buffer)) return;
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
  }

  /** The input index whose buffer this is, if any. */
  inputIndex(buffer: GPUBuffer): number | undefined {
    const i = this.inputs.indexOf(buffer);
    return i < 0 ? undefined : i;
  }

  /**
   * Runs `build` (which records the ops computing a buffer from input `input` alone) so that a
   * replay skips those ops while the input is unchanged; the result lives in a pinned buffer.
   */
  derivedOf<T>(input: number, build: () => T): T {
    const outer = this.building;
    this.building = input;
    try {
      return build();
    } finally {
      this.building = outer;
    }
  }

  recordDispatch(req: DispatchRequest, scope: string): void {
    for (const s of req.storage) this.checkOwned(req.kernel, s.buffer);
    this.ops.push({
      kind: 'dispatch',
      kernel: req.kernel,
      pipeline: this.pipelines.get(req.kernel, req.source),
      uniform: new Uint8Array(req.uniform.slice(0)),
      storage: req.storage,
      workgroups: req.workgroups,
      flops: req.flops,
      scope: relativeScope(this.baseScope, scope),
      derivedOf: this.building,
    });
  }

  recordCopy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.checkOwned('copy', src);
    this.checkOwned('copy', dst);
    this.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes, derivedOf: this.building });
  }

  /**
   * Closes the capture: the uniforms go into one buffer, each dispatch gets its bind group, and
   * the outputs (buffers the ops wrote, by the caller's order) are noted for copying out.
   */
  finish(device: GPUDevice, alignment: number, outputs: readonly OutputSlot[]): Recording {
    for (const o of outputs) this.checkOwned('jit output', o.buffer);
    const dispatches = this.ops.filter((op): op is RecordedDispatch => op.kind === 'dispatch');
    const offsets: number[] = [];
    let end = 0;
    for (const d of dispatches) {
      const at = Math.ceil(end / alignment) * alignment;
      offsets.push(at);
      end = at + d.uniform.byteLength;
    }
    const uniforms = device.createBuffer({
      label: 'jit uniforms',
      size: Math.max(16, Math.ceil(end / 4) * 4),
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
    });
    const bytes = new Uint8Array(Math.ceil(end / 4) * 4);
    dispatches.forEach((d, i) => bytes.set(d.uniform, offsets[i]));
    if (bytes.byteLength > 0) device.queue.writeBuffer(uniforms, 0, bytes);
    let k = 0;
    const steps = this.ops.map((op): ReplayStep => {
      if (op.kind === 'copy') return op;
      const offset = offsets[k++];
      const bindGroup = device.createBindGroup({
        label: `jit ${op.kernel}`,
        layout: op.pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: uniforms, offset, size: op.uniform.byteLength } },
          ...op.storage.map((s, i) => ({ binding: i + 1, resource: { buffer: s.buffer, offset: 0, size: s.size } })),
        ],
      });
      return {
        kind: 'dispatch',
        derivedOf: op.derivedOf,
        dispatch: {
          kernel: op.kernel,
          pipeline: op.pipeline,
          bindGroup,
          workgroups: op.workgroups,
          flops: op.flops,
          bytes: storageBytes(op.storage),
          scope: op.scope,
        },
      };
    });
    return new Recording(steps, [...this.owned], this.inputs, outputs, uniforms, this.untuned);
  }

  /**
   * Gives every buffer back to the pool (a capture that failed: nothing was encoded); storage the
   * call made and did not free is marked freed, so a late release cannot pool a buffer twice.
   */
  abandon(pool: BufferPool): void {
    for (const s of [...this.made, ...this.inputStorages]) s.released = true;
    for (const b of this.owned) pool.release(b, false);
    this.owned.clear();
  }

  private own(buffer: GPUBuffer): GPUBuffer {
    this.owned.add(buffer);
    return buffer;
  }

  private checkOwned(kernel: string, buffer: GPUBuffer): void {
    if (!this.owned.has(buffer))
      throw new BackendError(
        `jit: kernel '${kernel}' reads a tensor the function was not given (a closure or a global). ` +
          'A replay would read it as it is now, even after it is freed: pass it in the arguments instead.',
      );
  }
}

/** Where a replay finds an output: a contiguous range of a recording's buffer. */
export interface OutputSlot {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly bytes: number;
  readonly dtype: DType;
}

type ReplayStep =
  { readonly kind: 'dispatch'; readonly dispatch: ReplayDispatch; readonly derivedOf?: number } | RecordedCopy;

/** A closed capture: replays its ops on new inputs and copies its outputs out. */
export class Recording {
  /** The storage and offset each input was last filled from (the same again: no copy; storage is immutable). */
  private readonly lastInputs: ({ readonly identity: object; readonly offset: number } | undefined)[];
  private disposed = false;
  /** Replays so far. */
  replays = 0;

  constructor(
    private readonly steps: readonly ReplayStep[],
    readonly buffers: readonly GPUBuffer[],
    private readonly inputs: readonly GPUBuffer[],
    readonly outputs: readonly OutputSlot[],
    private readonly uniforms: GPUBuffer,
    /** The kernel choices made before tuning measured them (see Capture.untuned): record again once it has. */
    readonly untuned: ReadonlyMap<string, unknown>,
  ) {
    this.lastInputs = inputs.map(() => undefined);
  }

  /** Bytes of device memory it holds. */
  get bytes(): number {
    return this.buffers.reduce((n, b) => n + b.size, this.uniforms.size);
  }

  get dispatches(): number {
    return this.steps.filter((s) => s.kind === 'dispatch').length;
  }

  /**
   * Copies each input in (those whose `identity` or offset differs from the last replay's), replays the
   * ops, skipping derived-buffer builds whose input did not change, and copies output i into
   * `outputs[i]`.
   */
  replay(
    dispatcher: Dispatcher,
    inputs: readonly {
      readonly identity: object;
      readonly buffer: GPUBuffer;
      readonly offset: number;
      readonly bytes: number;
    }[],
    outputs: readonly GPUBuffer[],
  ): void {
    if (this.disposed) throw new BackendError('jit: this recording was disposed.');
    const changed = inputs.map(
      (x, i) => x.identity !== this.lastInputs[i]?.identity || x.offset !== this.lastInputs[i]?.offset,
    );
    inputs.forEach((x, i) => {
      if (changed[i] && x.bytes > 0) dispatcher.copy(x.buffer, x.offset, this.inputs[i], 0, x.bytes);
      this.lastInputs[i] = { identity: x.identity, offset: x.offset };
    });
    for (const step of this.steps) {
      if (step.derivedOf !== undefined && !changed[step.derivedOf]) continue;
      if (step.kind === 'copy') dispatcher.copy(step.src, step.srcOffset, step.dst, step.dstOffset, step.bytes);
      else dispatcher.dispatchPrepared(step.dispatch);
    }
    this.outputs.forEach((o, i) => o.bytes > 0 && dispatcher.copy(o.buffer, o.offset, outputs[i], 0, o.bytes));
    this.replays++;
  }

  /** Returns the buffers to `pool` (after the next submit if commands are pending) and frees the uniforms. */
  dispose(pool: BufferPool, dispatcher: Dispatcher): void {
    if (this.disposed) return;
    this.disposed = true;
    if (dispatcher.hasPendingWork) dispatcher.flush(); // the uniform buffer may be bound by unsubmitted commands
    for (const b of this.buffers) pool.release(b, false);
    this.uniforms.destroy();
  }
}

const relativeScope = (base: string, scope: string): string =>
  base === '' ? scope : scope === base ? '' : scope.startsWith(`${base}/`) ? scope.slice(base.length + 1) : scope;
