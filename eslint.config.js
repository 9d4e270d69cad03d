// ESLint 9 flat config (`npm run lint`): correctness rules only; layout is Prettier's job.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'docs/api/',
      'bench/results/',
      'node_modules/',
      'checkpoints/',
      'runs/',
      'scratch/',
      'tests/.readme-examples/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { console: 'readonly', process: 'readonly' },
    },
    plugins: { 'import-x': importX },
    settings: {
      // no-cycle follows imports by parsing each imported .ts file itself: it needs the TS parser and extensions.
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // Cycles through our own modules only: node_modules packages are not walked (that is most of the time).
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests reach into trees and malformed inputs on purpose.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // OpenCV's cv::exp constants, copied digit for digit from its source (more digits than a double holds).
    files: ['src/metrics/brisque-svr.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },
);
