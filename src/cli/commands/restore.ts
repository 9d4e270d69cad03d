// `restore`: LQ face images in, restored images out (PNG, same names), with a checkpoint.
import { mkdirSync } from 'node:fs';
import { listImageFiles, readFaceFolder } from '../../data/folder.js';
import { writeImage } from '../../io/image.js';
import { disposeTree, foldIn, key, slice } from '../../index.js';
import { loadCheckpoint } from '../../train/checkpoint.js';
import { checkStrength, policyOfCheckpoint, restore } from '../../train/policy.js';
import { progressBar } from '../progress.js';
import { restoreOutputPaths } from '../restore-outputs.js';

export interface RestoreCommandOptions {
  readonly checkpoint: string;
  readonly input: string;
  readonly output: string;
  readonly steps: number;
  readonly eta: number;
  /** Average this many samples per face (see restore). */
  readonly samples?: number;
  /** Keep this much of each restoration (default 1; see restore). */
  readonly strength?: number;
  readonly seed: number;
  /** Resize inputs of another size to the policy's size (else they are refused). */
  readonly resize: boolean;
  readonly batch: number;
  readonly quiet?: boolean;
}

/** Restores every image of `input` into `output`; returns the written paths. */
export async function restoreFolder(o: RestoreCommandOptions): Promise<string[]> {
  checkStrength('restore', o.strength ?? 1);
  restoreOutputPaths(await listImageFiles(o.input), o.output); // refuse collisions before any work
  const { info, params } = await loadCheckpoint(o.checkpoint, { withOptimizer: false });
  try {
    const policy = policyOfCheckpoint(info);
    const folder = await readFaceFolder(o.input, { size: info.imageSize, resize: o.resize }).catch((e: Error) => {
      throw new Error(
        `${e.message}${o.resize ? '' : ` (this checkpoint restores ${info.imageSize} x ${info.imageSize} faces; add --resize to resize inputs)`}`,
      );
    });
    const outputs = restoreOutputPaths(folder.files, o.output);
    mkdirSync(o.output, { recursive: true });
    const written: string[] = [];
    const bar = progressBar('restore', folder.files.length, [], { quiet: o.quiet });
    for (let start = 0, b = 0; start < folder.files.length; start += o.batch, b++) {
      const count = Math.min(o.batch, folder.files.length - start);
      const lq = folder.batch(start, count);
      const restored = restore(policy, params, lq, foldIn(key(o.seed), b), {
        steps: o.steps,
        eta: o.eta,
        samples: o.samples ?? 1,
        strength: o.strength ?? 1,
      });
      lq.dispose();
      try {
        for (let i = 0; i < count; i++) {
          const path = outputs[start + i];
          const one = slice(restored, [i], [i + 1]);
          await writeImage(path, one);
          one.dispose();
          written.push(path);
        }
      } finally {
        restored.dispose();
      }
      bar.update(start + count);
    }
    bar.stop();
    return written;
  } finally {
    disposeTree(params);
  }
}
