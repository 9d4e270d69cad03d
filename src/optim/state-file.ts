// AdamW state as a safetensors file: the moments as tensors `m.<param path>` and `v.<param path>`,
// the update count in the metadata. The step matters as much as the moments: it sets the bias
// correction and the schedule's learning rate, so a resumed run continues exactly where it stopped.
import type { BackendName } from '../kernels/backend.js';
import { loadSafetensors, saveSafetensors, SafetensorsError } from '../io/safetensors.js';
import type { AdamWState } from './adamw.js';
import { disposeTree } from './tree-util.js';
import { requireOptions } from '../tensor/ops/operand.js';

/** The metadata `format` of an optimizer-state file. */
export const ADAMW_STATE_FORMAT = 'webgpu-lrpo/adamw-state';

/** Writes `state` (moments and step) to `path`; `metadata` strings are stored alongside. */
export async function saveAdamWState<P>(
  path: string,
  state: AdamWState<P>,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  requireOptions('saveAdamWState', options, "{ metadata: { step: '40' } }");
  const { metadata = {} } = options;
  await saveSafetensors(
    path,
    { m: state.m, v: state.v },
    { metadata: { ...metadata, format: ADAMW_STATE_FORMAT, step: String(state.step) } },
  );
}

/**
 * Reads the state saveAdamWState wrote for params shaped like `params` (used only as the
 * expected shapes: a missing, extra or mis-shaped moment is an error naming it).
 */
export async function loadAdamWState<P>(
  path: string,
  params: P,
  options: { backend?: BackendName } = {},
): Promise<AdamWState<P>> {
  requireOptions('loadAdamWState', options, "{ backend: 'cpu' }");
  const { backend } = options;
  const { tree, metadata } = await loadSafetensors(path, {
    expect: { m: params, v: params },
    ...(backend ? { backend } : {}),
  });
  const step = Number(metadata.step);
  if (metadata.format !== ADAMW_STATE_FORMAT || !Number.isSafeInteger(step) || step < 0) {
    disposeTree(tree);
    const what =
      metadata.format !== ADAMW_STATE_FORMAT
        ? `its metadata format is ${JSON.stringify(metadata.format)}, not '${ADAMW_STATE_FORMAT}'`
        : `its metadata step is ${JSON.stringify(metadata.step)}, not an integer >= 0`;
    throw new SafetensorsError(`loadAdamWState(${path}): ${what}; pass a file written by saveAdamWState.`);
  }
  // LoadedTree<P> is P with Tensor leaves: the same type for any tree of tensors.
  return { step, m: tree.m as P, v: tree.v as P };
}
