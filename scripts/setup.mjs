#!/usr/bin/env node
// One-shot, idempotent set-up run before `npm test` and `npm start`: installs npm packages
// when they are missing or stale, a software Vulkan driver (Mesa 25 lavapipe from Debian
// bookworm-backports) when Dawn finds no adapter, data files from Debian packages (BRISQUE's
// model in opencv-data), and the real-face evaluation set. Silent when everything is in place.
// Plain Node with no dependencies, because it runs before node_modules exists.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const say = (msg) => process.stderr.write(`[setup] ${msg}\n`);
const fail = (msg) => {
  process.stderr.write(`\n[setup] ${msg}\n\n`);
  process.exit(1);
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts });
  if (r.status !== 0) {
    fail(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-3000)}`);
  }
  return r.stdout;
}

// --- 1. npm packages --------------------------------------------------------------------------
function npmPackagesStale() {
  const installed = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed)) return true;
  const lock = join(root, 'package-lock.json');
  const manifest = join(root, 'package.json');
  const newest = Math.max(statSync(manifest).mtimeMs, existsSync(lock) ? statSync(lock).mtimeMs : 0);
  return statSync(installed).mtimeMs < newest;
}

if (npmPackagesStale()) {
  const useCi = existsSync(join(root, 'package-lock.json'));
  say(`installing npm packages (npm ${useCi ? 'ci' : 'install'}) ...`);
  run('npm', [useCi ? 'ci' : 'install', '--no-audit', '--no-fund', '--loglevel=error']);
}

// --- 2. a Vulkan adapter for Dawn -------------------------------------------------------------
function probeAdapter() {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'probe-adapter.mjs')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    timeout: 60_000,
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return {
      ok: false,
      reason: `probe crashed (exit ${r.status}, signal ${r.signal}): ${(r.stderr ?? '').slice(-500)}`,
    };
  }
}

const SKIP = process.env.WEBGPU_LRPO_SKIP_VULKAN_SETUP === '1';
let probe = probeAdapter();
if (!probe.ok && !SKIP) {
  installLavapipe(probe.reason);
  probe = probeAdapter();
  if (!probe.ok) {
    fail(
      `Dawn still finds no WebGPU adapter after installing Mesa lavapipe: ${probe.reason}\n` +
        `Check \`vulkaninfo --summary\` (package vulkan-tools) and that /usr/share/vulkan/icd.d/lvp_icd.x86_64.json exists.`,
    );
  }
  say(`WebGPU adapter ready: ${probe.description ?? probe.vendor ?? 'unknown'}`);
}

// --- 3. data files from Debian packages ---------------------------------------------------------
// BRISQUE's trained model ships in Debian's opencv-data (src/metrics/brisque-model.ts).
const DEBIAN_DATA = [
  { pkg: 'opencv-data', file: '/usr/share/opencv4/quality/brisque_model_live.yml', for: 'the BRISQUE metric' },
];
const missingData = DEBIAN_DATA.filter((d) => !existsSync(d.file));
if (missingData.length > 0) {
  const pkgs = missingData.map((d) => d.pkg);
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/^ID=debian/m.test(osRelease) || process.getuid?.() !== 0) {
    fail(
      `Missing ${missingData.map((d) => `${d.file} (package ${d.pkg}, for ${d.for})`).join(', ')}. ` +
        `Install it as root on Debian: \`apt-get install -y ${pkgs.join(' ')}\`, ` +
        `or point WEBGPU_LRPO_BRISQUE_DIR at a folder holding the two brisque_*_live.yml files.`,
    );
  }
  say(`installing ${pkgs.join(', ')} ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--reinstall', '--no-install-recommends', ...pkgs], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
  if (install().status !== 0) {
    run('apt-get', ['update', '-qq'], { env });
    run('apt-get', ['install', '-y', '-qq', '--reinstall', '--no-install-recommends', ...pkgs], { env });
  }
}

// --- 4. the real-face evaluation set (src/data/real-faces.ts) --------------------------------------
// Cut once from the photos face-api ships, with face-api's own detector (no network); ~45 s.
const realFacesIndex = join(
  process.env.WEBGPU_LRPO_REAL_FACES_DIR ?? join(root, 'node_modules', '.cache', 'webgpu-lrpo', 'real-faces'),
  'index.json',
);
if (!existsSync(realFacesIndex)) {
  say("building the real-face evaluation set from face-api's demo photos (about a minute) ...");
  run(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'make-real-faces.ts')]);
}

function installLavapipe(reason) {
  const fix =
    'Install a Vulkan driver by hand: on Debian 12 add bookworm-backports to apt sources, then ' +
    "`apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1` (Mesa 25; bookworm's own Mesa 22 is rejected by Dawn). " +
    'Or set WEBGPU_LRPO_SKIP_VULKAN_SETUP=1 to skip this step (the GPU tests will then fail loudly).';
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/VERSION_CODENAME=bookworm/.test(osRelease)) {
    fail(`No WebGPU adapter (${reason}), and this is not Debian bookworm, so set-up cannot install one.\n${fix}`);
  }
  if (process.getuid?.() !== 0) {
    fail(`No WebGPU adapter (${reason}). Installing Mesa lavapipe needs root; re-run as root (or with sudo).\n${fix}`);
  }
  say(`no WebGPU adapter (${reason}); installing Mesa 25 lavapipe from bookworm-backports ...`);
  addBackportsSource();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run(
    'apt-get',
    [
      'install',
      '-y',
      '-qq',
      '--no-install-recommends',
      '-t',
      'bookworm-backports',
      'mesa-vulkan-drivers',
      'libvulkan1',
    ],
    { env },
  );
}

// Adds bookworm-backports with the same mirror the machine already uses for bookworm, so we
// never hard-code a host.
function addBackportsSource() {
  const target = '/etc/apt/sources.list.d/bookworm-backports.sources';
  if (existsSync(target)) return;
  const mirror = findBookwormMirror();
  if (!mirror)
    fail('Could not find the bookworm mirror in /etc/apt/sources.list{,.d}; add bookworm-backports by hand.');
  writeFileSync(
    target,
    `Types: deb\nURIs: ${mirror}\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
}

function findBookwormMirror() {
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(deb822)) {
    for (const stanza of readFileSync(deb822, 'utf8').split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1] ?? '';
      if (uri && suites.split(/\s+/).includes('bookworm')) return uri;
    }
  }
  const legacy = '/etc/apt/sources.list';
  if (existsSync(legacy)) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(readFileSync(legacy, 'utf8'));
    if (m) return m[1];
  }
  return null;
}
