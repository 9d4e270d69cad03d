// Testing helpers for users' own property tests: arbitraries, and the gradient checker.

export {
  arbitraryShape,
  arbitraryBroadcastShapes,
  arbitraryTensor,
  arbitraryInAxes,
  arbitraryBatchSize,
  type ShapeOptions,
  type TensorArbitraryOptions,
} from './arbitraries.js';
export { checkGrad, type CheckGradOptions, type CheckGradReport, type GradMismatch } from '../autograd/check-grad.js';
