// Jacobians and Hessians from the other transforms: jacfwd pushes every basis tangent through
// jvp at once (vmap over an identity), jacrev pulls every basis cotangent back through one vjp
// (vmap of its pullback), hessian is forward-over-reverse.
import { scope } from '../tensor/memory.js';
import { tensor } from '../tensor/ops/creation.js';
import { reshape, slice, transpose } from '../tensor/ops/movement.js';
import { treeLeaves, treeMap, type Tree } from '../tensor/pytree.js';
import type { Tensor } from '../tensor/tensor.js';
import { normalizeArgnums, type Argnums, type GradsOf } from './grad.js';
import { jvp } from './jvp.js';
import { requireDifferentiable } from './validate.js';
import { vjp } from './vjp.js';
import { vmap } from './vmap.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface JacobianOptions<A extends Argnums = Argnums> {
  /** Which positional arguments to differentiate (default 0); a list gives a tuple per output. */
  readonly argnums?: A;
}

/**
 * The Jacobian's type: for a tensor output, shaped like the differentiated argument(s) (each leaf
 * [...out.shape, ...leaf.shape]); for a pytree output, that tree with each leaf replaced so.
 */
export type JacobianOf<Args extends readonly unknown[], R, A extends Argnums> = R extends Tensor
  ? GradsOf<Args, A>
  : Tree<Tensor>;

const sizeOfShape = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * The identity, split by leaf: for leaves of sizes n_j (N in all), leaf j gets [N, ...shape_j]
 * with row r the unit vector r - offset_j of that leaf (zero outside its rows).
 */
function basisFor(leaves: readonly Tensor[]): Tensor[] {
  const total = leaves.reduce((n, x) => n + x.size, 0);
  let offset = 0;
  return leaves.map((x) => {
    const data = new Float64Array(total * x.size);
    for (let e = 0; e < x.size; e++) data[(offset + e) * x.size + e] = 1;
    offset += x.size;
    return tensor(data, { shape: [total, ...x.shape], dtype: x.dtype, backend: x.backend });
  });
}

/** Rows [from, from + count) of x along axis 0. */
const rows = (x: Tensor, from: number, count: number): Tensor => slice(x, [from], [from + count]);

function jacobian<Args extends unknown[], R, const A extends Argnums>(
  op: 'jacfwd' | 'jacrev',
  f: (...args: Args) => R,
  options: JacobianOptions<A>,
): (...args: Args) => JacobianOf<Args, R, A> {
  requireOptions(op, options, '{ argnums: 1 }');
  return (...args: Args) => {
    const argnums = normalizeArgnums(op, options.argnums ?? 0, args.length);
    argnums.forEach((i) => requireDifferentiable(op, args[i], `argument ${i}`));
    const diffArgs = argnums.map((i) => args[i]);
    const g = (...ds: unknown[]): R =>
      f(...(args.map((a, i) => (argnums.includes(i) ? ds[argnums.indexOf(i)] : a)) as Args));
    const inLeaves = treeLeaves(diffArgs);
    return scope(() => {
      // blocks[i][j]: d out_i / d in_j, shaped [...out_i.shape, ...in_j.shape].
      let outTree: R;
      let blocks: Tensor[][];
      if (op === 'jacfwd') {
        let k = 0;
        const basis = basisFor(inLeaves);
        const basisTree = treeMap(diffArgs, () => basis[k++]);
        // Every column J e_r at once: out_i leaves of [N, ...out_i.shape].
        outTree = vmap((ts: unknown[]) => jvp(g, diffArgs, ts)[1])(basisTree);
        blocks = treeLeaves(outTree).map((col) => {
          const outShape = col.shape.slice(1);
          let offset = 0;
          return inLeaves.map((x) => {
            const part = reshape(rows(col, offset, x.size), [x.size, sizeOfShape(outShape)]);
            offset += x.size;
            return reshape(transpose(part), [...outShape, ...x.shape]);
          });
        });
      } else {
        const [out, pullback] = vjp(g, ...diffArgs);
        outTree = out;
        const outLeaves = treeLeaves(out);
        let k = 0;
        const basis = basisFor(outLeaves);
        // Every row e_r^T J at once: in_j leaves of [M, ...in_j.shape].
        const pulled = treeLeaves(vmap((ct: R) => pullback(ct))(treeMap(out, () => basis[k++])));
        let offset = 0;
        blocks = outLeaves.map((o) => {
          const here = pulled.map((p, j) => reshape(rows(p, offset, o.size), [...o.shape, ...inLeaves[j].shape]));
          offset += o.size;
          return here;
        });
      }
      let i = 0;
      const structured = treeMap(outTree, () => {
        const row = blocks[i++];
        let j = 0;
        const perArg = diffArgs.map((a) => treeMap(a, () => row[j++]));
        return (typeof options.argnums === 'object' ? perArg : perArg[0]) as Tensor;
      });
      return structured as unknown as JacobianOf<Args, R, A>;
    });
  };
}

/**
 * jacfwd(f, {argnums})(...args): the Jacobian by forward mode (one batched jvp over the input
 * basis; best when inputs are fewer than outputs). For a tensor output and argument, shape
 * [...out.shape, ...arg.shape].
 */
export function jacfwd<Args extends unknown[], R, const A extends Argnums = 0>(
  f: (...args: Args) => R,
  options: JacobianOptions<A> = {},
): (...args: Args) => JacobianOf<Args, R, A> {
  return jacobian('jacfwd', f, options);
}

/**
 * jacrev(f, {argnums})(...args): the Jacobian by reverse mode (one vjp, its pullback batched over
 * the output basis; best when outputs are fewer than inputs). Same layout as jacfwd.
 */
export function jacrev<Args extends unknown[], R, const A extends Argnums = 0>(
  f: (...args: Args) => R,
  options: JacobianOptions<A> = {},
): (...args: Args) => JacobianOf<Args, R, A> {
  return jacobian('jacrev', f, options);
}

/**
 * hessian(f, {argnums})(...args): second derivatives of scalar f, forward-over-reverse
 * (jacfwd of jacrev). For one tensor argument x, shape [...x.shape, ...x.shape]. For a
 * Hessian-vector product without the full matrix, use jvp(grad(f), [x], [v]).
 */
export function hessian<Args extends unknown[], R, const A extends Argnums = 0>(
  f: (...args: Args) => R,
  options: JacobianOptions<A> = {},
): (...args: Args) => JacobianOf<Args, R, A> {
  requireOptions('hessian', options, '{ argnums: 1 }');
  return jacfwd(jacrev(f, options) as (...args: Args) => unknown, options) as (...args: Args) => JacobianOf<Args, R, A>;
}
