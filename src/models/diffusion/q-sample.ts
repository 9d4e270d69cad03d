// The forward (noising) process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) (Ho et al.
// 2020, eq. 4), with per-sample timesteps whose coefficients broadcast over C, H, W.
import { isFloat } from '../../tensor/dtype.js';
import { DTypeError, ShapeError, scope, tensor, add, cast, mul, take, reshape, Tensor } from '../../index.js';
import { fmtShape } from '../../tensor/errors.js';
import { checkTimesteps, requireSchedule, type NoiseSchedule } from './schedule.js';

/** Timesteps per sample: integers in 0..T-1 as a float32 or int32 tensor [B], or a host array. */
export type Timesteps = Tensor | readonly number[];

/** Throws unless `x` is a float tensor with a batch dim, naming the op and argument. @internal */
export function requireFloatBatch(op: string, x: unknown, name: string): Tensor {
  if (!(x instanceof Tensor))
    throw new DTypeError(`${op}: ${name} must be a Tensor, got ${x === null ? 'null' : typeof x}.`);
  x.storage(op); // a disposed tensor throws here, naming the op
  if (!isFloat(x.dtype))
    throw new DTypeError(
      `${op}: ${name} must be float32 or float64, got ${x.dtype}. Convert with cast(${name}, 'float32').`,
    );
  if (x.rank < 1)
    throw new ShapeError(`${op}: ${name} must have a batch dim first ([B, C, H, W]), got shape ${fmtShape(x.shape)}.`);
  return x;
}

/**
 * The per-sample coefficients table[t_b] as a tensor [B, 1, ..., 1] of `like`'s rank, dtype and
 * backend. Host timesteps are checked and looked up on the host; a tensor of timesteps is
 * gathered on the device (float values truncate to integers; out-of-range values cannot be
 * checked without a readback and are clamped into 0..T-1, as `take` clamps). @internal
 */
export function perSample(
  op: string,
  schedule: NoiseSchedule,
  table: Float64Array,
  t: Timesteps,
  like: Tensor,
): Tensor {
  const batch = like.shape[0];
  const shape = [batch, ...like.shape.slice(1).map(() => 1)];
  if (t instanceof Tensor) {
    t.storage(op);
    if (t.dtype !== 'float32' && t.dtype !== 'int32') {
      throw new DTypeError(
        `${op}: timesteps t must be float32 or int32, got ${t.dtype}. Build them with tensor(ts, { dtype: 'int32' }).`,
      );
    }
    if (t.rank !== 1 || t.shape[0] !== batch) {
      throw new ShapeError(
        `${op}: timesteps t must have shape [${batch}] (one per sample of ${fmtShape(like.shape)}), got ${fmtShape(t.shape)}.`,
      );
    }
    if (t.backend !== like.backend) {
      throw new ShapeError(
        `${op}: timesteps t are on ${t.backend} but the images are on ${like.backend}; move them with toBackend(t, '${like.backend}').`,
      );
    }
    return scope(() => {
      const values = tensor(table, { dtype: like.dtype, backend: like.backend });
      return reshape(take(values, cast(t, 'int32')), shape);
    });
  }
  if (!Array.isArray(t))
    throw new DTypeError(`${op}: timesteps t must be a Tensor [B] or a number[], got ${typeof t}.`);
  if (t.length !== batch) {
    throw new ShapeError(
      `${op}: got ${t.length} timesteps for a batch of ${batch} (images ${fmtShape(like.shape)}); pass one timestep per sample.`,
    );
  }
  checkTimesteps(op, schedule, t);
  return tensor(
    Float64Array.from(t, (ti) => table[ti]),
    { shape, dtype: like.dtype, backend: like.backend },
  );
}

const tables = new WeakMap<NoiseSchedule, { sqrtAbar: Float64Array; sqrtOneMinusAbar: Float64Array }>();

/** sqrt(abar_t) and sqrt(1 - abar_t) for every t, computed once per schedule. @internal */
export function qCoefficients(schedule: NoiseSchedule): { sqrtAbar: Float64Array; sqrtOneMinusAbar: Float64Array } {
  let c = tables.get(schedule);
  if (c === undefined) {
    c = {
      sqrtAbar: schedule.alphasCumprod.map(Math.sqrt),
      sqrtOneMinusAbar: schedule.alphasCumprod.map((a) => Math.sqrt(1 - a)),
    };
    tables.set(schedule, c);
  }
  return c;
}

/**
 * x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise, one timestep per sample (`t` [B] as a float32 or
 * int32 tensor, or a number[]). x0 and noise share their shape [B, ...]; differentiable in both.
 */
export function qSample(schedule: NoiseSchedule, x0: Tensor, t: Timesteps, noise: Tensor): Tensor {
  const op = 'qSample';
  requireSchedule(op, schedule);
  requireFloatBatch(op, x0, 'x0');
  requireFloatBatch(op, noise, 'noise');
  if (noise.shape.length !== x0.shape.length || noise.shape.some((d, i) => d !== x0.shape[i])) {
    throw new ShapeError(`${op}: noise ${fmtShape(noise.shape)} must have the shape of x0 ${fmtShape(x0.shape)}.`);
  }
  const { sqrtAbar, sqrtOneMinusAbar } = qCoefficients(schedule);
  return scope(() =>
    add(
      mul(x0, perSample(op, schedule, sqrtAbar, t, x0)),
      mul(noise, perSample(op, schedule, sqrtOneMinusAbar, t, x0)),
    ),
  );
}
