// checkGrad and checkJvp: compare reverse-mode gradients and forward-mode tangents with central
// finite differences in float64 on the CPU backend, and report the worst relative error — the
// tools for property-testing derivative rules.
import { toBackend, tensor } from '../tensor/ops/creation.js';
import { add, cast, mul } from '../tensor/ops/elementwise.js';
import { sum } from '../tensor/ops/reduce.js';
import { normal, key } from '../random/index.js';
import { scope } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { DTypeError } from '../tensor/errors.js';
import { jvp } from './jvp.js';
import { vjp } from './vjp.js';
import { requireOptions } from '../tensor/ops/operand.js';

export interface CheckGradOptions {
  /** Finite-difference step (default 1e-6; central differences have O(eps^2) error). */
  readonly eps?: number;
  /**
   * Combine central differences at eps and eps / 2 by Richardson extrapolation,
   * (4 D(eps / 2) - D(eps)) / 3, whose error falls as eps^4: twice the evaluations, for functions
   * that curve steeply where they are checked (a normalisation of nearly constant values, exp of a
   * large multiple), where a plain central difference misses a correct derivative. Default false.
   */
  readonly richardson?: boolean;
  /** Relative tolerance (default 1e-5). */
  readonly rtol?: number;
  /** Absolute tolerance (default 1e-7). */
  readonly atol?: number;
  /** Check at most this many elements per input, chosen evenly (default all). */
  readonly maxElementsPerInput?: number;
  /** Seed of the random cotangent (reverse) or tangents (forward) (default 0). */
  readonly seed?: number;
  /**
   * Which derivative checkGrad checks: 'reverse' (vjp, default), 'forward' (jvp, as checkJvp) or
   * 'both' (the report of the worse one; ok only if both pass).
   */
  readonly mode?: 'reverse' | 'forward' | 'both';
}

export interface GradMismatch {
  readonly input: number;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

export interface CheckGradReport {
  /** Every checked element within atol + rtol * max(|analytic|, |numeric|). */
  readonly ok: boolean;
  /** Largest |analytic - numeric| / (atol + rtol * max(|analytic|, |numeric|)); <= 1 passes. */
  readonly worstRatio: number;
  readonly maxAbsError: number;
  readonly checked: number;
  readonly worst: GradMismatch | null;
  /** A one-paragraph summary, for assertion messages. */
  readonly message: string;
}

/** Richardson's combination of central differences at h / 2 and h: error O(h^4). */
const extrapolate = (fine: number, coarse: number): number => (4 * fine - coarse) / 3;

/** The central difference of `at` (f at x + delta) with step eps, extrapolated when asked. */
async function centralDifference(
  at: (delta: number) => Promise<number>,
  eps: number,
  richardson = false,
): Promise<number> {
  const central = async (h: number) => ((await at(h)) - (await at(-h))) / (2 * h);
  const coarse = await central(eps);
  return richardson ? extrapolate(await central(eps / 2), coarse) : coarse;
}

/** The inputs as float64 CPU tensors (new tensors; the caller disposes them). */
const toCpu64 = (op: string, inputs: readonly Tensor[]): Promise<Tensor[]> =>
  Promise.all(
    inputs.map(async (x, i) => {
      if (!(x instanceof Tensor))
        throw new DTypeError(`${op}: input ${i} is not a Tensor; pass the tensors f takes, in order.`);
      const onCpu = x.backend === 'cpu' ? x : await toBackend(x, 'cpu');
      const x64 = cast(onCpu, 'float64');
      if (onCpu !== x) onCpu.dispose();
      return x64;
    }),
  );

/**
 * Checks vjp(f) against central finite differences at `inputs` (float tensors on any backend;
 * copied to the CPU as float64). f may return any float tensor: non-scalar outputs are projected
 * onto a fixed random direction. Avoid points where f is not differentiable (relu at 0, ...).
 * `mode: 'forward'` checks jvp(f) instead (see checkJvp), `'both'` checks both.
 */
export async function checkGrad(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: CheckGradOptions = {},
): Promise<CheckGradReport> {
  requireOptions('checkGrad', options, '{ rtol: 1e-4, eps: 1e-6 }');
  const mode = options.mode ?? 'reverse';
  if (mode === 'forward') return checkJvp(f, inputs, options);
  if (mode === 'both') {
    const [reverse, forward] = [await checkReverse(f, inputs, options), await checkJvp(f, inputs, options)];
    const worse = forward.worstRatio > reverse.worstRatio ? forward : reverse;
    return {
      ...worse,
      ok: reverse.ok && forward.ok,
      checked: reverse.checked + forward.checked,
      message: `${reverse.message} ${forward.message}`,
    };
  }
  return checkReverse(f, inputs, options);
}

async function checkReverse(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: CheckGradOptions,
): Promise<CheckGradReport> {
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-7;
  const xs = await toCpu64('checkGrad', inputs);
  let direction: Tensor | undefined;
  try {
    // A fixed random direction turns any output into the scalar <f(x), v>.
    const probe = scope(() => f(...xs));
    direction = normal(key(options.seed ?? 0), probe.shape, { backend: 'cpu', dtype: 'float64' });
    probe.dispose();
    const projected = (...args: Tensor[]) => sum(mul(f(...args), direction!));

    const [out, pullback] = vjp(projected, ...xs);
    const seed = tensor(1, { backend: 'cpu', dtype: 'float64' });
    const grads = pullback(seed);
    const analytic = await Promise.all(grads.map((g) => g.data()));
    seed.dispose();
    out.dispose();
    pullback.dispose();
    grads.forEach((g) => g.dispose());

    const valueAt = async (args: Tensor[]): Promise<number> => {
      const y = scope(() => projected(...args));
      const v = (await y.data())[0];
      y.dispose();
      return v;
    };
    let worstRatio = 0;
    let maxAbsError = 0;
    let checked = 0;
    let worst: GradMismatch | null = null;
    for (let i = 0; i < xs.length; i++) {
      const base = (await xs[i].data()) as Float64Array;
      const stride = Math.max(1, Math.ceil(base.length / (options.maxElementsPerInput ?? base.length)));
      for (let j = 0; j < base.length; j += stride) {
        const bumped = async (delta: number) => {
          const data = Float64Array.from(base);
          data[j] += delta;
          const xj = tensor(data, { shape: [...xs[i].shape], backend: 'cpu' });
          const args = xs.map((x, k) => (k === i ? xj : x));
          const v = await valueAt(args);
          xj.dispose();
          return v;
        };
        const numeric = await centralDifference(bumped, eps, options.richardson);
        const a = analytic[i][j];
        const err = Math.abs(a - numeric);
        const ratio = err / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
        checked++;
        maxAbsError = Math.max(maxAbsError, Number.isNaN(err) ? Infinity : err);
        // NaN counts as the worst possible error.
        if (worst === null || !(ratio <= worstRatio)) {
          worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
          worst = { input: i, index: j, analytic: a, numeric };
        }
      }
    }
    const ok = worstRatio <= 1;
    const message = worst
      ? `checkGrad ${ok ? 'passed' : 'FAILED'}: ${checked} elements, worst at input ${worst.input}[${worst.index}]: ` +
        `analytic ${worst.analytic} vs finite difference ${worst.numeric} (|error| ${Math.abs(worst.analytic - worst.numeric).toExponential(2)}, ` +
        `${worstRatio.toFixed(3)}x the tolerance atol ${atol} + rtol ${rtol} * |g|).`
      : 'checkGrad: no elements to check (all inputs are empty).';
    return { ok, worstRatio, maxAbsError, checked, worst, message };
  } finally {
    xs.forEach((x) => x.dispose());
    direction?.dispose();
  }
}

/**
 * Checks jvp(f) against central finite differences at `inputs` (float tensors on any backend;
 * copied to the CPU as float64): along random tangents v (one per input, from `seed`), every
 * element of the output's tangent must match (f(x + eps v) - f(x - eps v)) / (2 eps). The
 * report's `worst.index` is an output element (`worst.input` is 0). Options as checkGrad's
 * (maxElementsPerInput does not apply: one direction checks every output element).
 */
export async function checkJvp(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  options: CheckGradOptions = {},
): Promise<CheckGradReport> {
  requireOptions('checkJvp', options, '{ rtol: 1e-4, eps: 1e-6 }');
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-7;
  const xs = await toCpu64('checkJvp', inputs);
  const vs = xs.map((x, i) =>
    normal(key((options.seed ?? 0) * 1009 + i), x.shape, { backend: 'cpu', dtype: 'float64' }),
  );
  try {
    const [out, tangent] = jvp(f, xs, vs);
    const analytic = await tangent.data();
    out.dispose();
    tangent.dispose();
    const along = async (delta: number): Promise<Float64Array> => {
      const y = scope(() => f(...xs.map((x, i) => add(x, mul(vs[i], delta)))));
      const v = Float64Array.from(await y.data());
      y.dispose();
      return v;
    };
    const differences = async (h: number): Promise<Float64Array> => {
      const [plus, minus] = [await along(h), await along(-h)];
      return plus.map((p, j) => (p - minus[j]) / (2 * h));
    };
    const coarse = await differences(eps);
    const fine = options.richardson ? await differences(eps / 2) : undefined;
    const numerics = fine ? fine.map((d, j) => extrapolate(d, coarse[j])) : coarse;
    let worstRatio = 0;
    let maxAbsError = 0;
    let worst: GradMismatch | null = null;
    for (let j = 0; j < analytic.length; j++) {
      const numeric = numerics[j];
      const a = analytic[j];
      const err = Math.abs(a - numeric);
      const ratio = err / (atol + rtol * Math.max(Math.abs(a), Math.abs(numeric)));
      maxAbsError = Math.max(maxAbsError, Number.isNaN(err) ? Infinity : err);
      if (worst === null || !(ratio <= worstRatio)) {
        worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
        worst = { input: 0, index: j, analytic: a, numeric };
      }
    }
    const ok = worstRatio <= 1;
    const message = worst
      ? `checkJvp ${ok ? 'passed' : 'FAILED'}: ${analytic.length} output elements, worst at [${worst.index}]: ` +
        `jvp ${worst.analytic} vs finite difference ${worst.numeric} (|error| ${Math.abs(worst.analytic - worst.numeric).toExponential(2)}, ` +
        `${worstRatio.toFixed(3)}x the tolerance atol ${atol} + rtol ${rtol} * |t|).`
      : 'checkJvp: no elements to check (the output is empty).';
    return { ok, worstRatio, maxAbsError, checked: analytic.length, worst, message };
  } finally {
    xs.forEach((x) => x.dispose());
    vs.forEach((v) => v.dispose());
  }
}
