// Acceptance, continued from grad-ops.test.ts: the gradients of softmax and the normalisations
// (support/grad-norm-cases.ts) agree with central finite differences (checkGrad, CPU float64).
import { beforeAll, describe, it } from 'vitest';
import * as T from '../src/index.js';
import { normCases } from './support/grad-norm-cases.js';
import { gradProperty } from './support/grad-problems.js';

beforeAll(async () => {
  await T.setBackend('cpu');
});

describe('softmax and normalisation', () => {
  for (const [name, problems] of Object.entries(normCases)) {
    it(`the gradient of ${name} matches finite differences`, gradProperty(problems, 40));
  }
});
