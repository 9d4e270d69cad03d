#!/usr/bin/env node
// `npm run docs`: the API reference in docs/api/ (TypeDoc, not committed), one module per entry
// point of package.json "exports", so it follows whatever subpaths the package exports. Each
// export's built file (./dist/x/index.js) is documented from its source (src/x/index.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** The built JS file of one "exports" entry: a string, or the import/default condition. */
const builtFile = (target) => (typeof target === 'string' ? target : (target.import ?? target.default));

const exportsMap = typeof pkg.exports === 'string' ? { '.': pkg.exports } : pkg.exports;
// Entries that are not modules (./package.json) have nothing to document.
const moduleExports = Object.entries(exportsMap).filter(([subpath]) => !subpath.endsWith('.json'));
const entryPoints = moduleExports.map(([subpath, target]) => {
  const built = builtFile(target);
  const source = typeof built === 'string' ? built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts') : undefined;
  if (!source || !existsSync(join(root, source))) {
    process.stderr.write(
      `docs: package.json exports "${subpath}" -> ${JSON.stringify(target)} has no source file under src/ (looked for ${source}).\n`,
    );
    process.exit(1);
  }
  return source;
});

const typedoc = join(root, 'node_modules', '.bin', 'typedoc');
// The other options are in typedoc.json (with the internal types the API mentions but does not export).
const args = [...entryPoints.flatMap((e) => ['--entryPoints', e]), '--name', pkg.name, ...process.argv.slice(2)];
const r = spawnSync(typedoc, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
