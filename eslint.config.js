// ESLint (flat config), run by `npm run lint`: the recommended sets of ESLint, typescript-eslint (without type
// information, so a run stays quick on two cores), React Hooks and jsx-a11y, with the globals each kind of file
// really has: the browser for the app, the worker scope for the engine's worker, Node for tools, configs and tests.
import js from '@eslint/js';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Build output, local runs and the bench's scratch folder hold generated code; models/ and public/ hold data.
  {
    ignores: [
      'dist/',
      'coverage/',
      'test-results/',
      'bench/tmp/',
      'runs/',
      'models/',
      'public/',
      '.carry/',
      '.whl/',
      '.gl/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore marks a parameter kept for its position in a signature (callbacks, handlers).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // `let { app, grid } = ...` where only `grid` is reassigned is one declaration, not two.
      'prefer-const': ['error', { destructuring: 'all' }],
    },
  },
  {
    files: ['src/**/*.{ts,tsx}', 'bench/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/engine/worker.ts', 'bench/bench.worker.ts'],
    languageOptions: { globals: { ...globals.worker } },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    ...reactHooks.configs.flat.recommended,
  },
  {
    files: ['src/**/*.tsx'],
    ...jsxA11y.flatConfigs.recommended,
  },
  {
    files: ['scripts/**/*.{mjs,mts}', 'tests/**/*.ts', '*.config.{js,ts}', 'vite.*.ts', 'vitest.*.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Functions handed to page.evaluate() or page.waitForFunction() run in the page, where the browser's globals exist.
    files: ['scripts/node/bench/browser.mjs', 'scripts/node/screenshot.mjs'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // The e2e tests pass functions to page.evaluate(): they run in the page, where the browser's globals exist.
    files: ['tests/e2e/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
