import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import capabilityDoors from './eslint-rules/capability-doors.js';

// Where code may run is enforced here: src/ is plain Node (no electron, no DOM), renderer/ is
// browser-only (no node:*, no electron, only *types* from src/), and only electron/ touches IPC.
const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'child_process',
  'os',
  'net',
  'http',
  'crypto',
  'worker_threads',
];

export default tseslint.config(
  {
    // .stryker-tmp holds the mutation runs' copies of the whole tree (npm run mutate).
    ignores: [
      'node_modules/**',
      'out/**',
      'release/**',
      'dist/**',
      'test-results/**',
      'test/fixtures/**',
      '.stryker-tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'src/ is the core: it never imports electron (use Platform).' },
          ],
          patterns: [
            { group: ['react', 'react-dom', 'react/*', 'zustand'], message: 'src/ never imports UI code.' },
            {
              group: ['**/renderer/**', '**/electron/**'],
              message: 'src/ never imports from renderer/ or electron/.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'localStorage', 'navigator'],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    ignores: ['renderer/vite.config.ts'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'The renderer talks to the core only through window.patchdeck.' },
          ],
          patterns: [
            { group: nodeBuiltins, message: 'The renderer never imports Node built-ins.' },
            {
              group: ['**/src/**'],
              allowTypeImports: true,
              message: 'The renderer may import only types from src/ (use `import type`).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='ipcRenderer'], MemberExpression[object.name='ipcMain']",
          message: 'Only electron/ touches IPC.',
        },
        {
          selector: "MemberExpression[property.name='send'][object.property.name='webContents']",
          message: 'Only electron/ sends IPC.',
        },
      ],
    },
  },
  {
    // No import circles: a module that needs a piece of its importer means a piece is in the
    // wrong place (move it, or hand it in as a small interface). Type-only imports are no cycle.
    files: ['src/**/*.ts', 'electron/**/*.ts', 'renderer/**/*.{ts,tsx}'],
    plugins: { 'import-x': importX },
    settings: {
      // The plugin's TypeScript settings (which files it parses, with which parser), and the
      // TypeScript resolver in place of the plugin's own.
      ...Object.fromEntries(
        Object.entries(importX.flatConfigs.typescript.settings).filter(
          ([key]) => key !== 'import-x/resolver',
        ),
      ),
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['tsconfig.node.json', 'tsconfig.web.json', 'tsconfig.e2e.json'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    // One door per capability: code outside src/<name>/ imports it only through src/<name>/index.ts
    // (tests and testing/ folders may reach inside). eslint-rules/capability-doors.js says how.
    files: ['src/**/*.ts', 'electron/**/*.ts'],
    plugins: { patchdeck: capabilityDoors },
    rules: { 'patchdeck/capability-doors': 'error' },
  },
  {
    files: ['scripts/**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
