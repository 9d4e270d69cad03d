// A pooled allocator of GPU storage buffers: size classes, reuse of released buffers, a byte cap.
//
// The hazard it guards against: queue.writeBuffer runs at queue time, i.e. *before* commands still
// sitting in an unsubmitted command encoder. A buffer released while such commands may still read
// it is parked in `releasedSinceSubmit` and only joins the free lists after the next submit, so
// every buffer handed out can be written with queue.writeBuffer without racing earlier work.

const MiB = 1 << 20;

/** Rounds a request up to its size class: 256 B steps below 1 MiB, then 1/8 of the next power of two. */
export function sizeClass(bytes: number): number {
  const b = Math.max(4, Math.ceil(bytes / 4) * 4);
  if (b <= MiB) return Math.ceil(b / 256) * 256;
  const step = 2 ** Math.ceil(Math.log2(b)) / 8;
  return Math.ceil(b / step) * step;
}

export interface BufferPoolOptions {
  readonly usage: GPUBufferUsageFlags;
  /** Pooled bytes above this are destroyed, largest buffers first. */
  readonly capBytes: number;
  /** Size classes never exceed this (the device's maxBufferSize). */
  readonly maxBufferSize: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private releasedSinceSubmit: GPUBuffer[] = [];
  private freeBytes = 0;
  private parkedBytes = 0;
  /** Buffers created so far (reuse keeps this flat in a steady loop). */
  buffersCreated = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly options: BufferPoolOptions,
  ) {}

  /** Bytes held for reuse, not owned by any storage. */
  get pooledBytes(): number {
    return this.freeBytes + this.parkedBytes;
  }

  /** A buffer of at least `bytes` bytes, reused from the pool when one of its size class is free. */
  acquire(bytes: number): GPUBuffer {
    const size = Math.min(
      sizeClass(bytes),
      Math.max(this.options.maxBufferSize - (this.options.maxBufferSize % 4), bytes),
    );
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused) {
      this.freeBytes -= reused.size;
      return reused;
    }
    this.buffersCreated++;
    return this.device.createBuffer({ size, usage: this.options.usage });
  }

  /**
   * Returns a buffer to the pool. `encoderPending` says whether recorded-but-unsubmitted commands
   * might still use it; if so it waits for the next submit before it can be handed out again.
   */
  release(buffer: GPUBuffer, encoderPending: boolean): void {
    if (encoderPending) {
      this.releasedSinceSubmit.push(buffer);
      this.parkedBytes += buffer.size;
    } else {
      this.addFree(buffer);
    }
    this.trim();
  }

  /** Called right after a submit: parked buffers become reusable. */
  afterSubmit(): void {
    const parked = this.releasedSinceSubmit;
    this.releasedSinceSubmit = [];
    this.parkedBytes = 0;
    for (const b of parked) this.addFree(b);
    this.trim();
  }

  /** Destroys every pooled buffer. */
  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const b of this.releasedSinceSubmit) b.destroy();
    this.free.clear();
    this.releasedSinceSubmit = [];
    this.freeBytes = 0;
    this.parkedBytes = 0;
  }

  private addFree(buffer: GPUBuffer): void {
    const list = this.free.get(buffer.size);
    if (list) list.push(buffer);
    else this.free.set(buffer.size, [buffer]);
    this.freeBytes += buffer.size;
  }

  /** Destroys free buffers, largest size class first (oldest within a class), down to the cap. */
  private trim(): void {
    if (this.freeBytes + this.parkedBytes <= this.options.capBytes) return;
    const classes = [...this.free.keys()].sort((a, b) => b - a);
    for (const size of classes) {
      const list = this.free.get(size)!;
      while (list.length > 0 && this.freeBytes + this.parkedBytes > this.options.capBytes) {
        list.shift()!.destroy();
        this.freeBytes -= size;
      }
      if (list.length === 0) this.free.delete(size);
      if (this.freeBytes + this.parkedBytes <= this.options.capBytes) return;
    }
  }
}
