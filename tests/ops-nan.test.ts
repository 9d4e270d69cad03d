// NaN behaves the same on WebGPU as on the CPU reference for the ops that must propagate or
// detect it, even on drivers that fold NaN comparisons away.
import { describe, it } from 'vitest';
import * as T from '../src/index.js';
import { expectClose, expectEqual, runOnBoth, useBackends } from './support/backends.js';

useBackends();

const a = { values: [NaN, 1, NaN, -2, 3], shape: [5] };
const b = { values: [1, NaN, NaN, -2, 4], shape: [5] };

describe('NaN on both backends', () => {
  it.each(['maximum', 'minimum'] as const)('%s propagates NaN from either operand', async (op) => {
    expectClose(await runOnBoth([a, b], (x, y) => T[op](x, y)));
  });

  it.each(['equal', 'notEqual', 'less', 'greaterEqual'] as const)('%s treats NaN as unordered', async (op) => {
    expectEqual(await runOnBoth([a, b], (x, y) => T[op](x, y)));
  });

  it('max and min reductions propagate NaN', async () => {
    expectClose(await runOnBoth([{ values: [1, NaN, 3, 4, 5, 6], shape: [2, 3] }], (x) => T.max(x, { axis: 1 })));
    expectClose(await runOnBoth([{ values: [1, NaN, 3, 4, 5, 6], shape: [2, 3] }], (x) => T.min(x, { axis: 1 })));
  });
});
