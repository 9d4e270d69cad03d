// BRISQUE's quality regressor: scales the 36 features to [-1, 1] with the training ranges and
// evaluates OpenCV's RBF epsilon-SVR, rounding where cv::ml::SVM rounds (float32 kernel values),
// so scores match OpenCV's QualityBRISQUE to well under 1e-3.
import { BRISQUE_FEATURE_COUNT, type BrisqueModel } from './brisque-model.js';

const f32 = Math.fround;

/**
 * Maps features to [-1, 1] per dimension: -1 + 2 (v - min) / (max - min), in float32 as
 * quality_utils::scale does on a CV_32F row (libsvm's svm-scale with lower -1, upper 1).
 */
export function scaleBrisqueFeatures(features: Float32Array, model: BrisqueModel): Float32Array {
  if (features.length !== BRISQUE_FEATURE_COUNT) {
    throw new RangeError(`brisque: got ${features.length} features, expected ${BRISQUE_FEATURE_COUNT} (18 per scale at 2 scales).`);
  }
  return features.map((v, i) => {
    const lo = model.featureMin[i];
    const hi = model.featureMax[i];
    return f32(-1 + f32(f32(2 * f32(v - lo)) / f32(hi - lo)));
  });
}

/**
 * The SVR decision value sum_i alpha_i exp(-gamma |x - sv_i|^2) - rho for scaled features `x`,
 * clamped to [0, 100] like OpenCV (0 best, 100 worst). As in cv::ml::SVM's calc_rbf, differences
 * are float32, squared distances summed in double, and gamma * distance and its exp are float32.
 */
export function predictBrisqueScore(scaled: Float32Array, model: BrisqueModel): number {
  const d = BRISQUE_FEATURE_COUNT;
  const sv = model.supportVectors;
  let sum = -model.rho;
  for (let i = 0; i < model.svCount; i++) {
    let s = 0;
    const base = i * d;
    for (let k = 0; k < d; k++) {
      const t = f32(sv[base + k] - scaled[k]);
      s += t * t;
    }
    const kernel = f32(Math.exp(f32(-model.gamma * s)));
    sum += model.alpha[i] * kernel;
  }
  return Math.min(Math.max(f32(sum), 0), 100);
}
