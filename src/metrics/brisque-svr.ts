// BRISQUE's quality regressor: scales the 36 features to [-1, 1] with the training ranges and
// evaluates OpenCV's RBF epsilon-SVR, rounding where cv::ml::SVM rounds (float32 kernel values and
// OpenCV's own float32 exp), so equal features give OpenCV's score to the last float32 bit.
import { BRISQUE_FEATURE_COUNT, type BrisqueModel } from './brisque-model.js';

const f32 = Math.fround;

/**
 * Maps features to [-1, 1] per dimension: -1 + 2 (v - min) / (max - min), in float32 as
 * quality_utils::scale does on a CV_32F row (libsvm's svm-scale with lower -1, upper 1).
 */
export function scaleBrisqueFeatures(features: Float32Array, model: BrisqueModel): Float32Array {
  if (features.length !== BRISQUE_FEATURE_COUNT) {
    throw new RangeError(
      `brisque: got ${features.length} features, expected ${BRISQUE_FEATURE_COUNT} (18 per scale at 2 scales).`,
    );
  }
  return features.map((v, i) => {
    const lo = model.featureMin[i];
    const hi = model.featureMax[i];
    return f32(-1 + f32(f32(2 * f32(v - lo)) / f32(hi - lo)));
  });
}

/** Constants of OpenCV 4.6's float32 cv::exp (core mathfuncs_core exp32f): a 64-entry 2^(i/64) table and a quartic. */
const EXP_A0 = 0.9670371139572337719125840413672004409288e-2;
const EXP_TAB = Float32Array.from({ length: 64 }, (_, i) => 2 ** (i / 64) * EXP_A0);
const EXP_A4 = f32(1.000000000000002438532970795181890933776 / EXP_A0);
const EXP_A3 = f32(0.6931471805521448196800669615864773144641 / EXP_A0);
const EXP_A2 = f32(0.2402265109513301490103372422686535526573 / EXP_A0);
const EXP_A1 = f32(0.5550339366753125211915322047004666939128e-1 / EXP_A0);
const EXP_PRESCALE = f32(1.4426950408889634073599246810019 * 64);
const EXP_POSTSCALE = f32(1 / 64);
const EXP_MAX = f32((3000 * 64) / (1.4426950408889634073599246810019 * 64));
const expScale = new Float32Array(1);
const expScaleBits = new Uint32Array(expScale.buffer);

/**
 * cv::exp on a float32 value as OpenCV 4.6 computes it on an AVX2/FMA CPU (its SIMD path): not the
 * correctly rounded exp, and the SVR's score moves by up to ~2e-3 with that last bit. Checked bit
 * for bit against cv2.exp on 10^5 values in [-12, 0] (scratch emulation). FMAs are emulated as one
 * double operation then float32 rounding.
 */
export function cvExp32f(value: number): number {
  let x = f32(Math.min(Math.max(value, -EXP_MAX), EXP_MAX));
  x = f32(x * EXP_PRESCALE);
  const xi = roundHalfEven(x);
  const xf = f32(f32(x - xi) * EXP_POSTSCALE);
  expScaleBits[0] = Math.min(Math.max((xi >> 6) + 127, 0), 255) << 23;
  const y = f32(EXP_TAB[xi & 63] * expScale[0]);
  let z = f32(xf + EXP_A1);
  z = f32(z * xf + EXP_A2);
  z = f32(z * xf + EXP_A3);
  z = f32(z * xf + EXP_A4);
  return f32(z * y);
}

/** Round to nearest, ties to even (the SIMD float-to-int conversion). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The SVR decision value sum_i alpha_i exp(-gamma |x - sv_i|^2) - rho for scaled features `x`,
 * clamped to [0, 100] like OpenCV (0 best, 100 worst). As cv::ml::SVM's calc_rbf: float32
 * differences, squares summed in double two at a time, -gamma * distance rounded to float32, then
 * OpenCV's own float32 exp (cvExp32f); the weighted sum in double, minus rho, rounded to float32.
 */
export function predictBrisqueScore(scaled: Float32Array, model: BrisqueModel): number {
  const d = BRISQUE_FEATURE_COUNT;
  const sv = model.supportVectors;
  let sum = 0;
  for (let i = 0; i < model.svCount; i++) {
    let s = 0;
    const base = i * d;
    for (let k = 0; k < d; k += 2) {
      const t0 = f32(sv[base + k] - scaled[k]);
      const t1 = f32(sv[base + k + 1] - scaled[k + 1]);
      s += t0 * t0 + t1 * t1;
    }
    sum += model.alpha[i] * cvExp32f(f32(-model.gamma * s));
  }
  return Math.min(Math.max(f32(sum - model.rho), 0), 100);
}
