// Rewrites application imports (src/models, data, metrics, lrpo, train, report, cli) of engine
// names from deep engine paths to the engine entry src/index.ts, where index.ts exports that very
// symbol; names it does not export stay where they are. Mechanical and idempotent: run
// `node scripts/engine-imports.mjs` after rebasing a branch that added deep imports.
import ts from 'typescript';
import { writeFileSync } from 'node:fs';
import { relative, dirname, resolve } from 'node:path';
import { execSync } from 'node:child_process';
const root = process.cwd();
const APP = ['models', 'data', 'metrics', 'lrpo', 'train', 'report', 'cli'];
const ENGINE = /^src\/(tensor|kernels|random|autograd|optim|profile)\/|^src\/io\/safetensors(-\w+)?\.ts$/;
const files = execSync(`git ls-files ${APP.map((a) => `'src/${a}/*.ts'`).join(' ')}`)
  .toString()
  .trim()
  .split('\n');
const program = ts.createProgram([...files, 'src/index.ts'], {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  types: ['node'],
  strict: true,
});
const checker = program.getTypeChecker();
const indexSf = program.getSourceFile(resolve(root, 'src/index.ts'));
const indexSyms = new Map();
for (const e of checker.getExportsOfModule(checker.getSymbolAtLocation(indexSf))) {
  const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
  indexSyms.set(e.name, s);
}
let changed = 0;
for (const f of files) {
  const sf = program.getSourceFile(resolve(root, f));
  const text = sf.text;
  const edits = []; // [start, end, replacement]
  const moved = { value: [], type: [] };
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !st.importClause) continue;
    const spec = st.moduleSpecifier.text;
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(resolve(root, f)), spec.replace(/\.js$/, '.ts')));
    if (!ENGINE.test(target)) continue;
    const clause = st.importClause;
    if (clause.name || !clause.namedBindings || !ts.isNamedImports(clause.namedBindings)) continue;
    const keep = [];
    for (const el of clause.namedBindings.elements) {
      const name = (el.propertyName ?? el.name).text;
      let sym = checker.getSymbolAtLocation(el.name);
      if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym);
      const pub = indexSyms.get(name);
      if (pub && pub === sym) {
        const txt = el.getText(sf).replace(/^type\s+/, '');
        (clause.isTypeOnly || el.isTypeOnly ? moved.type : moved.value).push(txt);
      } else keep.push(el.getText(sf));
    }
    if (keep.length === clause.namedBindings.elements.length) continue;
    const start = st.getStart(sf);
    let end = st.getEnd();
    if (keep.length === 0) {
      if (text[end] === '\n') end++;
      edits.push([start, end, '']);
    } else edits.push([start, end, `import ${clause.isTypeOnly ? 'type ' : ''}{ ${keep.join(', ')} } from '${spec}';`]);
  }
  if (!edits.length) continue;
  let rel = relative(dirname(f), 'src/index.js');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const uniq = (a) => [...new Set(a)];
  const lines = [];
  if (moved.value.length) lines.push(`import { ${uniq(moved.value).join(', ')} } from '${rel}';\n`);
  if (moved.type.length) lines.push(`import type { ${uniq(moved.type).join(', ')} } from '${rel}';\n`);
  let out = text;
  const firstStart = Math.min(...edits.map((e) => e[0]));
  for (const [s, e, r] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, s) + r + out.slice(e);
  out = out.slice(0, firstStart) + lines.join('') + out.slice(firstStart);
  writeFileSync(f, out);
  changed++;
}
console.log('rewrote', changed, 'files');
