// The package's entries: the engine entry reaches no application folder (so application code can
// import the engine through it without a cycle), each package.json export has its source entry,
// and internals stay out of every entry.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as engine from '../src/index.js';
import * as nn from '../src/nn.js';
import * as faces from '../src/faces.js';
import * as lrpo from '../src/lrpo.js';
import * as report from '../src/report.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const APPLICATION = /^src\/(models|data|metrics|lrpo|train|report|cli)\//;

/** Every source file `entry` reaches through relative imports and re-exports (type-only ones included). */
function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(/(?:import|export)\s[^'";]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g)) {
      const spec = (m[1] ?? m[2]).replace(/\.js$/, '.ts');
      visit(relative(root, resolve(dirname(join(root, file)), spec)));
    }
  };
  visit(entry);
  return seen;
}

describe('package entries', () => {
  it('the engine entry imports no application folder', () => {
    const files = [...reachable('src/index.ts')];
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => APPLICATION.test(f))).toEqual([]);
  });

  it('every package.json export points at a built entry whose source exists', () => {
    const exportsField = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports as Record<
      string,
      { types: string; import: string } | string
    >;
    const subpaths = Object.keys(exportsField).filter((k) => k !== './package.json');
    expect(subpaths).toEqual(['.', './nn', './faces', './lrpo', './report', './testing']);
    for (const k of subpaths) {
      const { types, import: js } = exportsField[k] as { types: string; import: string };
      expect(types, k).toBe(js.replace(/\.js$/, '.d.ts'));
      expect(existsSync(join(root, js.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'))), k).toBe(true);
    }
  });

  it('each layer is in its own entry, and internals are in none', () => {
    expect(typeof engine.grad).toBe('function');
    expect(typeof engine.loadSafetensors).toBe('function');
    expect(typeof nn.unetInit).toBe('function');
    expect(typeof faces.psnr).toBe('function');
    expect(typeof lrpo.trainLrpo).toBe('function');
    expect(typeof report.writeReport).toBe('function');
    expect('unetInit' in engine || 'psnr' in engine || 'trainLrpo' in engine || 'writeReport' in engine).toBe(false);
    const all = { ...engine, ...nn, ...faces, ...lrpo, ...report };
    for (const internal of [
      'takePairs',
      'keepState',
      'studentT975',
      'unetPlan',
      'rowLogProb',
      'repeatEach',
      'escapeXml',
    ])
      expect(internal in all, internal).toBe(false);
  });
});
