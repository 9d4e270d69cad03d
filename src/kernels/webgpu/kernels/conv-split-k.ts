// Split-K for the implicit-GEMM convolutions: a convolution with few outputs and a long reduction
// (a weight gradient, run as a convolution whose "kernel" is the whole output cotangent: a few
// hundred outputs, 16k-element reductions) gives the plain kernels one or two workgroups, so one
// lavapipe thread or one GPU core does all the work. Splitting the kernel's rows across
// workgroups, each writing its partial sums to a slice of a scratch buffer, and adding the slices
// in a second pass keeps every core busy. The split count depends only on the shape and the
// adapter kind, so results are the same run to run.
import { cachedSource } from '../source-cache.js';
import type { GpuContext } from '../context.js';
import { identityEpilogue, storeOut } from '../epilogue.js';
import type { WebGpuStorage } from '../storage.js';
import { isCpuAdapter } from '../tuning.js';
import { kernelSource, storageBinding, threadPerItemEntry, UniformLayout, wgslScalar } from '../wgsl.js';
import type { ConvGemmProblem } from './conv-gemm.js';

/** Workgroups a split launch aims for: a few per lavapipe thread; enough to fill a GPU's cores. */
const TARGET_WORKGROUPS = { cpu: 16, gpu: 512 } as const;

/** The workgroup count a split launch on this adapter aims for (split-K here, the wgrad kernels' splits). */
export const targetWorkgroups = (ctx: GpuContext): number =>
  isCpuAdapter(ctx.gpu.adapterDescription) ? TARGET_WORKGROUPS.cpu : TARGET_WORKGROUPS.gpu;
/** Largest scratch buffer of partial sums, in elements (64 MiB of float32). */
const MAX_PARTIAL_ELEMENTS = 16 * 1024 * 1024;
const WORKGROUP = 64;

/** How many ways to split the kernel rows of `p`, given `blocks` workgroups per split and `total` outputs. */
export function splitCount(ctx: GpuContext, p: ConvGemmProblem, blocks: number, total: number): number {
  const wanted = Math.ceil(targetWorkgroups(ctx) / Math.max(blocks, 1));
  const fits = Math.floor(MAX_PARTIAL_ELEMENTS / Math.max(total, 1));
  const splits = Math.max(1, Math.min(wanted, p.kh, fits));
  // Equal row counts per split, so no split is empty: kh = 32 split 12 ways is 11 splits of 3.
  return Math.ceil(p.kh / Math.ceil(p.kh / splits));
}

const layout = new UniformLayout({ count: 'u32', splits: 'u32' });

/** out[i] = sum over s of partials[s * total + i], through out's epilogue. */
export function sumSplits(
  ctx: GpuContext,
  partials: WebGpuStorage,
  out: WebGpuStorage,
  splits: number,
  total: number,
): void {
  const t = wgslScalar(partials.dtype);
  const body = `var acc = part[idx];
for (var s = 1u; s < p.splits; s++) { acc += part[s * p.count + idx]; }
${storeOut('idx', 'acc')}`;
  ctx.dispatch({
    kernel: `conv2d:sum-splits:${partials.dtype}`,
    // The dtype determines the source.
    source: cachedSource(`conv2d:sum-splits:${partials.dtype}`, () =>
      kernelSource(
        '// conv2d split-K: adds the partial sums of the splits',
        layout.declaration(),
        [storageBinding(1, 'out', t, 'read_write'), storageBinding(2, 'part', t, 'read')].join('\n'),
        identityEpilogue(t),
        threadPerItemEntry(WORKGROUP, 'p.count', body),
      ),
    ),
    uniform: layout.pack({ count: total, splits }),
    storage: [ctx.bind(out), ctx.bind(partials)],
    workgroups: Math.ceil(total / WORKGROUP),
  });
}
