#!/usr/bin/python3
"""Writes tests/fixtures/metrics/brisque.json: OpenCV's own BRISQUE scores for small generated images.

Run with Debian's python (/usr/bin/python3) after `apt-get install -y python3-opencv opencv-data`;
pyenv pythons cannot see Debian's cv2. Needs cv2.quality (opencv_contrib, shipped by Debian).

Every image is generated here from a formula and a seeded RandomState (no downloads); the JSON
stores its pixels (RGB, HWC order, base64) next to the score, so the TypeScript test never needs
OpenCV. JPEG variants are made with cv2.imencode/imdecode (Debian's libjpeg), as 8-bit BGR.
OpenCV's BRISQUE expects BGR, converts to gray with cvtColor and scales by 1/255: we hand it the
BGR copy of each RGB image, exactly as a user would after cv2.imread.
"""
import base64
import json
import os

import cv2
import numpy as np

MODEL = '/usr/share/opencv4/quality/brisque_model_live.yml'
RANGE = '/usr/share/opencv4/quality/brisque_range_live.yml'
OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'metrics', 'brisque.json')


def scene(h, w, seed):
    """A textured RGB scene in [0, 1]: gradients, a disc, stripes and mild noise (no flat patches)."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    y /= h
    x /= w
    r = 0.3 + 0.4 * x + 0.1 * np.sin(9 * y + 2 * x)
    g = 0.25 + 0.35 * y + 0.15 * np.cos(7 * x * y + 1)
    b = 0.5 + 0.2 * np.sin(5 * (x - y))
    disc = ((x - 0.55) ** 2 + (y - 0.45) ** 2) < 0.06
    r = np.where(disc, 0.85 - 0.2 * y, r)
    g = np.where(disc, 0.6 + 0.1 * x, g)
    b = np.where(disc, 0.3, b)
    stripes = 0.08 * np.sign(np.sin(40 * x + 10 * y)) * (y > 0.7)
    img = np.stack([r + stripes, g + stripes, b - stripes], axis=-1)
    img += rng.normal(0, 0.02, img.shape)
    return np.clip(img, 0, 1)


def score(bgr):
    return float(cv2.quality.QualityBRISQUE_compute(bgr, MODEL, RANGE)[0])


def features(bgr):
    """OpenCV's 36 BRISQUE features (float32), kept to localize any disagreement."""
    return [float(v) for v in cv2.quality.QualityBRISQUE_computeFeatures(bgr).ravel()]


def jpeg(rgb8, quality):
    ok, buf = cv2.imencode('.jpg', cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def case(name, rgb8):
    return {
        'name': name,
        'height': int(rgb8.shape[0]),
        'width': int(rgb8.shape[1]),
        'dtype': 'uint8',
        'rgbHWC': base64.b64encode(np.ascontiguousarray(rgb8).tobytes()).decode('ascii'),
        'score': score(cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR)),
        'features': features(cv2.cvtColor(rgb8, cv2.COLOR_RGB2BGR)),
    }


def main():
    cases = []
    for (h, w, seed) in [(64, 64, 1), (80, 96, 2)]:
        rgb8 = np.round(scene(h, w, seed) * 255).astype(np.uint8)
        cases.append(case(f'scene{seed}-{h}x{w}', rgb8))
        for q in (90, 50, 20):
            cases.append(case(f'scene{seed}-{h}x{w}-jpeg{q}', jpeg(rgb8, q)))
    # Odd sizes: widths and half-size widths that are not multiples of 4, 8 or 16 exercise OpenCV's
    # scalar tails (resize's vertical pass, the filters), and a non-integer resize scale.
    for (h, w, seed) in [(37, 53, 4), (61, 29, 5)]:
        rgb8 = np.round(scene(h, w, seed) * 255).astype(np.uint8)
        cases.append(case(f'scene{seed}-{h}x{w}', rgb8))
        cases.append(case(f'scene{seed}-{h}x{w}-jpeg25', jpeg(rgb8, 25)))
    # Float input: OpenCV converts float BGR on the 0..255 scale to gray in float (no 8-bit rounding).
    rgbf = scene(64, 64, 3).astype(np.float32)
    cases.append({
        'name': 'scene3-64x64-float',
        'height': 64,
        'width': 64,
        'dtype': 'float32',
        'rgbHWC': base64.b64encode(np.ascontiguousarray(rgbf).tobytes()).decode('ascii'),
        'score': score(cv2.cvtColor(rgbf * 255, cv2.COLOR_RGB2BGR)),
        'features': features(cv2.cvtColor(rgbf * 255, cv2.COLOR_RGB2BGR)),
    })
    doc = {
        'source': f'OpenCV {cv2.__version__} cv2.quality.QualityBRISQUE_compute with Debian opencv-data '
                  'brisque_model_live.yml / brisque_range_live.yml; made by scripts/make-brisque-fixtures.py',
        'cases': cases,
    }
    with open(OUT, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    for c in cases:
        print(f"{c['name']:28s} {c['score']:.6f}")


if __name__ == '__main__':
    main()
