// face-api's own networks on TensorFlow.js (XNNPACK through tfjs-backend-wasm, and tfjs-webgpu on
// the same Dawn adapter as ours): the peers of the face-network rows, built from face-api's
// TypeScript sources and weights (src/io/face-api-reference.ts), fed face-api's input convention.
import { basename } from 'node:path';
import {
  decodeFaceApiWeights,
  loadFaceApiModules,
  type FaceApiBackend,
  type Tfjs,
} from '../../src/io/face-api-reference.js';
import { faceLandmarkManifestPath } from '../../src/metrics/face-landmarks/face-landmark-net.js';
import { faceRecognitionManifestPath } from '../../src/metrics/face-embedding/face-recognition-net.js';
import { installNavigatorGpu } from '../engines/tfjs.js';

export type FaceNetName = 'recognition' | 'landmarks';

const NETS: Record<FaceNetName, { readonly cls: string; readonly path: string; readonly manifest: () => string }> = {
  recognition: {
    cls: 'FaceRecognitionNet',
    path: 'faceRecognitionNet/FaceRecognitionNet.ts',
    manifest: faceRecognitionManifestPath,
  },
  landmarks: {
    cls: 'FaceLandmark68Net',
    path: 'faceLandmarkNet/FaceLandmark68Net.ts',
    manifest: faceLandmarkManifestPath,
  },
};

export interface FacePeer {
  /** face-api's outputs for a batch of [3, h, w] images in [0, 1]: descriptors, or landmark positions (x0, y0, x1, ...). */
  run(images: readonly Float32Array[], h: number, w: number): Promise<Float32Array[]>;
}

/** face-api's `net` on tfjs's `backend`. */
export async function loadFacePeer(net: FaceNetName, backend: FaceApiBackend): Promise<FacePeer> {
  if (backend === 'webgpu') installNavigatorGpu();
  const spec = NETS[net];
  const { tf, modules } = await loadFaceApiModules({ [spec.cls]: spec.path }, (m) => new Error(m), backend);
  const model = new modules[spec.cls]() as {
    loadFromWeightMap(map: unknown): void;
    forward(input: unknown): Promise<{ data(): Promise<Float32Array>; dispose(): void }>;
  };
  model.loadFromWeightMap(decodeFaceApiWeights(tf, basename(spec.manifest())));
  return {
    // forward() and an async read: face-api's computeFaceDescriptor/detectLandmarks read back
    // synchronously, which tfjs-webgpu cannot do in Node (it needs an OffscreenCanvas).
    async run(images, h, w) {
      const inputs = toHwc255(tf, images, h, w);
      try {
        const out = await model.forward(inputs);
        const flat = await out.data();
        out.dispose();
        const per = flat.length / images.length;
        // Landmarks come relative to the (square) input: pixels are relative * side.
        const scale = net === 'landmarks' ? Math.max(h, w) : 1;
        return images.map((_, i) => Float32Array.from(flat.subarray(i * per, (i + 1) * per), (v) => v * scale));
      } finally {
        inputs.forEach((t) => t.dispose());
      }
    },
  };
}

/** face-api's input convention: HWC tensors scaled to 0..255. */
function toHwc255(tf: Tfjs, images: readonly Float32Array[], h: number, w: number) {
  return images.map((data) => {
    const hwc = new Float32Array(h * w * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) hwc[i * 3 + c] = data[c * h * w + i] * 255;
    return tf.tensor3d(hwc, [h, w, 3]);
  });
}
