// Functional reverse-mode autodiff: the transforms and the gradient checker.
export { grad, valueAndGrad, type GradOptions, type GradsOf, type Argnums } from './grad.js';
export { vjp, type Pullback } from './vjp.js';
export { stopGradient } from './stop-gradient.js';
export { checkGrad, type CheckGradOptions, type CheckGradReport, type GradMismatch } from './check-grad.js';
