// Writes a copy of a policy checkpoint whose target space keeps the input's content below a
// Gaussian of sigma px (TargetSpace.inputLowpass; docs/faces.md). The weights, the UNet, the
// stage and the step are copied unchanged: SFT's targets do not use the low-pass, so a trained
// checkpoint can take it on without retraining. sigma 0 removes it.
//   npx tsx scripts/set-input-lowpass.ts <from.safetensors> <to.safetensors> <sigma>
import { ready, disposeTree } from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { targetSpaceProblem } from '../src/train/target-space.js';

const [from, to, sigmaArg] = process.argv.slice(2);
const sigma = Number(sigmaArg);
if (!from || !to || sigmaArg === undefined)
  throw new Error('usage: npx tsx scripts/set-input-lowpass.ts <from.safetensors> <to.safetensors> <sigma>');
await ready();
const checkpoint = await loadCheckpoint(from, { withOptimizer: false });
const { inputLowpass: _old, ...rest } = checkpoint.info.space;
const space = sigma > 0 ? { ...rest, inputLowpass: sigma } : rest;
const problem =
  targetSpaceProblem(space) ?? (space.kind === 'residual' ? undefined : 'only a residual space has an input low-pass');
if (problem !== undefined) throw new Error(`set-input-lowpass: ${problem}.`);
await saveCheckpoint(to, { info: { ...checkpoint.info, space }, params: checkpoint.params });
disposeTree(checkpoint.params);
console.log(
  `wrote ${to}: space ${JSON.stringify(space)}, stage ${checkpoint.info.stage}, step ${checkpoint.info.step}`,
);
