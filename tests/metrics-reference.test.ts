// PSNR, SSIM and the wavelet term equal scikit-image / PyWavelets on committed fixtures
// (scripts/make-metric-fixtures.py), on the CPU in float64 and float32, and WebGPU agrees.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { grad, sum, tensor, type Tensor } from '../src/index.js';
import { psnr, ssim, waveletFidelity } from '../src/faces.js';
import { expectClose, runOnBoth, useBackends } from './support/backends.js';

interface FixtureCase {
  readonly shape: [number, number, number, number];
  readonly x: string;
  readonly y: string;
  readonly ssim: number[];
  readonly psnr: number[];
  readonly waveletFidelity: number[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/metrics/ssim.json', import.meta.url), 'utf8')) as {
  cases: FixtureCase[];
};
const decode = (b64: string): Float32Array => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};
const cases = fixture.cases.map((c) => ({ ...c, xs: decode(c.x), ys: decode(c.y) }));

useBackends();

type Metric = (x: Tensor, y: Tensor) => Tensor;
const metrics: [name: 'ssim' | 'psnr' | 'waveletFidelity', f: Metric, tol: number][] = [
  ['ssim', ssim, 1e-4],
  ['psnr', psnr, 1e-4],
  ['waveletFidelity', waveletFidelity, 1e-4],
];

async function onCpu(f: Metric, c: (typeof cases)[number], dtype: 'float32' | 'float64'): Promise<number[]> {
  const x = tensor(c.xs, { shape: c.shape, dtype, backend: 'cpu' });
  const y = tensor(c.ys, { shape: c.shape, dtype, backend: 'cpu' });
  const r = f(x, y);
  const out = Array.from(await r.data());
  for (const t of [x, y, r]) t.dispose();
  return out;
}

describe('metrics against scikit-image fixtures', () => {
  for (const [name, f, tol] of metrics) {
    for (const dtype of ['float64', 'float32'] as const) {
      it(`${name} equals the reference within ${tol} on the CPU in ${dtype}`, async () => {
        let worst = 0;
        for (const c of cases) {
          const ours = await onCpu(f, c, dtype);
          expect(ours).toHaveLength(c.shape[0]);
          ours.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - c[name][i]))));
        }
        expect(worst).toBeLessThan(dtype === 'float64' ? 1e-9 : tol);
      });
    }

    it(`${name} on WebGPU agrees with the CPU`, async () => {
      for (const c of cases) {
        const r = await runOnBoth(
          [
            { values: c.xs, shape: c.shape },
            { values: c.ys, shape: c.shape },
          ],
          f,
        );
        expectClose(r, { rtol: 1e-5, atol: 1e-5 });
        Array.from(r.gpu).forEach((v, i) => expect(Math.abs(v - c[name][i])).toBeLessThan(tol));
      }
    });
  }

  it('gradients of the metrics agree on WebGPU and the CPU', async () => {
    const c = cases[1];
    for (const [, f] of metrics) {
      const r = await runOnBoth(
        [
          { values: c.xs, shape: c.shape },
          { values: c.ys, shape: c.shape },
        ],
        (x, y) => grad((a: Tensor) => sum(f(a, y)))(x),
      );
      const scale = Math.max(...Array.from(r.cpu, Math.abs));
      expectClose(r, { rtol: 1e-3, atol: 1e-4 * scale });
    }
  });
});
