import { defineConfig } from 'vitest/config';

// Forks pool: each test file gets its own process, so one Dawn device per file, acquired in
// beforeAll and destroyed in afterAll (docs/architecture.md, "WebGPU: the device and its
// lifetime").
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['tests/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});
