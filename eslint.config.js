// Lint: typescript-eslint's recommended rules, plus the architecture rule that roles
// import shared/ and never each other (only index.ts and cli/ compose them), and no cycles.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const role = (name, forbidden) => ({
  files: [`${name}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((other) => ({
          group: [`../${other}/*`, `../../${other}/*`, `**/${other}/*`],
          message: `${name}/ must not import ${other}/: roles import shared/ only; compose them in cli/ or index.ts`,
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
  role('shared', ['producer', 'worker', 'reducer', 'cli']),
  role('producer', ['worker', 'reducer', 'cli']),
  role('worker', ['producer', 'reducer', 'cli']),
  role('reducer', ['producer', 'worker', 'cli']),
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    // The dashboard's page runs in the browser, not in Node.
    files: ['cli/dashboard/public/**/*.mjs'],
    languageOptions: { globals: globals.browser },
  },
);
