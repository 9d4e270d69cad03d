// With no WebGPU adapter at all: setBackend('webgpu') fails with the fix in the message, and
// ready() falls back to the CPU with exactly one warning. Run in a child process with the Vulkan
// driver hidden, since this process holds a real adapter.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('without a WebGPU adapter', () => {
  it('setBackend fails with the fix, and ready() falls back to CPU with one warning', () => {
    const script = fileURLToPath(new URL('./fixtures/no-adapter.ts', import.meta.url));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
      encoding: 'utf8',
      env: { ...process.env, VK_DRIVER_FILES: '/nonexistent/icd.json', VK_ICD_FILENAMES: '/nonexistent/icd.json' },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(report.setBackendError).toMatch(/^BackendError: /);
    expect(report.setBackendError).toMatch(/no WebGPU adapter|No WebGPU adapter/i);
    expect(report.setBackendError).toMatch(/mesa-vulkan-drivers/);
    expect(report.setBackendError).toMatch(/setBackend\('cpu'\)/);
    expect(report.first).toBe('cpu');
    expect(report.second).toBe('cpu');
    expect(report.warnings).toHaveLength(1);
    expect(report.warnings[0]).toMatch(/falling back to the CPU backend/);
    expect(report.result).toEqual([2, 3]);
  });
});
