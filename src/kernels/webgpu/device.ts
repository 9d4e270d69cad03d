// Acquiring a Dawn adapter and device with the adapter's real limits, and recording device errors.
import { create } from 'webgpu';
import { BackendError } from '../../tensor/errors.js';
import { ensureRuntimeDir, spreadLavapipeThreads } from '../../env.js';
import { paceGpuWaits } from './wait-pacing.js';

/**
 * The object `create()` returns must stay referenced for as long as any adapter or device lives,
 * or the process aborts at a random later point (docs/architecture.md, "WebGPU: the device and its
 * lifetime"). One per process.
 */
let gpuInstance: GPU | undefined;

/** Limits the kernels size themselves by; requested from the adapter instead of the spec minimums. */
const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
  'minUniformBufferOffsetAlignment',
] as const;

const OPTIONAL_FEATURES: readonly GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];

export type DeviceLimits = { readonly [K in (typeof REQUESTED_LIMITS)[number]]: number };

/** A device plus what we learned acquiring it, and the first asynchronous error it reported. */
export interface GpuDevice {
  readonly device: GPUDevice;
  readonly limits: DeviceLimits;
  readonly features: ReadonlySet<string>;
  readonly adapterDescription: string;
  /**
   * The subgroup size when the 'subgroups' feature is on and the adapter reports one fixed size
   * (lavapipe: 8, one AVX2 vector); undefined otherwise, which turns the subgroup kernels off.
   */
  readonly subgroupSize?: number;
  /**
   * The first uncaptured error since the last call, or the device loss (which stays): the next
   * readback throws it.
   */
  readonly takeDeviceError: () => BackendError | undefined;
  readonly destroy: () => void;
}

export const NO_ADAPTER_FIX =
  'Dawn found no WebGPU adapter. Install a Vulkan driver: on Debian 12 run ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (Mesa 25 lavapipe; ' +
  "bookworm's own Mesa 22 is rejected), or run `npm test` / `npm run setup`, which installs it. " +
  "Or use the CPU backend: setBackend('cpu').";

/** Acquires an adapter and a device with the adapter's limits and the optional features it offers. */
export async function acquireDevice(powerPreference?: GPUPowerPreference): Promise<GpuDevice> {
  ensureRuntimeDir();
  spreadLavapipeThreads();
  paceGpuWaits();
  // Unquantized timestamps: Dawn rounds them to 65.5 µs by default, longer than most of our kernels run (profile()).
  gpuInstance ??= create(['disable-dawn-features=timestamp_quantization']);
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpuInstance.requestAdapter(powerPreference ? { powerPreference } : undefined);
  } catch (e) {
    throw new BackendError(`webgpu: requestAdapter failed (${(e as Error).message}). ${NO_ADAPTER_FIX}`);
  }
  if (!adapter) throw new BackendError(`webgpu: ${NO_ADAPTER_FIX}`);

  const requiredLimits: Record<string, number> = {};
  for (const name of REQUESTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });

  let firstError: BackendError | undefined;
  let lost: BackendError | undefined;
  let destroyed = false;
  void device.lost.then((info) => {
    if (!destroyed)
      lost = new BackendError(
        `webgpu: device lost (${info.reason}): ${info.message}. Create a new backend to continue.`,
      );
  });
  device.addEventListener('uncapturederror', (event) => {
    const error = (event as GPUUncapturedErrorEvent).error;
    firstError ??= new BackendError(`webgpu: uncaptured ${error.constructor.name}: ${error.message}`);
  });

  const limits = {} as Record<string, number>;
  for (const name of REQUESTED_LIMITS) limits[name] = device.limits[name];
  const info = adapter.info;
  return {
    device,
    limits: limits as DeviceLimits,
    features: new Set(requiredFeatures),
    adapterDescription: `${info.vendor} ${info.architecture} ${info.description}`.trim(),
    subgroupSize: fixedSubgroupSize(requiredFeatures, info),
    takeDeviceError: () => {
      const e = lost ?? firstError;
      firstError = undefined;
      return e;
    },
    destroy: () => {
      destroyed = true;
      device.destroy();
    },
  };
}

/** Whether kernels of `lanes` invocations can use subgroup operations: a fixed subgroup size that divides them. */
export const subgroupsFit = (gpu: Pick<GpuDevice, 'subgroupSize'>, lanes: number): boolean =>
  gpu.subgroupSize !== undefined && lanes % gpu.subgroupSize === 0;

/** The adapter's subgroup size when subgroups are enabled and the size cannot vary between dispatches. */
function fixedSubgroupSize(features: readonly string[], info: GPUAdapterInfo): number | undefined {
  const { subgroupMinSize: min, subgroupMaxSize: max } = info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  return features.includes('subgroups') && min !== undefined && min === max && min >= 4 ? min : undefined;
}

/**
 * GPUBufferUsage / GPUMapMode flag values from the WebGPU spec. dawn.node does not install the
 * spec's global namespaces, so the values are spelled out here once.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
export const MAP_MODE_READ = 0x0001;
