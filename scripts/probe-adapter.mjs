// Asks Dawn for a WebGPU adapter and prints what it found as one JSON line.
// Used by scripts/setup.mjs in a child process, so a crashing driver cannot take the caller down.
import { create } from 'webgpu';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
// Kept referenced until exit: see docs/architecture.md, "WebGPU: the device and its lifetime".
const gpu = create([]);
try {
  const adapter = await gpu.requestAdapter();
  if (!adapter) {
    console.log(JSON.stringify({ ok: false, reason: 'requestAdapter() returned null' }));
  } else {
    const info = adapter.info ?? {};
    console.log(
      JSON.stringify({ ok: true, vendor: info.vendor, architecture: info.architecture, description: info.description }),
    );
  }
} catch (e) {
  console.log(JSON.stringify({ ok: false, reason: String(e?.message ?? e) }));
}
globalThis.__keepGpu = gpu;
process.exit(0);
