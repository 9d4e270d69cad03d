// The elementwise primitives as data: for each op, what operand dtypes it takes, what it returns,
// its WGSL expression and its CPU reference. Both backends generate their kernels from this table,
// so adding an op here adds it everywhere (the autodiff rule table is typed over the same names).

/** How the front end prepares operands before the primitive runs. */
export type OperandClass =
  | 'float' // int/bool operands are cast to float32 first (exp, div ...)
  | 'numeric' // bool operands are cast to int32 first (add, neg ...)
  | 'bool' // operands are cast to bool first (logicalAnd ...)
  | 'any'; // any dtype, operands promoted to a common dtype (comparisons)

/** WGSL scalar type a storage dtype is computed in (bool is stored as u32 0/1). */
export type WgslScalar = 'f32' | 'i32' | 'u32';

export interface ElementwiseSpec<Arity extends number> {
  readonly operands: OperandClass;
  /** `bool` for predicates; otherwise the (prepared) operand dtype. */
  readonly result: 'same' | 'bool';
  /** WGSL expression over operand expressions; `t` is the scalar type computed in. */
  readonly wgsl: (args: StringTuple<Arity>, t: WgslScalar) => string;
  /** Helper functions the expression calls, emitted once per kernel. */
  readonly wgslPrelude?: string;
  /** Reference semantics on float64 numbers; the CPU backend rounds on store. */
  readonly cpu: (...args: NumberTuple<Arity>) => number;
  /** Exact int32 semantics where doubles are not (products past 2^53 lose the low bits). */
  readonly cpuInt32?: (...args: NumberTuple<Arity>) => number;
}

type StringTuple<N extends number> = N extends 1 ? [string] : [string, string];
type NumberTuple<N extends number> = N extends 1 ? [number] : [number, number];

// --- helpers shared by several ops ------------------------------------------------------------

const b2n = (c: boolean): number => (c ? 1 : 0);
const asBool = (cond: string): string => `select(0u, 1u, ${cond})`;

// Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); WGSL has no erf, so the CPU uses the same formula.
const ERF = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429, 0.3275911] as const;
export function erfApprox(z: number): number {
  const t = 1 / (1 + ERF[5] * Math.abs(z));
  const poly = t * (ERF[0] + t * (ERF[1] + t * (ERF[2] + t * (ERF[3] + t * ERF[4]))));
  return Math.sign(z) * (1 - poly * Math.exp(-z * z));
}
const wgslErf = `
fn erf_approx(z: f32) -> f32 {
  let t = 1.0 / (1.0 + ${ERF[5]} * abs(z));
  let poly = t * (${ERF[0]} + t * (${ERF[1]} + t * (${ERF[2]} + t * (${ERF[3]} + t * ${ERF[4]}))));
  return sign(z) * (1.0 - poly * exp(-z * z));
}`;

// WGSL pow is exp2(y * log2(x)): undefined for x < 0 and for 0^0. This matches Math.pow instead.
const wgslPow = `
fn pow_real(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  let r = pow(abs(a), b);
  if (a >= 0.0) { return r; }
  if (fract(b) != 0.0) { return sqrt(a); } // NaN, as Math.pow(-2, 0.5)
  return select(r, -r, fract(b * 0.5) != 0.0);
}`;

// Some drivers (lavapipe) fold NaN comparisons such as x != x to false, so NaN is detected on the
// bits, and max/min/equal/notEqual spell out NaN propagation as Math.max and === do.
const wgslNan = `
fn is_nan_f32(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn max_nan(a: f32, b: f32) -> f32 { if (is_nan_f32(a)) { return a; } if (is_nan_f32(b)) { return b; } return max(a, b); }
fn min_nan(a: f32, b: f32) -> f32 { if (is_nan_f32(a)) { return a; } if (is_nan_f32(b)) { return b; } return min(a, b); }`;
const eitherNan = (a: string, b: string, t: WgslScalar): string =>
  t === 'f32' ? `(is_nan_f32(${a}) || is_nan_f32(${b}))` : 'false';

// Round half to even, as WGSL round() does.
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// tanh(15) is 1 in float32; clamping avoids exp overflow (NaN) in some drivers' tanh.
const wgslTanh = (x: string): string => `tanh(clamp(${x}, -15.0, 15.0))`;

// --- the tables -------------------------------------------------------------------------------

export const unaryOps = {
  neg: { operands: 'numeric', result: 'same', wgsl: ([x]) => `-(${x})`, cpu: (x) => -x },
  abs: { operands: 'numeric', result: 'same', wgsl: ([x]) => `abs(${x})`, cpu: Math.abs },
  sign: { operands: 'numeric', result: 'same', wgsl: ([x]) => `sign(${x})`, cpu: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0) },
  square: {
    operands: 'numeric',
    result: 'same',
    wgsl: ([x]) => `(${x}) * (${x})`,
    cpu: (x) => x * x,
    cpuInt32: (x) => Math.imul(x, x),
  },
  relu: {
    operands: 'numeric',
    result: 'same',
    wgsl: ([x], t) => `max(${x}, ${t}(0))`,
    cpu: (x) => (x > 0 ? x : 0),
  },
  exp: { operands: 'float', result: 'same', wgsl: ([x]) => `exp(${x})`, cpu: Math.exp },
  log: { operands: 'float', result: 'same', wgsl: ([x]) => `log(${x})`, cpu: Math.log },
  sqrt: { operands: 'float', result: 'same', wgsl: ([x]) => `sqrt(${x})`, cpu: Math.sqrt },
  rsqrt: { operands: 'float', result: 'same', wgsl: ([x]) => `inverseSqrt(${x})`, cpu: (x) => 1 / Math.sqrt(x) },
  reciprocal: { operands: 'float', result: 'same', wgsl: ([x]) => `1.0 / (${x})`, cpu: (x) => 1 / x },
  sin: { operands: 'float', result: 'same', wgsl: ([x]) => `sin(${x})`, cpu: Math.sin },
  cos: { operands: 'float', result: 'same', wgsl: ([x]) => `cos(${x})`, cpu: Math.cos },
  tanh: { operands: 'float', result: 'same', wgsl: ([x]) => wgslTanh(x), cpu: Math.tanh },
  sigmoid: {
    operands: 'float',
    result: 'same',
    wgsl: ([x]) => `1.0 / (1.0 + exp(-(${x})))`,
    cpu: (x) => 1 / (1 + Math.exp(-x)),
  },
  silu: {
    operands: 'float',
    result: 'same',
    wgsl: ([x]) => `(${x}) / (1.0 + exp(-(${x})))`,
    cpu: (x) => x / (1 + Math.exp(-x)),
  },
  /** Exact (erf) GELU, as PyTorch's default, with a 1.5e-7-accurate erf. */
  gelu: {
    operands: 'float',
    result: 'same',
    wgsl: ([x]) => `0.5 * (${x}) * (1.0 + erf_approx((${x}) * ${Math.SQRT1_2}))`,
    wgslPrelude: wgslErf,
    cpu: (x) => 0.5 * x * (1 + erfApprox(x * Math.SQRT1_2)),
  },
  /** The error function, to 1.5e-7 (Abramowitz & Stegun 7.1.26, the same formula on both backends). */
  erf: { operands: 'float', result: 'same', wgsl: ([x]) => `erf_approx(${x})`, wgslPrelude: wgslErf, cpu: erfApprox },
  floor: { operands: 'float', result: 'same', wgsl: ([x]) => `floor(${x})`, cpu: Math.floor },
  ceil: { operands: 'float', result: 'same', wgsl: ([x]) => `ceil(${x})`, cpu: Math.ceil },
  round: { operands: 'float', result: 'same', wgsl: ([x]) => `round(${x})`, cpu: roundHalfEven },
  logicalNot: { operands: 'bool', result: 'bool', wgsl: ([x]) => `1u - (${x})`, cpu: (x) => b2n(!x) },
} satisfies Record<string, ElementwiseSpec<1>>;

export const binaryOps = {
  add: { operands: 'numeric', result: 'same', wgsl: ([a, b]) => `(${a}) + (${b})`, cpu: (a, b) => a + b },
  sub: { operands: 'numeric', result: 'same', wgsl: ([a, b]) => `(${a}) - (${b})`, cpu: (a, b) => a - b },
  mul: {
    operands: 'numeric',
    result: 'same',
    wgsl: ([a, b]) => `(${a}) * (${b})`,
    cpu: (a, b) => a * b,
    cpuInt32: Math.imul,
  },
  div: { operands: 'float', result: 'same', wgsl: ([a, b]) => `(${a}) / (${b})`, cpu: (a, b) => a / b },
  pow: {
    operands: 'float',
    result: 'same',
    wgsl: ([a, b]) => `pow_real(${a}, ${b})`,
    wgslPrelude: wgslPow,
    cpu: Math.pow,
  },
  maximum: {
    operands: 'numeric',
    result: 'same',
    wgsl: ([a, b], t) => (t === 'f32' ? `max_nan(${a}, ${b})` : `max(${a}, ${b})`),
    wgslPrelude: wgslNan,
    cpu: Math.max,
  },
  minimum: {
    operands: 'numeric',
    result: 'same',
    wgsl: ([a, b], t) => (t === 'f32' ? `min_nan(${a}, ${b})` : `min(${a}, ${b})`),
    wgslPrelude: wgslNan,
    cpu: Math.min,
  },
  equal: {
    operands: 'any',
    result: 'bool',
    wgsl: ([a, b], t) => asBool(`(${a}) == (${b}) && !${eitherNan(a, b, t)}`),
    wgslPrelude: wgslNan,
    cpu: (a, b) => b2n(a === b),
  },
  notEqual: {
    operands: 'any',
    result: 'bool',
    wgsl: ([a, b], t) => asBool(`(${a}) != (${b}) || ${eitherNan(a, b, t)}`),
    wgslPrelude: wgslNan,
    cpu: (a, b) => b2n(a !== b),
  },
  less: { operands: 'any', result: 'bool', wgsl: ([a, b]) => asBool(`(${a}) < (${b})`), cpu: (a, b) => b2n(a < b) },
  lessEqual: {
    operands: 'any',
    result: 'bool',
    wgsl: ([a, b]) => asBool(`(${a}) <= (${b})`),
    cpu: (a, b) => b2n(a <= b),
  },
  greater: { operands: 'any', result: 'bool', wgsl: ([a, b]) => asBool(`(${a}) > (${b})`), cpu: (a, b) => b2n(a > b) },
  greaterEqual: {
    operands: 'any',
    result: 'bool',
    wgsl: ([a, b]) => asBool(`(${a}) >= (${b})`),
    cpu: (a, b) => b2n(a >= b),
  },
  logicalAnd: { operands: 'bool', result: 'bool', wgsl: ([a, b]) => `(${a}) & (${b})`, cpu: (a, b) => b2n(!!a && !!b) },
  logicalOr: { operands: 'bool', result: 'bool', wgsl: ([a, b]) => `(${a}) | (${b})`, cpu: (a, b) => b2n(!!a || !!b) },
} satisfies Record<string, ElementwiseSpec<2>>;

export type UnaryOp = keyof typeof unaryOps;
export type BinaryOp = keyof typeof binaryOps;

/** Reductions over a set of axes. */
export type ReduceOp = 'sum' | 'prod' | 'max' | 'min';

export const reduceOps: Record<
  ReduceOp,
  { readonly identity: number; readonly cpu: (acc: number, x: number) => number }
> = {
  sum: { identity: 0, cpu: (a, x) => a + x },
  prod: { identity: 1, cpu: (a, x) => a * x },
  max: { identity: -Infinity, cpu: (a, x) => (x > a || Number.isNaN(x) ? x : a) },
  min: { identity: Infinity, cpu: (a, x) => (x < a || Number.isNaN(x) ? x : a) },
};
