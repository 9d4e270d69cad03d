// Compiled compute pipelines keyed by WGSL source and entry point; compile errors become readable BackendErrors.
import { BackendError } from '../../tensor/errors.js';
import type { PendingErrors } from './error-scopes.js';

/** The WGSL source with 1-based line numbers, as compile errors show it. */
export function numberedSource(source: string): string {
  const lines = source.split('\n');
  const width = String(lines.length).length;
  return lines.map((line, i) => `${String(i + 1).padStart(width)} | ${line}`).join('\n');
}

async function describeCompileError(
  kernel: string,
  source: string,
  module: GPUShaderModule,
  error: GPUError,
): Promise<BackendError> {
  let messages = '';
  try {
    const info = await module.getCompilationInfo();
    messages = info.messages.map((m) => `  ${m.type} at line ${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
  } catch {
    // getCompilationInfo is best effort; the scope's message is enough on its own.
  }
  return new BackendError(
    `webgpu: kernel '${kernel}' failed to compile: ${error.message}\n` +
      (messages ? `compiler messages:\n${messages}\n` : '') +
      `WGSL source:\n${numberedSource(source)}`,
  );
}

export class PipelineCache {
  /** By entry point, then source (no key string joins the two: a source is kilobytes). */
  private readonly pipelines = new Map<string, Map<string, GPUComputePipeline>>();
  private compiled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly errors: PendingErrors,
  ) {}

  /** Pipelines compiled so far. */
  get size(): number {
    return this.compiled;
  }

  /**
   * The pipeline for `source`, compiled on first use. A compile error cannot be seen synchronously;
   * it is recorded and thrown by the next flush or readback, naming `kernel` and showing the source.
   */
  get(kernel: string, source: string, entryPoint = 'main'): GPUComputePipeline {
    let bySource = this.pipelines.get(entryPoint);
    const cached = bySource?.get(source);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: source, label: kernel });
    const pipeline = this.device.createComputePipeline({
      label: kernel,
      layout: 'auto',
      compute: { module, entryPoint },
    });
    this.errors.popScope(this.device, (error) => describeCompileError(kernel, source, module, error));
    if (!bySource) this.pipelines.set(entryPoint, (bySource = new Map()));
    bySource.set(source, pipeline);
    this.compiled++;
    return pipeline;
  }
}
