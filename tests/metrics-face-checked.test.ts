// The checked forms of the face metrics refuse NaNs and out-of-range pixels with the metric's name.
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import * as F from '../src/faces.js';

let recognition: F.FaceRecognitionParams;
let landmarks: F.FaceLandmarkParams;
beforeAll(async () => {
  recognition = await F.loadFaceRecognitionParams({ backend: 'cpu' });
  landmarks = await F.loadFaceLandmarkParams({ backend: 'cpu' });
});

const image = (values: (i: number) => number) =>
  T.tensor(
    Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => values(i)),
    { shape: [1, 3, 16, 16], backend: 'cpu' },
  );

describe('checked face metrics', () => {
  it('faceEmbeddingChecked refuses NaN pixels and pixels outside [0, 1], naming the metric', async () => {
    await expect(
      F.faceEmbeddingChecked(
        recognition,
        image((i) => (i === 5 ? NaN : 0.5)),
      ),
    ).rejects.toThrow(/faceEmbedding/);
    await expect(
      F.faceEmbeddingChecked(
        recognition,
        image(() => 255),
      ),
    ).rejects.toThrow(/faceEmbedding/);
    const ok = await F.faceEmbeddingChecked(
      recognition,
      image((i) => (i % 7) / 7),
    );
    expect(ok.shape).toEqual([1, 128]);
    ok.dispose();
  });

  it('landmarkDistanceChecked refuses a NaN or 0..255 batch, naming the metric', async () => {
    const good = image((i) => (i % 5) / 5);
    await expect(
      F.landmarkDistanceChecked(
        image(() => NaN),
        good,
        landmarks,
      ),
    ).rejects.toThrow(/landmarkDistance/);
    await expect(
      F.landmarkDistanceChecked(
        good,
        image(() => 200),
        landmarks,
      ),
    ).rejects.toThrow(/landmarkDistance/);
    const d = await F.landmarkDistanceChecked(good, good, landmarks);
    expect(Array.from(await d.data())).toEqual([0]);
    d.dispose();
  });
});
