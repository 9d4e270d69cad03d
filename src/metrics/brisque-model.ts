// BRISQUE's trained model: finds and parses OpenCV's brisque_model_live.yml (a cv::ml::SVM, an
// epsilon-SVR with an RBF kernel trained on LIVE-R2) and brisque_range_live.yml (per-feature
// min/max used to scale the 36 features to [-1, 1]), as shipped by Debian's `opencv-data`.
//
// The parser reads only the keys this model format has (OpenCV FileStorage YAML 1.0, written by
// SVM::save): it is not a general YAML reader, and says which key it missed when a file differs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEnv, type EnvVar } from '../env.js';

/** Number of BRISQUE features: 18 per scale (Mittal et al. 2012, Table 1) at 2 scales. */
export const BRISQUE_FEATURE_COUNT = 36;

/** Environment variable naming a folder that holds both BRISQUE model files. */
export const BRISQUE_MODEL_DIR_ENV = 'WEBGPU_LRPO_BRISQUE_DIR' satisfies EnvVar;

/** Where Debian/Ubuntu (`opencv-data`) and a source install of OpenCV put the model files. */
export const BRISQUE_MODEL_DIRS: readonly string[] = [
  '/usr/share/opencv4/quality',
  '/usr/local/share/opencv4/quality',
  '/usr/share/opencv/quality',
];

export const BRISQUE_MODEL_FILE = 'brisque_model_live.yml';
export const BRISQUE_RANGE_FILE = 'brisque_range_live.yml';

/** A missing or unreadable BRISQUE model file. */
export class BrisqueModelError extends Error {
  override name = 'BrisqueModelError';
}

/** The RBF epsilon-SVR and feature ranges of OpenCV's BRISQUE, as float32 like cv::ml::SVM holds them. */
export interface BrisqueModel {
  /** RBF kernel exp(-gamma |x - sv|^2). */
  readonly gamma: number;
  /** Support vectors, row-major [svCount, 36]. */
  readonly supportVectors: Float32Array;
  readonly svCount: number;
  /** Dual coefficients, one per support vector (double in the file and in OpenCV). */
  readonly alpha: Float64Array;
  /** The decision function is sum(alpha_i K_i) - rho. */
  readonly rho: number;
  /** Per-feature minimum and maximum seen in training ([36] each). */
  readonly featureMin: Float32Array;
  readonly featureMax: Float32Array;
  /** The files it was read from. */
  readonly modelPath: string;
  readonly rangePath: string;
}

export interface BrisqueModelOptions {
  /** Folder holding both files; overrides $WEBGPU_LRPO_BRISQUE_DIR and the system folders. */
  readonly modelDir?: string;
  /** Full path of brisque_model_live.yml (overrides modelDir for this file). */
  readonly modelPath?: string;
  /** Full path of brisque_range_live.yml (overrides modelDir for this file). */
  readonly rangePath?: string;
}

/** Resolves the two file paths: explicit paths, then modelDir, then $WEBGPU_LRPO_BRISQUE_DIR, then BRISQUE_MODEL_DIRS. */
export function brisqueModelPaths(
  options: BrisqueModelOptions = {},
  env?: NodeJS.ProcessEnv,
): { modelPath: string; rangePath: string } {
  const explicitDir = options.modelDir ?? readEnv(BRISQUE_MODEL_DIR_ENV, env);
  const dirs = explicitDir !== undefined && explicitDir !== '' ? [explicitDir] : BRISQUE_MODEL_DIRS;
  const find = (file: string, given: string | undefined): string => {
    if (given !== undefined) {
      if (!existsSync(given)) throw missing(file, [given]);
      return given;
    }
    const hit = dirs.map((d) => join(d, file)).find((p) => existsSync(p));
    if (hit === undefined)
      throw missing(
        file,
        dirs.map((d) => join(d, file)),
      );
    return hit;
  };
  return {
    modelPath: find(BRISQUE_MODEL_FILE, options.modelPath),
    rangePath: find(BRISQUE_RANGE_FILE, options.rangePath),
  };
}

function missing(file: string, tried: readonly string[]): BrisqueModelError {
  return new BrisqueModelError(
    `brisque: OpenCV's BRISQUE model file ${file} was not found (looked at ${tried.join(', ')}). ` +
      `Install Debian's opencv-data package (sudo apt-get install -y opencv-data), or point ` +
      `${BRISQUE_MODEL_DIR_ENV} (or the modelDir / modelPath / rangePath options) at a folder holding ` +
      `${BRISQUE_MODEL_FILE} and ${BRISQUE_RANGE_FILE}.`,
  );
}

const cache = new Map<string, BrisqueModel>();

/** Loads (once per pair of paths) and parses OpenCV's BRISQUE model and range files. */
export function loadBrisqueModel(options: BrisqueModelOptions = {}): BrisqueModel {
  const { modelPath, rangePath } = brisqueModelPaths(options);
  const key = `${modelPath}\0${rangePath}`;
  let model = cache.get(key);
  if (model === undefined) {
    model = parseBrisqueModel(readText(modelPath), readText(rangePath), modelPath, rangePath);
    cache.set(key, model);
  }
  return model;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new BrisqueModelError(
      `brisque: cannot read ${path}: ${(e as Error).message}. Reinstall opencv-data (apt-get install --reinstall opencv-data).`,
    );
  }
}

/** Parses the texts of brisque_model_live.yml and brisque_range_live.yml (paths only name them in errors). */
export function parseBrisqueModel(
  modelText: string,
  rangeText: string,
  modelPath = BRISQUE_MODEL_FILE,
  rangePath = BRISQUE_RANGE_FILE,
): BrisqueModel {
  const bad = (path: string, what: string) =>
    new BrisqueModelError(
      `brisque: ${path} is not an OpenCV BRISQUE file: ${what}. Expected the files of Debian's opencv-data (/usr/share/opencv4/quality).`,
    );
  const scalar = (text: string, path: string, key: string): string => {
    const m = new RegExp(`^\\s*${key}:\\s*(\\S+)\\s*$`, 'm').exec(text);
    if (m === null) throw bad(path, `no "${key}:" entry`);
    return m[1];
  };
  const number = (text: string, path: string, key: string): number => {
    const v = Number(scalar(text, path, key));
    if (!Number.isFinite(v)) throw bad(path, `"${key}" is not a number`);
    return v;
  };
  // A flow sequence "[ a, b, ... ]" starting after `from`, possibly over many lines.
  const numbersIn = (text: string, from: number, path: string, what: string): { values: number[]; end: number } => {
    const open = text.indexOf('[', from);
    const close = open < 0 ? -1 : text.indexOf(']', open);
    if (open < 0 || close < 0) throw bad(path, `no [ ... ] list for ${what}`);
    const values = text
      .slice(open + 1, close)
      .split(',')
      .map((s) => Number(s.trim()));
    if (values.some((v) => !Number.isFinite(v))) throw bad(path, `a non-number in ${what}`);
    return { values, end: close + 1 };
  };

  if (!/^\s*opencv_ml_svm:/m.test(modelText)) throw bad(modelPath, 'no opencv_ml_svm: section');
  const svmType = scalar(modelText, modelPath, 'svmType');
  if (svmType !== 'EPS_SVR') throw bad(modelPath, `svmType is ${svmType}, BRISQUE's model is EPS_SVR`);
  const kernelType = scalar(modelText, modelPath, 'type');
  if (kernelType !== 'RBF') throw bad(modelPath, `kernel type is ${kernelType}, BRISQUE's model is RBF`);
  const gamma = number(modelText, modelPath, 'gamma');
  const varCount = number(modelText, modelPath, 'var_count');
  if (varCount !== BRISQUE_FEATURE_COUNT)
    throw bad(modelPath, `var_count is ${varCount}, expected ${BRISQUE_FEATURE_COUNT}`);
  const svCount = number(modelText, modelPath, 'sv_total');

  const svStart = modelText.indexOf('support_vectors:');
  const dfStart = modelText.indexOf('decision_functions:');
  if (svStart < 0 || dfStart < 0) throw bad(modelPath, 'no support_vectors: or decision_functions: section');
  const supportVectors = new Float32Array(svCount * varCount);
  let at = svStart;
  for (let i = 0; i < svCount; i++) {
    const { values, end } = numbersIn(modelText, at, modelPath, `support vector ${i}`);
    if (values.length !== varCount || end > dfStart)
      throw bad(modelPath, `support vector ${i} has ${values.length} values, expected ${varCount}`);
    supportVectors.set(values, i * varCount);
    at = end;
  }
  const df = modelText.slice(dfStart);
  if (/^\s*index:/m.test(df))
    throw bad(
      modelPath,
      'the decision function has an index list (a compressed multi-class model), which BRISQUE never has',
    );
  const dfSvCount = number(df, modelPath, 'sv_count');
  if (dfSvCount !== svCount) throw bad(modelPath, `sv_count ${dfSvCount} differs from sv_total ${svCount}`);
  const rho = number(df, modelPath, 'rho');
  const alphaAt = df.search(/^\s*alpha:/m);
  if (alphaAt < 0) throw bad(modelPath, 'no alpha: list');
  const alpha = Float64Array.from(numbersIn(df, alphaAt, modelPath, 'alpha').values);
  if (alpha.length !== svCount) throw bad(modelPath, `alpha has ${alpha.length} values, expected ${svCount}`);

  if (!/^\s*range:\s*!!opencv-matrix/m.test(rangeText)) throw bad(rangePath, 'no range: !!opencv-matrix');
  const rows = number(rangeText, rangePath, 'rows');
  const cols = number(rangeText, rangePath, 'cols');
  if (rows !== 2 || cols !== BRISQUE_FEATURE_COUNT)
    throw bad(rangePath, `range is ${rows}x${cols}, expected 2x${BRISQUE_FEATURE_COUNT}`);
  const data = numbersIn(rangeText, rangeText.search(/^\s*data:/m), rangePath, 'range data').values;
  if (data.length !== 2 * cols) throw bad(rangePath, `range data has ${data.length} values, expected ${2 * cols}`);

  return {
    gamma,
    supportVectors,
    svCount,
    alpha,
    rho,
    featureMin: Float32Array.from(data.slice(0, cols)),
    featureMax: Float32Array.from(data.slice(cols)),
    modelPath,
    rangePath,
  };
}
