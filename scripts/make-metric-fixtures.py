#!/usr/bin/python3
"""Reference values for the image metrics (src/metrics), made once with Debian's scikit-image.

Writes tests/fixtures/metrics/ssim.json: small deterministic NCHW image pairs (3 channels,
16x16 and 23x29, noise and blur), rounded to float32, with scikit-image's SSIM and PSNR per
image and PyWavelets' level-3 Haar low-pass L1 (the wavelet fidelity term).

Needs: apt-get install -y python3-skimage (scikit-image 0.19, scipy, PyWavelets).
Run with Debian's Python: /usr/bin/python3 scripts/make-metric-fixtures.py
"""
import base64
import json
import os

import numpy as np
import pywt
import scipy.ndimage as ndi
import skimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

OUT = os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'metrics', 'ssim.json')


def base_image(rng, c, h, w):
    """A smooth procedural image (gradients, a disc, sinusoids) plus a little texture, in [0, 1]."""
    yy, xx = np.meshgrid(np.linspace(0, 1, h), np.linspace(0, 1, w), indexing='ij')
    chans = []
    for k in range(c):
        disc = ((yy - 0.5 - 0.1 * k) ** 2 + (xx - 0.45) ** 2 < 0.08).astype(float)
        v = 0.3 + 0.25 * xx * (k + 1) / c + 0.2 * np.sin(6 * yy + k) * np.cos(4 * xx) + 0.25 * disc
        v += 0.05 * rng.standard_normal((h, w))
        chans.append(v)
    return np.clip(np.stack(chans), 0, 1)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def pair(rng, c, h, w, noise, blur):
    x = f32(base_image(rng, c, h, w))
    y = x
    if blur > 0:
        y = np.stack([ndi.gaussian_filter(ch, blur, mode='reflect') for ch in y])
    if noise > 0:
        y = y + noise * rng.standard_normal(y.shape)
    return x, f32(np.clip(y, 0, 1))


def b64_float32(a):
    """Row-major little-endian float32 bytes, base64: exact and a third the size of decimal text."""
    return base64.b64encode(np.ascontiguousarray(a, dtype='<f4').tobytes()).decode('ascii')


def wavelet_l1(x, y, levels=3):
    """Mean |LL_x - LL_y| of PyWavelets' level-3 orthonormal Haar low-pass bands (mode 'symmetric')."""
    lx = np.stack([pywt.wavedec2(ch, 'haar', mode='symmetric', level=levels)[0] for ch in x])
    ly = np.stack([pywt.wavedec2(ch, 'haar', mode='symmetric', level=levels)[0] for ch in y])
    return float(np.mean(np.abs(lx - ly)))


def main():
    rng = np.random.RandomState(20240607)
    cases = []
    for (h, w) in [(16, 16), (23, 29)]:
        xs, ys = [], []
        for noise, blur in [(0.02, 0.0), (0.08, 0.0), (0.0, 1.0), (0.03, 0.7)]:
            x, y = pair(rng, 3, h, w, noise, blur)
            xs.append(x)
            ys.append(y)
        ssims = [float(structural_similarity(x, y, channel_axis=0, gaussian_weights=True, sigma=1.5,
                                             use_sample_covariance=False, data_range=1)) for x, y in zip(xs, ys)]
        psnrs = [float(peak_signal_noise_ratio(x, y, data_range=1)) for x, y in zip(xs, ys)]
        l1s = [wavelet_l1(x, y) for x, y in zip(xs, ys)]
        cases.append({
            'shape': [len(xs), 3, h, w],
            'x': b64_float32(np.stack(xs)),
            'y': b64_float32(np.stack(ys)),
            'ssim': ssims,
            'psnr': psnrs,
            'waveletL1': l1s,
            'waveletFidelity': [float(np.exp(-15 * v)) for v in l1s],
        })
    doc = {
        'generator': 'scripts/make-metric-fixtures.py',
        'skimage': skimage.__version__,
        'pywt': pywt.__version__,
        'call': 'structural_similarity(x, y, channel_axis=0, gaussian_weights=True, sigma=1.5, '
                'use_sample_covariance=False, data_range=1); peak_signal_noise_ratio(x, y, data_range=1)',
        'layout': 'x and y: base64 of row-major NCHW little-endian float32; one SSIM/PSNR/wavelet value per image',
        'cases': cases,
    }
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
    print(f'wrote {OUT}: {os.path.getsize(OUT)} bytes')


if __name__ == '__main__':
    main()
