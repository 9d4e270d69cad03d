// Functional autodiff: reverse mode (grad, vjp), forward mode (jvp, linearize), batching (vmap),
// Jacobians and Hessians, and the derivative checkers.
export { grad, valueAndGrad, type GradOptions, type GradsOf, type Argnums } from './grad.js';
export { vjp, type Pullback } from './vjp.js';
export { jvp, linearize, type Linearized } from './jvp.js';
export { vmap, type VmapOptions, type AxisSpec } from './vmap.js';
export { jacfwd, jacrev, hessian, type JacobianOptions, type JacobianOf } from './jacobian.js';
export { stopGradient } from './stop-gradient.js';
export { checkGrad, checkJvp, type CheckGradOptions, type CheckGradReport, type GradMismatch } from './check-grad.js';
