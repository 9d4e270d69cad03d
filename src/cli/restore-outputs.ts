// Where `restore` writes each input's result, checked before anything is read or written: no
// result may overwrite an input (an --output that is the --input folder, or links to it), and no
// two inputs may share a result (face.png and face.jpg both give face.png).
import { existsSync, realpathSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';

/** The folder as the file system resolves it (through symlinks), for comparing paths. */
const canonicalDir = (dir: string): string => (existsSync(dir) ? realpathSync(dir) : resolve(dir));

/** `<output>/<input name without extension>.png` for each input, in input order; throws on a collision. */
export function restoreOutputPaths(inputs: readonly string[], outputDir: string): string[] {
  const outputs = inputs.map((file) => join(outputDir, `${basename(file, extname(file))}.png`));
  const canonicalOutput = (i: number) => join(canonicalDir(outputDir), basename(outputs[i]));
  const inputByPath = new Map(inputs.map((file) => [join(canonicalDir(resolve(file, '..')), basename(file)), file]));
  const firstInputOf = new Map<string, string>();
  outputs.forEach((out, i) => {
    const overwritten = inputByPath.get(canonicalOutput(i));
    if (overwritten !== undefined) {
      throw new Error(
        `restore: writing ${out} would overwrite the input ${overwritten}; choose an --output folder other than the --input folder.`,
      );
    }
    const other = firstInputOf.get(out);
    if (other !== undefined) {
      throw new Error(
        `restore: ${other} and ${inputs[i]} would both be written to ${out}, and one result would be lost; ` +
          `rename one of them (or restore them from separate folders).`,
      );
    }
    firstInputOf.set(out, inputs[i]);
  });
  return outputs;
}
