// Lint: typescript-eslint's recommended rules, plus the architecture: roles (producer/,
// worker/, reducer/) import shared/ and never each other; runtime/ composes them and never
// imports cli/; cli/ and index.ts sit on runtime/; no cycles.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const layer = (name, forbidden, why) => ({
  files: [`${name}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((other) => ({
          group: [`../${other}/*`, `../../${other}/*`, `**/${other}/*`],
          message: `${name}/ must not import ${other}/: ${why}`,
        })),
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'test-output/', 'bench/data/', 'bench/out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-cycle': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
  },
  layer('shared', ['producer', 'worker', 'reducer', 'runtime', 'cli'], 'shared/ is what the roles share and imports none of them'),
  layer('producer', ['worker', 'reducer', 'runtime', 'cli'], 'roles import shared/ only; runtime/ composes them'),
  layer('worker', ['producer', 'reducer', 'runtime', 'cli'], 'roles import shared/ only; runtime/ composes them'),
  layer('reducer', ['producer', 'worker', 'runtime', 'cli'], 'roles import shared/ only; runtime/ composes them'),
  layer('runtime', ['cli'], 'the command line sits on runtime/, never the other way'),
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // CommonJS on purpose: it loads the vendored bundle through vm.Script (scripts/load-packages.cjs).
    files: ['**/*.cjs'],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The dashboard's page runs in the browser, not in Node.
    files: ['cli/dashboard/public/**/*.mjs'],
    languageOptions: { globals: globals.browser },
  },
);
